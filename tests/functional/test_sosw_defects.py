"""Each measured defect of sosw 0.7.51 (SEEDS.md section 2) as a test that ganger does not have it."""

from __future__ import annotations

import json
import logging

import pytest
from botocore.exceptions import ClientError

from benchmarks.harness import Clock, InProcessSystem
from ganger.errors import ConfigError
from ganger.tasks import Task

from .conftest import CallCounter


def job(n: int, job_id: str | None = None) -> dict:
    body = {
        "lambda_name": "example_worker",
        "payload": {"sections": [f"s{i}" for i in range(n)], "isolate_sections": True},
    }
    if job_id:
        body["job_id"] = job_id
    return {"job": body}


def capture_dispatches(system: InProcessSystem) -> list[dict]:
    events: list[dict] = []
    system.register_worker("example_worker", lambda event, context: events.append(event))
    return events


def report(system: InProcessSystem, event: dict, action: str = "mark_task_as_completed", **extra: object) -> dict:
    return system.run("sosw_worker_assistant", {"action": action, "task_id": event["task_id"], **extra})


def test_late_report_after_expiry_does_not_resurrect_the_task(system: InProcessSystem, clock: Clock) -> None:
    events = capture_dispatches(system)
    system.schedule(job(1))
    system.tick()
    clock.advance(91)
    system.tick()  # expired -> retry table
    assert len(system.scan("sosw_retry_tasks")) == 1

    outcome = report(system, events[0])  # sosw protocol: no token
    assert outcome["outcome"] == "late"
    assert system.scan("sosw_tasks") == [], "no phantom row in the tasks table"
    assert system.scan("sosw_closed_tasks") == []
    assert len(system.scan("sosw_retry_tasks")) == 1


def test_attempt_one_report_does_not_close_attempt_two(system: InProcessSystem, clock: Clock) -> None:
    events = capture_dispatches(system)
    system.schedule(job(1))
    system.tick()
    clock.advance(91)
    system.tick()
    clock.advance(101)
    system.tick()  # requeued
    system.tick()  # attempt 2 dispatched
    assert [e["attempts"] for e in events] == [1, 2]

    late = report(system, events[0], invocation_token=events[0]["invocation_token"])
    assert late["outcome"] == "late"
    (live,) = system.scan("sosw_tasks")
    assert live["attempts"] == 2 and live["invocation_token"] == events[1]["invocation_token"]

    done = report(system, events[1], invocation_token=events[1]["invocation_token"])
    assert done["outcome"] == "completed"
    again = report(system, events[1], invocation_token=events[1]["invocation_token"])
    assert again["outcome"] == "late"
    (closed,) = system.scan("sosw_closed_tasks")
    assert closed["attempts"] == 2 and closed["late_reports"] == 2  # both late reports recorded
    assert system.scan("sosw_tasks") == []


def test_archive_is_atomic_nothing_lost_when_the_put_fails(system: InProcessSystem) -> None:
    events = capture_dispatches(system)
    system.schedule(job(1))
    system.tick()
    task_id = events[0]["task_id"]
    # A row already in the closed table makes the transaction's Put fail: the delete must not happen either.
    system.clients.dynamodb.put_item(TableName="sosw_closed_tasks", Item={"task_id": {"S": task_id}})
    outcome = report(system, events[0], invocation_token=events[0]["invocation_token"])
    assert outcome["outcome"] == "late"
    assert [r["task_id"] for r in system.scan("sosw_tasks")] == [task_id], "the task was not deleted"


def test_throttled_invoke_releases_the_task_and_the_run_goes_on(system: InProcessSystem, clock: Clock) -> None:
    system.schedule(job(4))
    throttled = {"left": 2}

    def throttle(name: str, event: object) -> None:
        if name == "example_worker" and throttled["left"] > 0:
            throttled["left"] -= 1
            raise ClientError({"Error": {"Code": "TooManyRequestsException", "Message": "Rate exceeded"}}, "Invoke")

    original = system.lam._invoke

    def invoke(params: dict) -> dict:
        throttle(params["FunctionName"], None)
        return original(params)

    system.lam._invoke = invoke  # type: ignore[method-assign]
    result, _ = system.tick()
    run = result["labourers"]["example_worker"]
    assert run["dispatched"] == 2 and run["dispatch_errors"] == 2
    queued = system.store.queued("example_worker", clock.now, limit=10)
    assert len(queued) == 2 and all(t.attempts == 0 for t in queued)
    system.tick()
    assert len(system.scan("sosw_closed_tasks")) == 4
    assert all(r["attempts"] == 1 for r in system.scan("sosw_closed_tasks"))


