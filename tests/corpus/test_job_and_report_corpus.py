"""Bad business jobs (the Scheduler) and bad worker reports (the WorkerAssistant): a clear error that
names the field or problem, no crash beyond that error, nothing stored changed."""

from __future__ import annotations

import json
from typing import Any

import pytest

from ganger.errors import GangerError
from tests.corpus.conftest import World

HUGE = "x" * (300 * 1024)


def job(**fields: Any) -> dict[str, Any]:
    return {"job": {"lambda_name": "example_worker", "payload": {"sections": ["z"], "isolate_sections": True},
                    **fields}}  # fmt: skip


BAD_JOBS = [
    ("not-json", "{job", "event"),
    ("json-list", "[1, 2]", "event"),
    ("list", [1, 2], "event"),
    ("number", 42, "event"),
    ("none", None, "event"),
    ("job-not-json", {"job": "{nope"}, "job"),
    ("job-list", {"job": []}, "job"),
    ("job-number", {"job": 7}, "job"),
    ("lambda-name-missing", {"job": {"payload": {}}}, "job.lambda_name"),
    ("lambda-name-number", job(lambda_name=42), "job.lambda_name"),
    ("lambda-name-empty", job(lambda_name=""), "job.lambda_name"),
    ("lambda-name-blank", job(lambda_name="   "), "job.lambda_name"),
    ("lambda-name-list", job(lambda_name=["example_worker"]), "job.lambda_name"),
    ("unknown-labourer", job(lambda_name="no_such_worker"), "unknown labourer `no_such_worker`"),
    ("unknown-labourer-unicode", job(lambda_name="работник🍼"), "unknown labourer"),
    ("labourer-injection", job(lambda_name="example_worker' OR '1'='1"), "unknown labourer"),
    ("labourer-arn-other", job(lambda_name="arn:aws:lambda:us-east-1:1:function:evil"), "unknown labourer `arn"),
    ("payload-list", job(payload=[1, 2]), "job.payload"),
    ("payload-bad-json", job(payload="{oops"), "job.payload"),
    ("payload-number", job(payload=5), "job.payload"),
    ("payload-huge-string", job(payload=json.dumps({"blob": HUGE})), "larger than"),
    ("event-huge-string", json.dumps(job(blob=HUGE)), "larger than"),
    ("job-id-number", job(job_id=5), "job.job_id"),
    ("job-id-empty", job(job_id=""), "job.job_id"),
    ("job-id-too-long", job(job_id="j" * 201), "job.job_id"),
    ("schema-name-number", job(job_schema_name=5), "job.job_schema_name"),
    ("schema-name-unknown", job(job_schema_name="nope"), "job.job_schema_name"),
    ("cursor-negative", {**job(), "cursor": -1}, "cursor"),
    ("cursor-string", {**job(), "cursor": "3"}, "cursor"),
]


@pytest.mark.parametrize(("event", "names"), [c[1:] for c in BAD_JOBS], ids=[c[0] for c in BAD_JOBS])
def test_bad_job_is_refused_with_a_clear_error(world: World, unchanged: Any, event: Any, names: str) -> None:
    scheduler = world.system.essentials["sosw_scheduler"]
    with pytest.raises(GangerError) as error:
        scheduler(event, None)
    assert names in str(error.value)


def test_bad_job_through_the_lambda_api_is_a_function_error_naming_the_field(world: World, unchanged: Any) -> None:
    response = world.system.clients.lambda_.invoke(FunctionName="sosw_scheduler",
                                                   Payload=json.dumps(job(lambda_name=7)).encode())  # fmt: skip
    assert response["FunctionError"] == "Unhandled"
    body = json.loads(response["Payload"].read())
    assert body["errorType"] == "InvalidJob" and "job.lambda_name" in body["errorMessage"]


def report(**fields: Any) -> dict[str, Any]:
    return {"action": "mark_task_as_completed", "task_id": "seed-2", **fields}


BAD_REPORTS = [
    ("not-json", "{report", "event"),
    ("json-list", "[]", "event"),
    ("list", [], "event"),
    ("number", 3, "event"),
    ("none", None, "event"),
    ("action-missing", {"task_id": "seed-2"}, "action"),
    ("action-unknown", report(action="mark_task_as_done"), "mark_task_as_done"),
    ("action-number", report(action=1), "action"),
    ("action-injection", report(action="mark_task_as_completed; DROP TABLE"), "action"),
    ("task-id-missing", {"action": "mark_task_as_completed"}, "task_id"),
    ("task-id-number", report(task_id=5), "task_id"),
    ("task-id-empty", report(task_id=""), "task_id"),
    ("task-id-blank", report(task_id="  "), "task_id"),
    ("task-id-too-long", report(task_id="t" * 2000), "task_id"),
    ("task-id-object", report(task_id={"S": "seed-2"}), "task_id"),
    ("token-number", report(invocation_token=12), "invocation_token"),
    ("reason-list", report(action="mark_task_as_failed", reason=["x"]), "reason"),
    ("stats-bad-json", report(stats="{bad"), "stats"),
    ("stats-list", report(stats=[1, 2]), "stats"),
    ("result-number", report(result=5), "result"),
    ("result-json-list", report(result="[1]"), "result"),
]


@pytest.mark.parametrize(("event", "names"), [c[1:] for c in BAD_REPORTS], ids=[c[0] for c in BAD_REPORTS])
def test_bad_report_is_refused_with_a_clear_error(world: World, unchanged: Any, event: Any, names: str) -> None:
    assistant = world.system.essentials["sosw_worker_assistant"]
    with pytest.raises(GangerError) as error:
        assistant(event, None)
    assert names in str(error.value)


LATE_REPORTS = [
    ("unknown-task", lambda live: report(task_id="no-such-task")),
    ("unicode-task", lambda live: report(task_id="задача-🍼-\u202e")),
    ("injection-task", lambda live: report(task_id="seed-2' OR attribute_exists(task_id) --")),
    ("closed-task-again", lambda live: report(task_id="seed-0")),
    ("wrong-token", lambda live: report(task_id=live["task_id"], invocation_token="forged")),
    (
        "wrong-token-failure",
        lambda live: report(task_id=live["task_id"], invocation_token="x", action="mark_task_as_failed"),
    ),
    ("queued-task", lambda live: report(task_id="seed-2")),
]


@pytest.mark.parametrize("make", [c[1] for c in LATE_REPORTS], ids=[c[0] for c in LATE_REPORTS])
def test_report_for_a_task_it_does_not_own_changes_nothing(world: World, unchanged: Any, make: Any) -> None:
    answer = world.system.essentials["sosw_worker_assistant"](make(world.live_task), None)
    assert answer["outcome"] == "late" and answer["reason"]
