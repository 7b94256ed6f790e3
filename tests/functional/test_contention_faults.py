"""DynamoDB's transaction conflicts (AWS's "Transaction conflict handling"): a slot counter that every
transaction naming it finds held by another one, and a counter busy when the Orchestrator changes its cap.

Whatever the conflicts, a worker's outcome is stored, its slot given back exactly once (later, by the
Scavenger), no finished task runs again, and no job or report fails because a start conflicted.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import botocore.client
import pytest
from botocore.exceptions import ClientError

from benchmarks.harness import InProcessSystem
from ganger.tasks import OWED_PREFIX

LABOURER = "example_worker"
SLOTS = "_ganger_slots#"


def job(n: int, job_id: str) -> dict[str, Any]:
    return {"job": {"lambda_name": LABOURER, "payload": {"sections": [f"s{i}" for i in range(n)],
                                                          "isolate_sections": True}}, "job_id": job_id}  # fmt: skip


def labourers(cap: int) -> dict[str, Any]:
    retry = {"base_seconds": 10, "factor": 2, "cap_seconds": 100}
    return {LABOURER: {"max_simultaneous_invocations": cap, "duration": 60, "cooldown": 30, "max_attempts": 3,
                       "retry": retry}}  # fmt: skip


class Contention:
    """While ``on``: every TransactWriteItems naming a slot counter is cancelled with TransactionConflict on
    that item, and ``busy_updates`` plain UpdateItems of a counter fail with TransactionConflictException."""

    def __init__(self) -> None:
        self.on = False
        self.busy_updates = 0
        self.busy_lane_records = 0  # the same, only for the update that records how many lanes the counters span
        self.throttled_batches = 0  # BatchWriteItems rejected whole with ThrottlingException (every item on a hot key)
        self.cancelled = 0

    def __call__(self, original: Any, client: Any, operation: str, params: dict[str, Any]) -> Any:
        if operation == "TransactWriteItems" and self.on:
            reasons = [{"Code": "TransactionConflict" if self._counter(item) else "None"}
                       for item in params["TransactItems"]]  # fmt: skip
            if any(r["Code"] != "None" for r in reasons):
                self.cancelled += 1
                raise ClientError(
                    {"Error": {"Code": "TransactionCanceledException", "Message": "conflict"},
                     "CancellationReasons": reasons}, operation)  # fmt: skip
        if operation == "BatchWriteItem" and self.throttled_batches:
            self.throttled_batches -= 1
            raise ClientError({"Error": {"Code": "ThrottlingException", "Message": "hot key"}}, operation)
        if operation == "UpdateItem" and self.busy_lane_records and "lanes" in params["UpdateExpression"]:
            self.busy_lane_records -= 1
            raise ClientError({"Error": {"Code": "TransactionConflictException", "Message": "busy"}}, operation)
        if operation == "UpdateItem" and self.busy_updates and params["Key"]["task_id"]["S"].startswith(SLOTS):
            self.busy_updates -= 1
            raise ClientError({"Error": {"Code": "TransactionConflictException", "Message": "busy"}}, operation)
        return original(client, operation, params)

    @staticmethod
    def _counter(item: dict[str, Any]) -> bool:
        (body,) = item.values()
        return str(body.get("Key", {}).get("task_id", {}).get("S", "")).startswith(SLOTS)


@pytest.fixture
def contention(system: InProcessSystem) -> Iterator[Contention]:
    state = Contention()
    original = botocore.client.BaseClient._make_api_call

    def conflicting(client, operation_name, params):  # type: ignore[no-untyped-def]
        return state(original, client, operation_name, params)

    botocore.client.BaseClient._make_api_call = conflicting
    for processor in system.essentials.values():  # no real pauses between the rounds
        processor.store._sleep = lambda seconds: None
        processor.store.slots._sleep = lambda seconds: None
    try:
        yield state
    finally:
        botocore.client.BaseClient._make_api_call = original


class Running:
    """A ganger-protocol worker that holds every task until told to report it."""

    def __init__(self, system: InProcessSystem) -> None:
        self.system = system
        self.held: list[dict[str, Any]] = []
        self.started: list[str] = []

    def __call__(self, event: dict[str, Any], context: Any) -> None:
        self.held.append(event)
        self.started.append(event["task_id"])

    def report(self, action: str = "mark_task_as_completed") -> dict[str, Any]:
        from ganger.worker import task_snapshot

        event = self.held.pop(0)
        report = {"action": action, "task_id": event["task_id"], "invocation_token": event["invocation_token"],
                  "task": task_snapshot(event), "result": {"done": True}}  # fmt: skip
        result: dict[str, Any] = self.system.run("sosw_worker_assistant", report)
        return result


@pytest.fixture
def worker(system: InProcessSystem) -> Running:
    running = Running(system)
    system.register_worker(LABOURER, running)
    return running


def counter(system: InProcessSystem) -> tuple[int, int]:
    slots = system.store.slots.read(LABOURER)
    assert slots is not None
    return slots.cap, slots.free


def owed_rows(system: InProcessSystem) -> list[dict[str, Any]]:
    rows = system.clients.dynamodb.query(
        TableName="sosw_retry_tasks",
        KeyConditionExpression="labourer_id = :l AND begins_with(task_id, :o)",
        ExpressionAttributeValues={":l": {"S": LABOURER}, ":o": {"S": OWED_PREFIX}},
    )["Items"]
    return list(rows)


def test_a_completion_whose_counter_keeps_conflicting_is_stored_and_its_slot_returned_once_later(
    system: InProcessSystem, worker: Running, contention: Contention
) -> None:
    system.set_labourers(labourers(cap=2))
    system.schedule(job(2, "done"))
    assert counter(system) == (2, 0) and len(worker.held) == 2
    contention.on = True
    done = worker.held[0]["task_id"]
    assert worker.report()["outcome"] == "completed"
    assert contention.cancelled >= 8, "the normal rounds were tried first"
    closed = system.clients.dynamodb.get_item(TableName="sosw_closed_tasks", Key={"task_id": {"S": done}})["Item"]
    assert closed["result_done"] == {"BOOL": True}, "the worker's outcome is recorded"
    assert system.store.get(done) is None
    assert [r["owed_slots"]["N"] for r in owed_rows(system)] == ["1"]
    assert counter(system) == (2, 0), "the slot is owed, not yet given back"
    contention.on = False
    system.run("sosw_scavenger")
    assert counter(system) == (2, 1) and owed_rows(system) == [], "the Scavenger gave the owed slot back"
    system.run("sosw_scavenger")
    assert counter(system) == (2, 1), "exactly once"
    worker.report()
    assert counter(system) == (2, 2)
    assert sorted(worker.started) == ["done-0", "done-1"], "nothing ran twice"
    assert len(system.scan("sosw_closed_tasks")) == 2


def test_a_failure_report_whose_counter_keeps_conflicting_is_stored_with_its_slot_owed(
    system: InProcessSystem, worker: Running, contention: Contention
) -> None:
    system.set_labourers(labourers(cap=1))
    system.schedule(job(1, "fails"))
    contention.on = True
    assert worker.report("mark_task_as_failed")["outcome"] == "failed_retried"
    retry = system.store.get_retry(LABOURER, "fails-0")
    assert retry is not None and retry.attempts == 1, "the failure is recorded: the task waits to retry"
    assert len(owed_rows(system)) == 1 and counter(system) == (1, 0)
    assert system.store.count_retrying(LABOURER) == 1, "an owed-slot row is no task: it is not counted"
    assert system.run("sosw_orchestrator")["stats"].get("labourer_errors", 0) == 0
    contention.on = False
    system.run("sosw_scavenger")
    assert counter(system) == (1, 1) and owed_rows(system) == []
    assert worker.started == ["fails-0"]


def test_a_conflicted_claim_fails_neither_the_job_nor_the_report(
    system: InProcessSystem, worker: Running, contention: Contention
) -> None:
    system.set_labourers(labourers(cap=3))
    system.schedule(job(1, "warm"))  # the labourer's counter exists
    contention.on = True
    result = system.schedule(job(4, "conflicted"))
    assert result["tasks_created"] == 4, "the job is written although its tasks could not be claimed"
    assert len(worker.held) == 1
    assert worker.report()["outcome"] == "completed", "a report whose hand-off and give-back conflict is stored"
    contention.on = False
    system.tick()
    assert len(worker.held) == 3, "the tick starts them in the free slots"
    assert counter(system) == (3, 0)


def test_a_cap_change_is_retried_while_the_counter_is_busy(
    system: InProcessSystem, worker: Running, contention: Contention
) -> None:
    system.set_labourers(labourers(cap=3))
    system.schedule(job(6, "busy"))
    assert counter(system) == (3, 0)
    system.set_labourers(labourers(cap=5))
    contention.busy_updates = 3
    result = system.run("sosw_orchestrator")
    assert result["stats"].get("labourer_errors", 0) == 0 and contention.busy_updates == 0
    assert counter(system) == (5, 0) and len(worker.held) == 5


def test_recording_a_labourers_new_lanes_is_retried_while_lane_0s_counter_is_busy(
    system: InProcessSystem, worker: Running, contention: Contention
) -> None:
    """Growing from 1 lane to 3, the Orchestrator records the span on lane 0's counter, which claims keep busy."""
    system.set_labourers(labourers(cap=3))
    system.schedule(job(6, "grow"))
    system.set_labourers({LABOURER: {**labourers(cap=6)[LABOURER], "lanes": 3}})
    contention.busy_lane_records = 3
    result = system.run("sosw_orchestrator")
    assert result["stats"].get("labourer_errors", 0) == 0 and contention.busy_lane_records == 0
    item = system.clients.dynamodb.get_item(TableName="sosw_tasks", Key={"task_id": {"S": SLOTS + LABOURER}})["Item"]
    assert item["lanes"] == {"N": "3"}


