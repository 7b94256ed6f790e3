from pathlib import Path

from setuptools import find_packages, setup

setup(
    name="ganger",
    version="0.1.0",
    description="Task orchestration for AWS Lambda in the style of sosw, with a local mode on an embedded AWS",
    long_description=Path(__file__).with_name("README.md").read_text(encoding="utf-8"),
    long_description_content_type="text/markdown",
    python_requires=">=3.11",
    packages=find_packages(
        include=[
            "ganger",
            "ganger.*",
            "essentials",
            "processors",
            "processors.*",
            "examples",
            "benchmarks",
            "benchmarks.*",
        ]
    ),
    # The console's stylesheet and script ship inside the package: it works offline, with no CDN.
    package_data={"": ["*.json"], "ganger.console": ["assets/*.css", "assets/*.js"]},
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
        # ruff and mypy pinned: .ci/run gates on them, and a new release must not fail an unchanged tree.
        "dev": [
            "pytest>=8",
            "pytest-timeout>=2.3",
            "ruff==0.17.6",
            "mypy==2.4.1",
            "cfn-lint>=1.0",
            "matplotlib>=3.8",  # the dispatch benchmark's chart (python -m benchmarks.dispatch --chart)
            # the console's browser tests (tests/console) drive the system Chromium (.ci/run installs Debian's)
            "playwright>=1.45",
            "greenlet>=3",  # the scale benchmark's actors (benchmarks/simtime.py)
            # boto3 clients' types for mypy (imported under TYPE_CHECKING only)
            "mypy-boto3-dynamodb~=1.43.0",
            "mypy-boto3-lambda~=1.43.0",
            "mypy-boto3-cloudwatch~=1.43.0",
            "mypy-boto3-sns~=1.43.0",
            "mypy-boto3-autoscaling~=1.43.0",
            "mypy-boto3-events~=1.43.0",
            "mypy-boto3-apigateway~=1.43.0",
        ],
        "compat": ["sosw==0.7.51"],
    },
    entry_points={
        "console_scripts": ["ganger=ganger.cli.main:main"],
        # Scenarios `ganger local --demo` runs besides its own example job.
        "ganger.demo": ["processors = processors.demo.scenarios:local_demo"],
        # What `ganger local` makes in the embedded AWS for the sample config (the dev boxes' instances).
        "ganger.local_setup": ["devbox = processors.devbox.local_boxes:create_local_boxes"],
        # Config documents' schemas, so `ganger config set/validate/edit/push` check them (ganger.documents).
        "ganger.config_documents": [
            "telegram_bot_config = processors.telegram.webhook:TelegramBotConfig",
            "video_worker_config = processors.video.worker:VideoWorkerConfig",
            "image_worker_config = processors.image.worker:ImageWorkerConfig",
            "devbox_worker_config = processors.devbox.config:DevboxConfig",
            "feedings_config = processors.feedings.log:FeedingsConfig",
            "ganger_fleet_metrics_config = processors.fleet.metrics:FleetMetricsConfig",
        ],
    },
)