def test_failure_report_changes_something(system: InProcessSystem) -> None:
    events = capture_dispatches(system)
    system.schedule(job(1))
    system.tick()
    outcome = report(system, events[0], action="mark_task_as_failed", reason="disk full")
    assert outcome["outcome"] == "failed_retried"
    (row,) = system.scan("sosw_retry_tasks")
    assert "disk full" in row["failure_reason"]


def test_scheduling_is_linear_with_no_query_per_task(system: InProcessSystem, api_calls: CallCounter) -> None:
    system.schedule(job(1, job_id="warm-up"))  # config read at cold start
    api_calls.reset()
    system.schedule(job(100, job_id="small"))
    small = dict(api_calls.calls)
    api_calls.reset()
    system.schedule(job(1000, job_id="big"))
    big = dict(api_calls.calls)
    assert "dynamodb.Query" not in small and "dynamodb.Query" not in big
    assert big["dynamodb.BatchWriteItem"] == 40 and small["dynamodb.BatchWriteItem"] == 4
    overhead = sum(big.values()) - big["dynamodb.BatchWriteItem"]
    assert overhead == sum(small.values()) - small["dynamodb.BatchWriteItem"] <= 4  # marker, counter, status, Invoke


def test_runs_never_read_closed_history(system: InProcessSystem, api_calls: CallCounter) -> None:
    system.schedule(job(200))
    for _ in range(5):
        system.tick()
    assert len(system.scan("sosw_closed_tasks")) == 200
    system.tick()  # warm config
    api_calls.reset()
    system.tick()
    assert api_calls.calls == {"dynamodb.Query": 3}  # orchestrator 1, scavenger 2, one labourer
    assert all(not op.startswith("dynamodb.Scan") for op in api_calls.calls)


def test_config_edit_takes_effect_and_bad_edit_keeps_last_good(
    system: InProcessSystem, clock: Clock, caplog: pytest.LogCaptureFixture
) -> None:
    orchestrator = system.essentials["sosw_orchestrator"]
    system.config.put("sosw_orchestrator_config", {"invocation_number_coefficient": {"4": 0.1}})
    assert orchestrator.config.invocation_number_coefficient["4"] == 0.1
    orchestrator._config.invalidate()  # the TTL passing
    system.config.put("sosw_orchestrator_config", {"invocation_number_coefficient": {"4": "lots"}})
    with caplog.at_level(logging.ERROR):
        assert orchestrator.config.invocation_number_coefficient["4"] == 0.1
    assert "sosw_orchestrator_config" in caplog.text and "invocation_number_coefficient.4" in caplog.text
    assert "expected float" in caplog.text

    system.schedule(job(50))
    result, _ = system.tick()
    assert result["labourers"]["example_worker"]["dispatched"] == 5  # floor(50 x 0.1), the last good config


def test_bad_config_at_cold_start_is_a_clear_error(system: InProcessSystem) -> None:
    system.clients.dynamodb.put_item(
        TableName="config",
        Item={
            "env": {"S": "production"},
            "config_name": {"S": "sosw_scavenger_config"},
            "config_value": {"S": "{oops"},
        },
    )
    with pytest.raises(ConfigError, match=r"config document `sosw_scavenger_config`.*not valid JSON"):
        system.run("sosw_scavenger")


def test_unknown_labourer_field_is_named(system: InProcessSystem) -> None:
    system.config.put("ganger_labourers", {"labourers": {"example_worker": {"max_attempt": 3}}})
    scheduler = system.essentials["sosw_scheduler"]
    scheduler._labourers = None
    with pytest.raises(RuntimeError, match=r"ganger_labourers.*labourers\.example_worker\.max_attempt.*unknown field"):
        system.schedule(job(1))


def test_task_event_is_sosw_shaped() -> None:
    task = Task("t1", "w", 1, 5, attempts=2, payload=json.dumps({"a": 1}), invocation_token="tok")
    assert task.event() == {"a": 1, "task_id": "t1", "labourer_id": "w", "created_at": 1, "greenfield": 5,
                            "attempts": 2, "invocation_token": "tok"}  # fmt: skip
