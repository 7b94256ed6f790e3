"""The exception tree. Every error ganger raises on purpose derives from GangerError."""

from __future__ import annotations


class GangerError(Exception):
    """Root of ganger's exceptions."""


class ConfigError(GangerError):
    """A config document is missing, malformed or fails validation."""

    def __init__(self, document: str, field: str, problem: str) -> None:
        self.document = document
        self.field = field
        self.problem = problem
        where = f"field `{field}`" if field else "the document"
        super().__init__(f"config document `{document}`: {where}: {problem}")


class InvalidInput(GangerError):
    """An event, job or report is malformed. ``field`` names what is wrong."""

    kind = "input"

    def __init__(self, field: str, problem: str) -> None:
        self.field = field
        self.problem = problem
        super().__init__(f"invalid {self.kind}: `{field}`: {problem}")


class InvalidJob(InvalidInput):
    """A business job the Scheduler cannot turn into tasks."""

    kind = "job"


class InvalidEvent(InvalidInput):
    """An event the receiving Lambda cannot act on (for example a malformed worker report)."""

    kind = "event"


class UnknownLabourer(GangerError):
    """A job or task names a labourer that no config defines."""

    def __init__(self, labourer_id: str, known: list[str]) -> None:
        self.labourer_id = labourer_id
        self.known = known
        super().__init__(f"unknown labourer `{labourer_id}`; configured labourers: {', '.join(known) or 'none'}")


class TaskNotOwned(GangerError):
    """A report or release came from an attempt that no longer owns the task."""

    def __init__(self, task_id: str, reason: str) -> None:
        self.task_id = task_id
        self.reason = reason
        super().__init__(f"task `{task_id}` is not owned by the reporting attempt: {reason}")


class DispatchError(GangerError):
    """A claimed task could not be handed to its labourer.

    ``ambiguous`` means the request may have been accepted (its response was lost): the task must stay
    invoked, to report or expire, never be released, or the same attempt could run twice at once."""

    def __init__(self, task_id: str, labourer_id: str, cause: str, ambiguous: bool = False) -> None:
        self.task_id = task_id
        self.labourer_id = labourer_id
        self.cause = cause
        self.ambiguous = ambiguous
        outcome = "has an unknown outcome" if ambiguous else "failed"
        super().__init__(f"dispatch of task `{task_id}` to `{labourer_id}` {outcome}: {cause}")


class TransientAwsError(GangerError):
    """An AWS call failed in a way worth retrying later (throttling, timeouts)."""

    def __init__(self, operation: str, problem: str) -> None:
        self.operation = operation
        self.problem = problem
        super().__init__(f"{operation}: {problem}")
