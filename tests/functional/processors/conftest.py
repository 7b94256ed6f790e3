"""The processors end to end, offline: in-process moto with yaml/tables.yaml and yaml/processors.yaml
deployed through CloudFormation, the essentials and the processors in-process, the webhook reached
over HTTP through the local API front (API Gateway's proxy format), and replies going to the fake
Telegram Bot API over loopback HTTP."""

from __future__ import annotations

import io
import json
import time
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto import mock_aws

from benchmarks.harness import Clock, InProcessSystem
from ganger.local.api_front import ApiFront
from ganger.local.api_routes import LOCAL_CALLERS
from ganger.local.telegram_fake import FakeTelegram, SentRecord
from processors.demo.scenarios import DemoContext, post_update
from processors.devbox.worker import DevboxWorker
from processors.image.worker import ImageWorker
from processors.telegram.webhook import TelegramBot
from processors.video.worker import VideoWorker

ROOT = Path(__file__).resolve().parents[3]
TOKEN = "4242424242:AAH-fake-token-for-tests_0123456789"
WEBHOOK_SECRET = "webhook-secret-for-tests"
USER = 123456789
STRANGER = 987654321
LABOURERS = {
    "video_worker": {"max_simultaneous_invocations": 5, "duration": 900, "cooldown": 60, "max_attempts": 3},
    "image_worker": {"max_simultaneous_invocations": 5, "duration": 120, "cooldown": 30, "max_attempts": 3},
    "devbox_worker": {"max_simultaneous_invocations": 2, "duration": 900, "cooldown": 60, "max_attempts": 2},
}


@dataclass
class Bot:
    """Everything a test needs to talk to the bot and look at the results."""

    system: InProcessSystem
    clock: Clock
    telegram: FakeTelegram
    webhook_url: str
    results_url: str
    sleeps: list[float]

    def send(self, update: dict[str, Any], secret: str | None = WEBHOOK_SECRET) -> tuple[int, dict[str, Any]]:
        return post_update(self.webhook_url, secret, update)

    def sent_to(self, chat_id: int) -> list[SentRecord]:
        return [r for r in self.telegram.sent if str(r.chat_id) == str(chat_id)]

    def texts_to(self, chat_id: int) -> list[str]:
        return [r.text or r.caption or "" for r in self.sent_to(chat_id)]

    def settle(self, ticks: int = 2) -> None:
        for _ in range(ticks):
            self.system.tick()

    def put_config(self, name: str, value: dict[str, Any]) -> None:
        self.system.config.put(name, value)

    def context(self) -> DemoContext:
        return DemoContext(
            self.webhook_url,
            WEBHOOK_SECRET,
            self.telegram,
            self.system.clients,
            self.settle,
            advance=self.clock.advance,
            now=self.clock,
            user_id=USER,
        )


def _code_package(s3: Any) -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as package:
        package.writestr("processors/__init__.py", "")
    s3.create_bucket(Bucket="ganger-code")
    s3.put_object(Bucket="ganger-code", Key="ganger.zip", Body=buffer.getvalue())


def deploy_processors(region: str = "us-east-1") -> None:
    """yaml/processors.yaml through CloudFormation; the Scheduler function (another stack's) must exist."""
    s3, iam, lam = (boto3.client(s, region_name=region) for s in ("s3", "iam", "lambda"))
    _code_package(s3)
    role = iam.create_role(RoleName="essentials", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
    lam.create_function(
        FunctionName="sosw_scheduler",
        Runtime="python3.11",
        Role=role,
        Handler="x.h",
        Code={"S3Bucket": "ganger-code", "S3Key": "ganger.zip"},
    )
    cloudformation = boto3.client("cloudformation", region_name=region)
    cloudformation.create_stack(
        StackName="ganger-processors",
        TemplateBody=(ROOT / "yaml" / "processors.yaml").read_text(),
        Capabilities=["CAPABILITY_IAM"],
        Parameters=[
            {"ParameterKey": "CodeBucket", "ParameterValue": "ganger-code"},
            {"ParameterKey": "ApiGatewayLogRole", "ParameterValue": "false"},  # moto has no ApiGateway::Account
            *(
                {"ParameterKey": f"{function}CodeKey", "ParameterValue": "ganger.zip"}
                for function in ("TelegramBot", "VideoWorker", "ImageWorker", "DevboxWorker", "Feedings")
            ),
        ],
    )
    cloudformation.get_waiter("stack_create_complete").wait(StackName="ganger-processors", WaiterConfig={"Delay": 0.1})


def configure(system: InProcessSystem, telegram: FakeTelegram, results_url: str) -> None:
    endpoint = {"base_url": telegram.base_url, "base_file_url": telegram.base_file_url}
    system.config.put(
        "telegram_bot_config", {"telegram": endpoint, "allowed_users": [USER], "results_callers": [LOCAL_CALLERS]}
    )
    system.config.put("video_worker_config", {"telegram": endpoint, "max_megabytes": 5})
    system.config.put("image_worker_config", {"results_url": results_url})
    system.config.put(
        "devbox_worker_config",
        {
            "telegram": endpoint,
            "users": {},
            "read_environment": False,
            "auto_shutdown_soft_minutes": 120,
            "auto_shutdown_hard_minutes": 180,
            "poll_seconds": 15,
            "wait_timeout_seconds": 600,
        },
    )
    system.config.put("feedings_config", {"time_zone": "Asia/Singapore"})


@pytest.fixture
def bot(monkeypatch: pytest.MonkeyPatch) -> Iterator[Bot]:
    monkeypatch.setenv("GANGER_CONFIG_TTL_SECONDS", "0")
    clock = Clock(time.time())
    telegram = FakeTelegram(TOKEN)
    telegram.start()
    try:
        with mock_aws():
            system = InProcessSystem(clock=clock)
            with system.lam.installed():
                system.deploy(labourers=LABOURERS)
                deploy_processors()
                secret = json.dumps({"token": TOKEN, "webhook_secret": WEBHOOK_SECRET})
                system.clients.get("secretsmanager").create_secret(Name="ganger/telegram-bot", SecretString=secret)
                front = ApiFront(system.clients.get("apigateway"), system.clients.lambda_)
                front.start()
                try:
                    sleeps: list[float] = []
                    results_url = front.url_for("/results", stage="prod")
                    configure(system, telegram, results_url)
                    common: dict[str, Any] = {"clients": system.clients, "clock": clock}
                    system.register_worker("telegram_bot", TelegramBot(**common))
                    system.register_worker("video_worker", VideoWorker(**common))
                    system.register_worker("image_worker", ImageWorker(**common))
                    system.register_worker("devbox_worker", DevboxWorker(**common, sleep=sleeps.append))
                    yield Bot(system, clock, telegram, front.url_for("/webhook", stage="prod"), results_url, sleeps)
                finally:
                    front.stop()
    finally:
        telegram.stop()
