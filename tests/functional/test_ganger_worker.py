"""ganger's own Worker: token-conditioned reports whose task snapshot lets a completion take one call."""

from __future__ import annotations

import json

from benchmarks.harness import Clock, InProcessSystem
from examples.ganger_worker import ExampleWorker

from .conftest import CallCounter


def job(n: int, **payload: object) -> dict:
    payload = {"sections": [f"s{i}" for i in range(n)], "isolate_sections": True, **payload}
    return {"job": {"lambda_name": "example_worker", "payload": payload}}


def use_ganger_worker(system: InProcessSystem) -> ExampleWorker:
    worker = ExampleWorker(clients=system.clients)
    system.register_worker("example_worker", worker)
    return worker


def test_completion_is_one_call_in_the_worker_assistant(system: InProcessSystem, api_calls: CallCounter) -> None:
    use_ganger_worker(system)
    system.schedule(job(20, numbers=[4, 5]))
    system.lam.run("sosw_orchestrator", {})  # dispatch: 20 worker invocations queued
    api_calls.reset()
    system.lam.drain()  # the workers run and report
    calls = dict(api_calls.calls)
    closed = system.scan("sosw_closed_tasks")
    assert len(closed) == 20
    assert all(r["result_sum"] == 9 and r["stat_numbers"] == 2 for r in closed)
    assert {json.loads(r["payload"])["sections"][0] for r in closed} == {f"s{i}" for i in range(20)}
    # report + archive; the WorkerAssistant's config and labourers are read once (and cached for 30 s)
    assert calls == {"lambda.Invoke": 20, "dynamodb.TransactWriteItems": 20, "dynamodb.BatchGetItem": 1}


def test_failure_goes_to_retry_and_then_completes(system: InProcessSystem, clock: Clock) -> None:
    use_ganger_worker(system)
    system.schedule(job(3, fail_attempts=1))
    system.run("sosw_orchestrator")
    retrying = system.scan("sosw_retry_tasks")
    assert len(retrying) == 3 and all("failing attempt 1 on purpose" in r["failure_reason"] for r in retrying)
    clock.advance(11)
    system.tick()
    system.tick()
    closed = system.scan("sosw_closed_tasks")
    assert len(closed) == 3 and all(r["attempts"] == 2 for r in closed)


def test_late_snapshot_report_is_recorded_and_changes_nothing(system: InProcessSystem, clock: Clock) -> None:
    events: list[dict] = []
    system.register_worker("example_worker", lambda event, context: events.append(event))
    system.schedule(job(1))
    system.tick()
    clock.advance(91)
    system.run("sosw_scavenger")  # expired: to the retry table (or, with a jitter of 0, already back in the queue)
    before = (system.scan("sosw_tasks"), system.scan("sosw_retry_tasks"))
    worker = ExampleWorker(clients=system.clients)
    system.register_worker("late_worker", worker)
    result = system.run("late_worker", events[0])  # attempt 1 finally reports, with its token and snapshot
    assert result == {"sum": 0, "count": 0}
    assert system.scan("sosw_closed_tasks") == [], "the late attempt closed nothing"
    recorded = {"late_reports", "last_late_report"}  # where a late report is counted, if the task is live
    after = (system.scan("sosw_tasks"), system.scan("sosw_retry_tasks"))
    strip = lambda rows: [{k: v for k, v in r.items() if k not in recorded} for r in rows]  # noqa: E731
    assert [strip(rows) for rows in after] == [strip(rows) for rows in before], "nothing resurrected or changed"
    assert len(before[0]) + len(before[1]) == 1 and all(r.get("invocation_token") is None for r in before[0])


def test_wrong_snapshot_cannot_close_with_false_data(system: InProcessSystem) -> None:
    events: list[dict] = []
    system.register_worker("example_worker", lambda event, context: events.append(event))
    system.schedule(job(1))
    system.tick()
    event = events[0]
    forged = {"labourer_id": "example_worker", "attempts": 7, "created_at": 1, "greenfield": 1, "payload": "{}"}
    report = {"action": "mark_task_as_completed", "task_id": event["task_id"],
              "invocation_token": event["invocation_token"], "task": forged}  # fmt: skip
    outcome = system.run("sosw_worker_assistant", report)
    assert outcome["outcome"] == "completed"
    (closed,) = system.scan("sosw_closed_tasks")
    assert closed["attempts"] == 1 and closed["created_at"] != 1, "the stored task was archived, not the forgery"
