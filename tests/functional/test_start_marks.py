"""Start marks (labourers with ``marks_start``): an attempt no worker started is given back, not used up, and an
attempt is never run twice (a repeated delivery, or one given back, does not run)."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import pytest
from botocore.exceptions import ClientError, ReadTimeoutError
from moto import mock_aws

from benchmarks.harness import Clock, InProcessSystem
from ganger.worker import Worker

LABOURER = "marking_worker"
MAX_ATTEMPTS = 3
LABOURERS = {
    LABOURER: {
        "dispatch": "tick",  # dispatched only when the test runs the Orchestrator
        "marks_start": True,
        "max_simultaneous_invocations": 5,
        "duration": 60,
        "cooldown": 30,
        "max_attempts": MAX_ATTEMPTS,
        "retry": {"base_seconds": 1, "factor": 1, "cap_seconds": 1},
    }
}
JOB = {"job": {"lambda_name": LABOURER, "payload": {"sections": ["a"], "isolate_sections": True}}}
TIMEOUT = ReadTimeoutError(endpoint_url="https://lambda.us-east-1.amazonaws.com/")


class RecordingWorker(Worker):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.processed: list[dict[str, Any]] = []

    def process(self, event: dict[str, Any]) -> dict[str, Any] | None:
        self.processed.append(event)
        return {"ok": True}


@pytest.fixture
def clock() -> Clock:
    return Clock(time.time())


@pytest.fixture
def system(clock: Clock) -> Iterator[InProcessSystem]:
    with mock_aws():
        system = InProcessSystem(clock=clock)
        with system.lam.installed():
            system.deploy(labourers=LABOURERS)
            yield system


@pytest.fixture
def worker(system: InProcessSystem) -> RecordingWorker:
    worker = RecordingWorker(system.clients, sleep=lambda s: None)
    system.register_worker(LABOURER, worker)
    return worker


def first_invoke_of_the_worker_times_out(system: InProcessSystem, delivered: bool, started: bool = False) -> list:
    """The next Invoke of the labourer raises ReadTimeoutError; ``delivered``: Lambda took the event first (it
    is queued and runs at the next drain); ``started``: its worker had already marked its start."""
    real = system.lam._invoke
    timed_out: list[dict[str, Any]] = []

    def invoke(params: dict[str, Any]) -> dict[str, Any]:
        if params["FunctionName"] != LABOURER or timed_out:
            return real(params)
        if delivered:
            real(params)
        if started:
            event = system.lam.queue.pop()[1]
            assert Worker(system.clients).mark_start(event)
        timed_out.append(params)
        raise TIMEOUT

    system.lam._invoke = invoke  # type: ignore[method-assign]
    return timed_out


def the_task(system: InProcessSystem) -> dict[str, Any]:
    (row,) = system.scan("sosw_tasks")
    return row


def closed(system: InProcessSystem) -> list[dict[str, Any]]:
    return system.scan("sosw_closed_tasks")


def free_slots(system: InProcessSystem) -> int:
    slots = system.store.slots.read(LABOURER)
    assert slots is not None
    return slots.free


def test_an_invoke_that_timed_out_before_lambda_took_it_is_given_back_at_once(
    system: InProcessSystem, worker: RecordingWorker, clock: Clock
) -> None:
    timed_out = first_invoke_of_the_worker_times_out(system, delivered=False)
    system.schedule(JOB)
    result = system.run("sosw_orchestrator")
    assert timed_out and result["stats"]["given_back"] == 1
    task = the_task(system)
    assert task["attempts"] == 0 and task["greenfield"] < clock() and "invocation_token" not in task
    assert free_slots(system) == 5
    system.run("sosw_orchestrator")
    assert len(worker.processed) == 1
    (row,) = closed(system)
    assert row["labourer_id_task_status"] == f"{LABOURER}_1" and row["attempts"] == 1


def test_a_late_delivery_of_an_attempt_given_back_does_not_run(
    system: InProcessSystem, worker: RecordingWorker
) -> None:
    first_invoke_of_the_worker_times_out(system, delivered=True)
    system.schedule(JOB)
    system.run("sosw_orchestrator")  # given back; then the lost-response event is delivered: it must not run
    assert worker.processed == [] and the_task(system)["attempts"] == 0
    system.run("sosw_orchestrator")
    assert len(worker.processed) == 1
    assert closed(system)[0]["attempts"] == 1


def test_a_late_delivery_given_back_loses_even_after_the_next_attempt_started(
    system: InProcessSystem, worker: RecordingWorker
) -> None:
    real = system.lam._invoke
    held: list[dict[str, Any]] = []

    def invoke(params: dict[str, Any]) -> dict[str, Any]:
        if params["FunctionName"] == LABOURER and not held:
            held.append(json.loads(params["Payload"]))  # Lambda took it, but its answer was lost
            raise TIMEOUT
        return real(params)

    system.lam._invoke = invoke  # type: ignore[method-assign]
    system.schedule(JOB)
    system.run("sosw_orchestrator")  # given back
    system.run("sosw_orchestrator")  # the next attempt: marked, run, completed
    system.lam.queue.append((LABOURER, held[0]))  # only now does Lambda run the first event
    system.lam.drain()
    assert len(worker.processed) == 1
    assert worker.processed[0]["invocation_token"] != held[0]["invocation_token"]


def test_an_attempt_whose_worker_started_is_not_given_back_and_counts(
    system: InProcessSystem, worker: RecordingWorker, clock: Clock
) -> None:
    first_invoke_of_the_worker_times_out(system, delivered=True, started=True)  # it then dies, never reporting
    system.schedule(JOB)
    result = system.run("sosw_orchestrator")
    assert "given_back" not in result["stats"]
    assert the_task(system)["attempts"] == 1 and "invocation_token" in the_task(system)
    clock.advance(60 + 30 + 1)
    scavenged = system.run("sosw_scavenger")
    assert scavenged["stats"] == {"expired": 1, "retried": 1}
    (retry,) = system.scan("sosw_retry_tasks")
    assert retry["attempts"] == 1


def test_an_expired_attempt_no_worker_started_is_given_back_until_the_limit(
    system: InProcessSystem, clock: Clock
) -> None:
    deliveries: list[dict[str, Any]] = []
    system.register_worker(LABOURER, lambda event, context: deliveries.append(event))  # lost: never marks
    system.schedule(JOB)
    for _ in range(MAX_ATTEMPTS):
        system.run("sosw_orchestrator")
        clock.advance(60 + 30 + 1)
        scavenged = system.run("sosw_scavenger")
        assert scavenged["stats"] == {"expired": 1, "given_back": 1}
        assert the_task(system)["attempts"] == 0
    # Given back max_attempts times: a function that never gets to mark (say an import error) still dies.
    for _ in range(MAX_ATTEMPTS):
        system.run("sosw_orchestrator")
        clock.advance(60 + 30 + 1)
        system.run("sosw_scavenger")  # counted now: to the retry table (or dead)
        clock.advance(2)
        system.run("sosw_scavenger")  # the retry is due: back in the queue
    (row,) = closed(system)
    assert row["labourer_id_task_status"] == f"{LABOURER}_0"
    assert row["attempts"] == MAX_ATTEMPTS and row["given_back"] == MAX_ATTEMPTS
    assert len(deliveries) == 2 * MAX_ATTEMPTS


def test_a_repeated_delivery_of_one_attempt_runs_once(system: InProcessSystem, worker: RecordingWorker) -> None:
    system.schedule(JOB)
    system.lam.before_invoke = None
    real = system.lam._invoke

    def delivered_twice(params: dict[str, Any]) -> dict[str, Any]:
        if params["FunctionName"] == LABOURER:
            real(params)  # Lambda's asynchronous invocations are at least once
        return real(params)

    system.lam._invoke = delivered_twice  # type: ignore[method-assign]
    system.run("sosw_orchestrator")
    assert len(worker.processed) == 1
    (row,) = closed(system)
    assert row["attempts"] == 1 and row.get("late_reports") is None


def test_a_start_mark_whose_answer_was_lost_is_still_this_runs(system: InProcessSystem) -> None:
    worker = RecordingWorker(system.clients, sleep=lambda s: None)
    ddb = worker.clients.dynamodb
    real = ddb.put_item
    calls: list[str] = []

    def answer_lost_once(**kwargs: Any) -> Any:
        calls.append(kwargs["Item"]["task_id"]["S"])
        result = real(**kwargs)
        if len(calls) == 1:
            raise TIMEOUT  # written, but the answer never came
        return result

    ddb.put_item = answer_lost_once
    try:
        event = {"task_id": "t1", "invocation_token": "tok", "mark_start": True}
        assert worker.mark_start(event)  # sent again, the write finds its own run id
        assert not Worker(system.clients, sleep=lambda s: None).mark_start(event)  # another delivery: not run
    finally:
        del ddb.put_item
    assert calls[:2] == ["_ganger_started#t1#tok", "_ganger_started#t1#tok"]


def test_a_worker_that_cannot_mark_its_start_does_not_run(system: InProcessSystem) -> None:
    worker = RecordingWorker(system.clients, sleep=lambda s: None)
    ddb = worker.clients.dynamodb

    def throttled(**kwargs: Any) -> Any:
        raise ClientError({"Error": {"Code": "ThrottlingException", "Message": "slow down"}}, "PutItem")

    ddb.put_item = throttled
    try:
        result = worker({"task_id": "t1", "invocation_token": "tok", "mark_start": True, "labourer_id": LABOURER})
    finally:
        del ddb.put_item
    assert result is None and worker.processed == []
