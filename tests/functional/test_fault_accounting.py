"""Under faults: a throttled archive is retried by the WorkerAssistant, and the Scavenger's stats count every
move it made even when its run fails part-way."""

from __future__ import annotations

from typing import Any

from botocore.exceptions import ClientError

from benchmarks.harness import Clock, InProcessSystem

THROTTLED = {"Error": {"Code": "ThrottlingException", "Message": "slow down"}}


def job(n: int) -> dict[str, Any]:
    return {"job": {"lambda_name": "example_worker",
                    "payload": {"sections": [f"s{i}" for i in range(n)], "isolate_sections": True}}}  # fmt: skip


def test_a_throttled_archive_is_retried_and_the_report_is_not_lost(system: InProcessSystem) -> None:
    events: list[dict[str, Any]] = []
    system.register_worker("example_worker", lambda event, context: events.append(event))
    system.schedule(job(1))
    system.tick()
    ddb = system.essentials["sosw_worker_assistant"].store._ddb
    real = ddb.transact_write_items
    calls = {"n": 0}

    def throttled_once(**kwargs: Any) -> Any:
        calls["n"] += 1
        if calls["n"] == 1:
            raise ClientError(THROTTLED, "TransactWriteItems")
        return real(**kwargs)

    ddb.transact_write_items = throttled_once
    try:
        event = events[0]
        report = {"action": "mark_task_as_completed", "task_id": event["task_id"],
                  "invocation_token": event["invocation_token"]}  # fmt: skip
        result = system.run("sosw_worker_assistant", report)
    finally:
        del ddb.transact_write_items
    assert result["outcome"] == "completed" and calls["n"] == 2
    assert [r["task_id"] for r in system.scan("sosw_closed_tasks")] == [event["task_id"]]


def test_scavenger_stats_count_the_moves_of_a_run_that_failed_part_way(system: InProcessSystem, clock: Clock) -> None:
    system.register_worker("example_worker", lambda event, context: None)  # never reports
    system.schedule(job(3))
    system.tick()
    clock.advance(60 + 30 + 1)  # the attempts expire
    scavenger = system.essentials["sosw_scavenger"]

    def failing(*args: Any, **kwargs: Any) -> Any:
        raise ClientError(THROTTLED, "Query")

    scavenger.store.due_in_lane = failing  # type: ignore[method-assign]
    try:
        result = system.run("sosw_scavenger")
    finally:
        del scavenger.store.due_in_lane
    assert result["stats"]["labourer_errors"] == 1
    assert result["stats"]["retried"] == 3 == len(system.scan("sosw_retry_tasks"))


def test_scavenger_counts_the_requeues_that_landed_before_a_later_batch_failed(
    system: InProcessSystem, clock: Clock
) -> None:
    from ganger.tasks import Task

    now = int(clock())
    for i in range(60):  # more than one transaction holds (50 requeues of 2 items each)
        retry = Task(f"r{i:02}", "example_worker", now - 100, now + 1000, attempts=1, desired_launch_time=now - 1)
        system.clients.dynamodb.put_item(TableName="sosw_retry_tasks", Item=retry.to_item())
    scavenger = system.essentials["sosw_scavenger"]
    ddb = scavenger.store._ddb
    real = ddb.transact_write_items
    calls = {"n": 0}

    def throttled_after_the_first(**kwargs: Any) -> Any:
        calls["n"] += 1
        if calls["n"] >= 2:  # the transaction engine retries throttling (jittered): throttled every time
            raise ClientError(THROTTLED, "TransactWriteItems")
        return real(**kwargs)

    ddb.transact_write_items = throttled_after_the_first
    scavenger.store._sleep = lambda seconds: None
    try:
        result = system.run("sosw_scavenger")
    finally:
        del ddb.transact_write_items
    assert calls["n"] > 2, "the throttled batch was retried before it was left for the next run"
    assert result["stats"]["requeued"] == 50 == len(system.scan("sosw_tasks"))
    assert len(system.scan("sosw_retry_tasks")) == 10
