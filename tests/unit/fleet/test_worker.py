"""FleetWorker.handle with fake clients: what is run, reported, deleted or dropped."""

from __future__ import annotations

import json
from typing import Any

from botocore.exceptions import ClientError

from ganger.clients import AwsClients
from ganger.fleet.settings import FleetSettings
from ganger.fleet.worker import FleetWorker
from ganger.labourer import Labourer
from ganger.tasks import Task

LABOURER = Labourer(id="f", type="fleet")
NOW = 2_000_000_000


class FakeSqs:
    def __init__(self) -> None:
        self.deleted: list[str] = []
        self.visibility: list[tuple[str, int]] = []

    def delete_message(self, QueueUrl: str, ReceiptHandle: str) -> None:
        self.deleted.append(ReceiptHandle)

    def change_message_visibility(self, QueueUrl: str, ReceiptHandle: str, VisibilityTimeout: int) -> None:
        self.visibility.append((ReceiptHandle, VisibilityTimeout))


class FakeLambda:
    def __init__(self, fail: bool = False) -> None:
        self.fail = fail
        self.reports: list[dict[str, Any]] = []

    def invoke(self, FunctionName: str, InvocationType: str, Payload: bytes) -> dict[str, Any]:
        if self.fail:
            raise ClientError({"Error": {"Code": "TooManyRequestsException", "Message": "slow down"}}, "Invoke")
        self.reports.append(json.loads(Payload))
        return {"StatusCode": 202}


class FakeStore:
    def __init__(self, task: Task | None) -> None:
        self.task = task

    def get(self, task_id: str) -> Task | None:
        return self.task


def live_task(token: str = "tok") -> Task:
    return Task("t1", "f", 1, NOW + 31_557_600, attempts=1, invocation_token=token)


def make(handler: Any, task: Task | None, report: str = "handler", lambda_fails: bool = False) -> tuple:
    sqs, lam = FakeSqs(), FakeLambda(lambda_fails)
    settings = FleetSettings(processor="x.y", report=report, visibility_timeout_seconds=60, heartbeat_seconds=30)
    worker = FleetWorker(AwsClients(sqs=sqs, **{"lambda": lam}), FakeStore(task), LABOURER, settings, handler, "url",
                         clock=lambda: NOW)  # fmt: skip
    return worker, sqs, lam


def message(token: str = "tok") -> dict[str, Any]:
    return {"ReceiptHandle": "r1", "MessageId": "m1", "Body": json.dumps({"task_id": "t1", "invocation_token": token})}


def test_a_superseded_attempt_is_dropped_without_running() -> None:
    ran: list[Any] = []
    worker, sqs, lam = make(lambda e, c: ran.append(e), live_task(token="newer"))
    assert worker.handle(message("older")) == "dropped"
    assert ran == [] and sqs.deleted == ["r1"] and lam.reports == []


def test_a_closed_task_is_dropped() -> None:
    worker, sqs, _ = make(lambda e, c: None, None)
    assert worker.handle(message()) == "dropped"
    assert sqs.deleted == ["r1"]


def test_worker_reports_completion_with_the_token_then_deletes() -> None:
    worker, sqs, lam = make(lambda e, c: {"size": 3, "fn": c.function_name}, live_task(), report="worker")
    assert worker.handle(message()) == "completed"
    assert lam.reports == [{"action": "mark_task_as_completed", "task_id": "t1", "invocation_token": "tok",
                            "result": {"size": 3, "fn": "f"}}]  # fmt: skip
    assert sqs.deleted == ["r1"]


def test_a_raising_handler_is_reported_failed_then_deleted() -> None:
    def boom(event: dict, context: Any) -> None:
        raise RuntimeError("disk full")

    worker, sqs, lam = make(boom, live_task())
    assert worker.handle(message()) == "failed"
    assert lam.reports[0]["action"] == "mark_task_as_failed" and "disk full" in lam.reports[0]["reason"]
    assert sqs.deleted == ["r1"]


def test_no_delete_when_the_report_is_not_accepted() -> None:
    worker, sqs, _ = make(lambda e, c: {}, live_task(), report="worker", lambda_fails=True)
    assert worker.handle(message()) == "unreported"
    assert sqs.deleted == []  # the message reappears and the same attempt runs again


def test_a_message_that_is_not_a_task_is_left_for_the_dead_letter_queue() -> None:
    worker, sqs, _ = make(lambda e, c: None, live_task())
    assert worker.handle({"ReceiptHandle": "r9", "Body": "hello"}) == "invalid"
    assert sqs.deleted == []
