"""ganger: a task-orchestration framework for AWS Lambda in the style of sosw."""

__version__ = "0.1.0"