def test_a_lane_record_that_stays_busy_past_its_retries_fails_no_run_and_the_next_run_records_it(
    system: InProcessSystem, worker: Running, contention: Contention
) -> None:
    """At cap 10,000 lane 0's counter can stay held by claims through every retry: the run still dispatches
    (the span is bookkeeping for a later drain), and the next run with work records it."""
    system.set_labourers(labourers(cap=3))
    system.schedule(job(6, "grow"))
    system.set_labourers({LABOURER: {**labourers(cap=6)[LABOURER], "lanes": 3}})
    contention.busy_lane_records = 1000
    result = system.run("sosw_orchestrator")
    assert result["stats"].get("labourer_errors", 0) == 0 and len(worker.held) == 6
    item = system.clients.dynamodb.get_item(TableName="sosw_tasks", Key={"task_id": {"S": SLOTS + LABOURER}})["Item"]
    assert "lanes" not in item
    contention.busy_lane_records = 0
    system.schedule(job(2, "more"))  # queued behind the 6 running: the next run has work, reads the counters
    system.run("sosw_orchestrator")
    item = system.clients.dynamodb.get_item(TableName="sosw_tasks", Key={"task_id": {"S": SLOTS + LABOURER}})["Item"]
    assert item["lanes"] == {"N": "3"}


def test_a_job_whose_batches_are_throttled_whole_is_still_written(
    system: InProcessSystem, worker: Running, contention: Contention
) -> None:
    """A BatchWriteItem whose every item goes to a hot index key is rejected as a whole: the Scheduler waits and
    writes it again instead of failing the job part-way."""
    system.set_labourers(labourers(cap=3))
    contention.throttled_batches = 3
    result = system.schedule(job(30, "hot"))
    assert result["tasks_created"] == 30 and contention.throttled_batches == 0
    assert system.store.count_queued(LABOURER, system.clock()) + len(worker.held) == 30
