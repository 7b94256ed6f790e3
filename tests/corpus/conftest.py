"""One in-process ganger shared by the corpus: tables and processors stacks in moto, the essentials, the
Telegram webhook (called with API Gateway proxy events), a fleet worker, and some stored state that
every bad input must leave exactly as it was."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import boto3
import pytest
from moto import mock_aws

from benchmarks.harness import Clock, InProcessSystem
from ganger.fleet.settings import FleetSettings
from ganger.fleet.worker import FleetWorker
from ganger.labourer import Labourer
from ganger.local.telegram_fake import FakeTelegram
from ganger.tasks import TaskStore
from ganger.telegram import SECRET_HEADER
from processors.telegram.webhook import TelegramBot
from tests.functional.processors.conftest import LABOURERS, TOKEN, WEBHOOK_SECRET, configure, deploy_processors

START = 1_790_000_000.0
STORED_TABLES = ("sosw_tasks", "sosw_retry_tasks", "sosw_closed_tasks", "config", "ganger_chat_jobs")
RECORDED_ATTRIBUTES = ("late_reports", "last_late_report")  # a late report is counted on its row, by design
# Seeded states (queued, invoked, ...) stay put until a tick: a "tick" labourer.
CORPUS_LABOURERS = {**LABOURERS, "example_worker": {"dispatch": "tick", "max_simultaneous_invocations": 10,
                                                   "duration": 60, "cooldown": 30, "max_attempts": 3}}  # fmt: skip


@dataclass
class World:
    system: InProcessSystem
    clock: Clock
    telegram: FakeTelegram
    bot: TelegramBot
    fleet: FleetWorker
    queue_url: str
    live_task: dict[str, Any]  # the event of a task that is invoked and running

    def snapshot(self) -> dict[str, list[str]]:
        """Every stored row of the tables that hold tasks, jobs and config, as sorted JSON lines."""
        state = {}
        for table in STORED_TABLES:
            rows, kwargs = [], {"TableName": table}
            while True:
                page = self.system.clients.dynamodb.scan(**kwargs)
                rows += [{k: v for k, v in item.items() if k not in RECORDED_ATTRIBUTES} for item in page["Items"]]
                if "LastEvaluatedKey" not in page:
                    break
                kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]
            state[table] = sorted(json.dumps(r, sort_keys=True) for r in rows)
        return state

    def webhook(self, body: Any, secret: str | None = WEBHOOK_SECRET, raw: bool = False) -> tuple[int, Any]:
        """The bot's answer to an API Gateway proxy event for POST /webhook."""
        headers = {"Content-Type": "application/json"}
        if secret is not None:
            headers[SECRET_HEADER] = secret
        event = {"httpMethod": "POST", "resource": "/webhook", "path": "/prod/webhook", "headers": headers,
                 "body": body if raw else json.dumps(body), "isBase64Encoded": False}  # fmt: skip
        answer = self.bot(event, None)
        return answer["statusCode"], json.loads(answer["body"])


def _seed(system: InProcessSystem, clock: Clock) -> dict[str, Any]:
    """Three tasks: one completed, one running, one queued."""
    seen: list[dict[str, Any]] = []
    system.register_worker("example_worker", lambda event, context: seen.append(event))
    job = {"job": {"lambda_name": "example_worker", "job_id": "seed",
                   "payload": {"sections": ["a", "b", "c"], "isolate_sections": True}}}  # fmt: skip
    system.schedule(job)
    system.set_labourers({**CORPUS_LABOURERS, "example_worker": {**CORPUS_LABOURERS["example_worker"],
                                                                 "max_simultaneous_invocations": 2}})  # fmt: skip
    system.run("sosw_orchestrator")
    done = {"action": "mark_task_as_completed", "task_id": seen[0]["task_id"],
            "invocation_token": seen[0]["invocation_token"], "result": {"ok": 1}}  # fmt: skip
    assert system.run("sosw_worker_assistant", done)["outcome"] == "completed"
    return seen[1]


@pytest.fixture(scope="module")
def world() -> Iterator[World]:
    with pytest.MonkeyPatch.context() as mp:
        for name, value in {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
                            "AWS_DEFAULT_REGION": "us-east-1", "POWERTOOLS_METRICS_DISABLED": "true",
                            "GANGER_CONFIG_TTL_SECONDS": "0"}.items():  # fmt: skip
            mp.setenv(name, value)
        clock = Clock(START)
        telegram = FakeTelegram(TOKEN)
        telegram.start()
        try:
            with mock_aws():
                system = InProcessSystem(clock=clock)
                with system.lam.installed():
                    system.deploy(labourers=CORPUS_LABOURERS)
                    deploy_processors()
                    secret = json.dumps({"token": TOKEN, "webhook_secret": WEBHOOK_SECRET})
                    system.clients.get("secretsmanager").create_secret(Name="ganger/telegram-bot", SecretString=secret)
                    configure(system, telegram, "http://127.0.0.1:9/results")
                    live = _seed(system, clock)
                    bot = TelegramBot(clients=system.clients, clock=clock)
                    system.register_worker("telegram_bot", bot)
                    queue_url = boto3.client("sqs").create_queue(QueueName="corpus-fleet")["QueueUrl"]
                    fleet = FleetWorker(system.clients, TaskStore(system.clients.dynamodb),
                                        Labourer("example_worker", type="fleet", arn=queue_url),
                                        FleetSettings(wait_seconds=0, report="worker"), _never_called, queue_url,
                                        clock=clock)  # fmt: skip
                    yield World(system, clock, telegram, bot, fleet, queue_url, live)
        finally:
            telegram.stop()


def _never_called(event: Any, context: Any) -> Any:
    raise AssertionError(f"a bad fleet message reached the handler: {event!r:.200}")


@pytest.fixture
def unchanged(world: World) -> Iterator[Callable[[], None]]:
    """Asserts, after the test, that no stored row was lost or changed."""
    before = world.snapshot()
    yield lambda: None
    after = world.snapshot()
    for table in STORED_TABLES:
        assert after[table] == before[table], f"table {table} changed"
