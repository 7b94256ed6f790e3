"""Every package ``ganger deploy`` builds: one per Lambda function, and one for the fleet's EC2 instances.

A function's package holds the import closure of its handler module (never ``ganger/local``, the CLI or
the deploy code) and the third-party distributions listed here, at the versions of the lock. The
template parameter named by ``code_parameter`` receives the package's S3 key.
"""

from __future__ import annotations

from dataclasses import dataclass

from ganger.errors import GangerError

MIB = 1024 * 1024
# Lambda's limits for a zip package: 50 MB zipped when uploaded directly (not through S3, which is how
# ganger deploys, so only the unzipped limit applies), 250 MB unzipped with all layers.
LAMBDA_UNZIPPED_LIMIT = 250 * MIB
ESSENTIAL_UNZIPPED_LIMIT = 15 * MIB  # ganger's own budget: the essentials stay small and cold-start fast

# What the packages may pin; the lock (requirements/lambda.lock) holds the versions resolved from these.
REQUIREMENTS: dict[str, str] = {
    "aws-lambda-powertools": "aws-lambda-powertools>=3.0,<4",
    "python-telegram-bot": "python-telegram-bot>=21,<23",
    "yt-dlp": "yt-dlp>=2024.1",
    "opencv-python-headless": "opencv-python-headless>=4.8,<5",
    "numpy": "numpy>=1.26",
    "tzdata": "tzdata",
    "boto3": "boto3>=1.35",  # for the fleet's instances; Lambda's runtime provides its own
    "pyyaml": "pyyaml>=6",  # for the fleet's instances: `ganger worker` loads the CLI, which reads templates
}
# The import name each distribution provides (a handler's module-level imports must all be shipped).
IMPORT_NAMES: dict[str, str] = {
    "aws_lambda_powertools": "aws-lambda-powertools",
    "telegram": "python-telegram-bot",
    "yt_dlp": "yt-dlp",
    "cv2": "opencv-python-headless",
    "numpy": "numpy",
    "tzdata": "tzdata",
}
PROVIDED_BY_LAMBDA = ("boto3", "botocore", "s3transfer", "jmespath")
NEVER_SHIPPED = ("ganger.local", "ganger.cli", "ganger.deploy", "tests", "benchmarks")


@dataclass(frozen=True)
class PackageSpec:
    """One package: what it is for, which code and which distributions it holds, and its size limit."""

    name: str  # the function's name (or ``fleet_instances``)
    handler: str  # ``module.lambda_handler``; empty for the fleet's instance package
    code_parameter: str  # the template parameter that takes its S3 key
    distributions: tuple[str, ...]
    essential: bool = False
    lambda_function: bool = True
    models: tuple[str, ...] = ()  # model folders (under $GANGER_MODEL_DIR) shipped as ``models/<name>/``

    @property
    def module(self) -> str:
        return self.handler.rpartition(".")[0]

    @property
    def unzipped_limit(self) -> int | None:
        if not self.lambda_function:
            return None
        return ESSENTIAL_UNZIPPED_LIMIT if self.essential else LAMBDA_UNZIPPED_LIMIT


POWERTOOLS = ("aws-lambda-powertools",)
PACKAGES: tuple[PackageSpec, ...] = (
    PackageSpec("sosw_scheduler", "essentials.scheduler.lambda_handler", "SchedulerCodeKey", POWERTOOLS, True),
    PackageSpec("sosw_orchestrator", "essentials.orchestrator.lambda_handler", "OrchestratorCodeKey", POWERTOOLS, True),
    PackageSpec(
        "sosw_worker_assistant",
        "essentials.worker_assistant.lambda_handler",
        "WorkerAssistantCodeKey",
        POWERTOOLS,
        True,
    ),
    PackageSpec("sosw_scavenger", "essentials.scavenger.lambda_handler", "ScavengerCodeKey", POWERTOOLS, True),
    PackageSpec(
        "telegram_bot",
        "processors.telegram.webhook.lambda_handler",
        "TelegramBotCodeKey",
        (*POWERTOOLS, "python-telegram-bot"),
    ),
    PackageSpec(
        "video_worker",
        "processors.video.worker.lambda_handler",
        "VideoWorkerCodeKey",
        (*POWERTOOLS, "python-telegram-bot", "yt-dlp"),
    ),
    PackageSpec(
        "image_worker",
        "processors.image.worker.lambda_handler",
        "ImageWorkerCodeKey",
        (*POWERTOOLS, "opencv-python-headless", "numpy"),
        models=("yolov4-tiny",),  # the detector finds it under $LAMBDA_TASK_ROOT/models
    ),
    PackageSpec(
        "devbox_worker",
        "processors.devbox.worker.lambda_handler",
        "DevboxWorkerCodeKey",
        (*POWERTOOLS, "python-telegram-bot"),
    ),
    PackageSpec("feedings", "processors.feedings.log.lambda_handler", "FeedingsCodeKey", (*POWERTOOLS, "tzdata")),
    PackageSpec("fleet_metrics", "processors.fleet.metrics.lambda_handler", "MetricsCodeKey", POWERTOOLS),
    PackageSpec("example_worker", "examples.sosw_protocol_worker.lambda_handler", "ExampleWorkerCodeKey", ()),
    # The fleet's instances run `ganger worker`: the whole library but local mode, with boto3 (EC2 has none).
    PackageSpec(
        "fleet_instances",
        "",
        "CodeKey",
        ("boto3", "pyyaml", *POWERTOOLS, "python-telegram-bot", "yt-dlp", "opencv-python-headless", "numpy", "tzdata"),
        lambda_function=False,
    ),
)


class UnknownPackage(GangerError):
    """No package has that name."""


def find(name: str) -> PackageSpec:
    for spec in PACKAGES:
        if spec.name == name:
            return spec
    raise UnknownPackage(f"no package {name!r} (packages: {', '.join(s.name for s in PACKAGES)})")
