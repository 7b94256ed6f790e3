"""Typed records and pure decisions: config parsing, labourers, backoff, health, desired invocations."""

import random

import pytest

from essentials.orchestrator import desired_invocations
from essentials.scheduler import derive_job_id, parse_job
from essentials.worker_assistant import parse_report
from ganger import schema
from ganger.documents import SchedulerConfig, validate
from ganger.ecology import health_from_value
from ganger.errors import ConfigError, InvalidEvent, InvalidJob
from ganger.labourer import HealthMetric, Labourer, RetryPolicy, parse_labourers, resolve
from ganger.retries import CloseDead, RetryAt, decide
from ganger.tasks import Task


def test_labourers_parse_with_defaults_and_resolve_by_function_name() -> None:
    labourers = parse_labourers({"labourers": {"w": {"arn": "arn:aws:lambda:us-east-1:1:function:my_fn"}}})
    assert labourers["w"].max_attempts == 3 and labourers["w"].retry == RetryPolicy()
    assert resolve(labourers, "my_fn") is labourers["w"]
    assert resolve(labourers, "arn:aws:lambda:us-east-1:1:function:my_fn") is labourers["w"]
    assert resolve(labourers, "nope") is None


@pytest.mark.parametrize(
    ("document", "message"),
    [
        ({"labourers": {"w": {"duration": "long"}}}, "labourers.w.duration: expected int, got str 'long'"),
        ({"labourers": {"w": {"type": "ec2"}}}, "labourers.w.type: expected one of 'lambda' | 'fleet'"),
        ({"labourers": {"w": {"max_attempts": 0}}}, "labourers.w: `max_attempts` is too small"),
        ({"labourers": {"w": {"retry": {"factor": 0.5}}}}, "labourers.w.retry: retry needs"),
        ({"labourers": []}, "labourers: expected an object, got list"),
    ],
)
def test_bad_labourers_document_names_the_field(document: dict, message: str) -> None:
    with pytest.raises(ConfigError) as info:
        validate("ganger_labourers", document)
    assert "config document `ganger_labourers`" in str(info.value)
    assert message.split(": ", 1)[1].split(" '")[0] in str(info.value)
    assert message.split(":")[0] in str(info.value)


def test_essential_document_merges_over_defaults() -> None:
    config = schema.parse(SchedulerConfig, schema.merge(schema.to_dict(SchedulerConfig()), {"rows_per_step": 10}))
    assert config.rows_per_step == 10 and config.lease_seconds == 900
    with pytest.raises(ConfigError, match="field `reserve_seconds`: expected float, got str"):
        validate("sosw_scheduler_config", {"reserve_seconds": "soon"})


def test_backoff_is_exponential_with_full_jitter_and_a_cap() -> None:
    policy = RetryPolicy(base_seconds=10, factor=3, cap_seconds=100)
    assert [policy.ceiling(a) for a in (1, 2, 3, 4)] == [10, 30, 90, 100]
    rand = random.Random(7)
    delays = [policy.delay(3, rand) for _ in range(1000)]
    assert 0 <= min(delays) < 10 and 80 < max(delays) <= 90


def test_decide_retries_until_max_attempts() -> None:
    labourer = Labourer("w", max_attempts=2, retry=RetryPolicy(base_seconds=0))
    task = Task("t", "w", 0, 0, attempts=1)
    assert decide(task, labourer, 1000, "boom") == RetryAt(1000)
    dead = decide(Task("t", "w", 0, 0, attempts=2), labourer, 1000, "boom")
    assert isinstance(dead, CloseDead) and "used 2 of 2 attempts" in dead.reason


def test_health_from_metric_feelings() -> None:
    metric = HealthMetric(details={"MetricName": "Errors", "Namespace": "AWS/Lambda"},
                          feelings={"3": 5, "4": 1}, feeling_comparison_operator="le")  # fmt: skip
    assert health_from_value(None, metric) == 4
    assert health_from_value(0, metric) == 4
    assert health_from_value(3, metric) == 3
    assert health_from_value(50, metric) == 0


@pytest.mark.parametrize(("max_sim", "coef", "running", "expected"), [(10, 1, 3, 7), (10, 0.5, 0, 5), (10, 0.75, 9, 0),
                                                                        (3, 0.5, 0, 1), (10, 0, 0, 0)])  # fmt: skip
def test_desired_invocations(max_sim: int, coef: float, running: int, expected: int) -> None:
    assert desired_invocations(max_sim, coef, running) == expected


@pytest.mark.parametrize(
    ("event", "field"),
    [
        ({"task_id": "t"}, "action"),
        ({"action": "mark_task_as_done", "task_id": "t"}, "action"),
        ({"action": "mark_task_as_completed"}, "task_id"),
        ({"action": "mark_task_as_completed", "task_id": 7}, "task_id"),
        ({"action": "mark_task_as_completed", "task_id": "t", "stats": "{nope"}, "stats"),
        ({"action": "mark_task_as_completed", "task_id": "t", "result": [1]}, "result"),
        ({"action": "mark_task_as_completed", "task_id": "t", "invocation_token": 5}, "invocation_token"),
        ("not json", "event"),
        ([1, 2], "event"),
    ],
)
def test_bad_report_names_the_field(event: object, field: str) -> None:
    with pytest.raises(InvalidEvent, match=f"`{field}`"):
        parse_report(event)


def test_report_accepts_json_string_stats_and_result() -> None:
    report = parse_report({"action": "mark_task_as_failed", "task_id": "t", "stats": '{"a": 1}', "result": {"b": 2}})
    assert report.stats == {"a": 1} and report.result == {"b": 2}


@pytest.mark.parametrize(
    ("event", "field"),
    [
        ({"job": {"payload": {}}}, "job.lambda_name"),
        ({"job": "{broken"}, "job"),
        ({"job": {"lambda_name": "w", "payload": [1]}}, "job.payload"),
        ({"job": {"lambda_name": "w", "job_id": ""}}, "job.job_id"),
        (42, "event"),
    ],
)
def test_bad_job_names_the_field(event: object, field: str) -> None:
    with pytest.raises(InvalidJob, match=f"`{field}`"):
        parse_job(event)


def test_job_formats_and_derived_ids() -> None:
    as_string = parse_job('{"job": "{\\"lambda_name\\": \\"w\\", \\"a\\": 1}"}')
    assert as_string.lambda_name == "w" and as_string.body == {"a": 1}
    assert derive_job_id("w", [{"a": 1}]) == derive_job_id("w", [{"a": 1}]) != derive_job_id("w", [{"a": 2}])
