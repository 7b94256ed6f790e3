"""ganger's Worker keeps trying to report within its remaining time, and never raises into Lambda for it.

A raise would make Lambda retry the worker's asynchronous invocation and run the whole task again.
"""

from __future__ import annotations

import json
import logging
from typing import Any

import pytest
from botocore.exceptions import ClientError, ReadTimeoutError

from ganger.clients import AwsClients
from ganger.worker import Worker

THROTTLED = ClientError({"Error": {"Code": "TooManyRequestsException", "Message": "Rate exceeded"}}, "Invoke")
MISSING = ClientError({"Error": {"Code": "ResourceNotFoundException", "Message": "no such function"}}, "Invoke")


class FlakyLambda:
    """Raises the given errors in turn, then accepts; records what the WorkerAssistant received."""

    def __init__(self, *errors: Exception, forever: Exception | None = None) -> None:
        self.errors = list(errors)
        self.forever = forever
        self.attempts = 0
        self.delivered: list[dict[str, Any]] = []

    def invoke(self, FunctionName: str, InvocationType: str, Payload: bytes) -> dict[str, Any]:
        self.attempts += 1
        if self.errors:
            raise self.errors.pop(0)
        if self.forever is not None:
            raise self.forever
        self.delivered.append(json.loads(Payload))
        return {"StatusCode": 202}


class FakeTime:
    def __init__(self) -> None:
        self.now = 0.0
        self.slept: list[float] = []

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds

    def monotonic(self) -> float:
        return self.now


class Context:
    """Lambda's context: the time left is what the timeout leaves after the fake clock moved."""

    def __init__(self, clock: FakeTime, timeout_seconds: float) -> None:
        self.clock, self.timeout = clock, timeout_seconds

    def get_remaining_time_in_millis(self) -> int:
        return int((self.timeout - self.clock.now) * 1000)


class Summer(Worker):
    def process(self, event: dict[str, Any]) -> dict[str, Any]:
        if event.get("boom"):
            raise ValueError("bad input")
        return {"sum": sum(event["numbers"])}


EVENT = {"task_id": "t1", "labourer_id": "w", "attempts": 1, "created_at": 1, "greenfield": 2,
         "invocation_token": "tok", "numbers": [1, 2]}  # fmt: skip


def make(lam: FlakyLambda, clock: FakeTime) -> Summer:
    return Summer(AwsClients(**{"lambda": lam}), sleep=clock.sleep, monotonic=clock.monotonic)


def test_a_throttled_report_is_sent_again_with_backoff_and_arrives_once() -> None:
    clock = FakeTime()
    lam = FlakyLambda(THROTTLED, ReadTimeoutError(endpoint_url="https://lambda"), THROTTLED)
    result = make(lam, clock)(dict(EVENT), Context(clock, timeout_seconds=60))
    assert result == {"sum": 3}
    assert [r["action"] for r in lam.delivered] == ["mark_task_as_completed"]
    assert lam.delivered[0]["result"] == {"sum": 3} and lam.delivered[0]["invocation_token"] == "tok"
    assert clock.slept == [0.25, 0.5, 1.0]


def test_a_report_that_never_gets_through_is_logged_and_not_raised(caplog: pytest.LogCaptureFixture) -> None:
    clock = FakeTime()
    lam = FlakyLambda(forever=THROTTLED)
    with caplog.at_level(logging.WARNING, logger="ganger.worker"):
        result = make(lam, clock)(dict(EVENT), Context(clock, timeout_seconds=5))
    assert result == {"sum": 3}  # returned normally: Lambda does not run the task again
    assert lam.delivered == []
    assert clock.now <= 5 - 1, "it stopped a second before the Lambda's timeout"
    assert lam.attempts == 5  # 0.25 + 0.5 + 1 + 2 s of backoff fit in the 4 s left, 4 more would not
    errors = [r.getMessage() for r in caplog.records if r.levelno == logging.ERROR]
    assert len(errors) == 1 and "t1" in errors[0] and "will expire and be retried" in errors[0]


def test_a_failure_report_that_cannot_be_sent_does_not_raise_either(caplog: pytest.LogCaptureFixture) -> None:
    clock = FakeTime()
    lam = FlakyLambda(forever=THROTTLED)
    with caplog.at_level(logging.ERROR, logger="ganger.worker"):
        assert make(lam, clock)({**EVENT, "boom": True}, Context(clock, timeout_seconds=3)) is None
    assert any("could not report mark_task_as_failed" in r.getMessage() for r in caplog.records)


def test_an_error_that_will_not_go_away_is_not_retried(caplog: pytest.LogCaptureFixture) -> None:
    clock = FakeTime()
    lam = FlakyLambda(forever=MISSING)
    with caplog.at_level(logging.ERROR, logger="ganger.worker"):
        assert make(lam, clock)(dict(EVENT), Context(clock, timeout_seconds=900)) == {"sum": 3}
    assert lam.attempts == 1 and clock.slept == []
    assert any("ResourceNotFoundException" in r.getMessage() for r in caplog.records)
