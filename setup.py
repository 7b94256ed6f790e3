from pathlib import Path

from setuptools import find_packages, setup

setup(
    name="ganger",
    version="0.1.0",
    description="Task orchestration for AWS Lambda in the style of sosw, with a local mode on an embedded AWS",
    long_description=Path(__file__).with_name("README.md").read_text(encoding="utf-8"),
    long_description_content_type="text/markdown",
    python_requires=">=3.11",
    packages=find_packages(include=["ganger", "ganger.*", "essentials", "processors", "examples", "benchmarks"]),
    package_data={"": ["*.json"]},
    # What the functions and the fleet's workers import. Function packages are built from
    # requirements/lambda.lock instead (`ganger deploy`), one lean package per function.
    install_requires=[
        "boto3>=1.35",
        "aws-lambda-powertools>=3.0,<4",
        "python-telegram-bot>=21,<23",
        # Processors: video downloads and object detection (OpenCV 5 dropped HOGDescriptor).
        "yt-dlp>=2024.1",
        "opencv-python-headless>=4.8,<5",
        "numpy>=1.26",
        "tzdata",
        "pyyaml>=6",  # `ganger deploy` reads the templates
    ],
    extras_require={
        # Local mode (`ganger local`, the embedded default): moto's server in-process and the rule clock.
        # Never in a function package.
        "local": [
            "moto[server,dynamodb,cloudformation,sqs,sns,s3,ec2,autoscaling,events,cloudwatch,iam,apigateway,ssm,secretsmanager]>=5.2,<5.3",
            "croniter>=2.0",
        ],
        "dev": ["pytest>=8", "pytest-timeout>=2.3", "ruff>=0.6", "mypy>=1.10", "cfn-lint>=1.0"],
        "compat": ["sosw==0.7.51"],
    },
    entry_points={
        "console_scripts": ["ganger=ganger.cli.main:main"],
        # Scenarios `ganger local --demo` runs besides its own example job.
        "ganger.demo": ["processors = processors.demo:local_demo"],
    },
)
