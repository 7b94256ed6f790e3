"""Failures, expiry, backoff, dead tasks and redrive, asserted in the tables."""

from __future__ import annotations

from typing import Any

import boto3

from benchmarks.harness import Clock, InProcessSystem
from ganger.tasks import STATUS_COMPLETED, STATUS_DEAD


def job(n: int, **payload: Any) -> dict:
    payload = {"sections": [f"s{i}" for i in range(n)], "isolate_sections": True, **payload}
    return {"job": {"lambda_name": "example_worker", "payload": payload}}


def test_failure_report_retries_with_backoff_then_completes(system: InProcessSystem, clock: Clock) -> None:
    system.schedule(job(5, fail_attempts=1))  # every task fails its first attempt
    system.run("sosw_orchestrator")  # dispatch; the workers run and report failure
    retrying = system.scan("sosw_retry_tasks")
    assert len(retrying) == 5, "a failure report moves the task to retry at once, without waiting for expiry"
    assert system.scan("sosw_tasks") == []
    for row in retrying:
        assert clock.now < row["desired_launch_time"] <= clock.now + 11  # base 10 s, full jitter, rounded up
        assert row["attempts"] == 1
        assert "worker reported failure" in row["failure_reason"]

    clock.advance(11)
    system.tick()  # due retries return to the front of the queue
    clock.advance(60)
    system.tick()
    closed = system.scan("sosw_closed_tasks")
    assert len(closed) == 5
    assert all(
        r["attempts"] == 2 and r["labourer_id_task_status"] == f"example_worker_{STATUS_COMPLETED}" for r in closed
    )


def test_retried_task_goes_to_the_front_of_the_queue(system: InProcessSystem, clock: Clock) -> None:
    system.schedule(job(1, fail_attempts=1))
    system.tick()
    later = {"sections": [f"x{i}" for i in range(60)], "isolate_sections": True}
    system.schedule({"job": {"lambda_name": "example_worker", "job_id": "later", "payload": later}})
    clock.advance(11)
    system.run("sosw_scavenger")  # requeue the due retry
    queued = system.store.queued("example_worker", clock.now, limit=3)
    assert queued[0].attempts == 1, "the retried task is first in the queue, ahead of the 60 newer tasks"


def test_expired_tasks_retry_then_die_after_max_attempts(system: InProcessSystem, clock: Clock) -> None:
    topic = boto3.client("sns").create_topic(Name="dead")["TopicArn"]
    sqs = boto3.client("sqs")
    queue_url = sqs.create_queue(QueueName="dead-tasks")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    boto3.client("sns").subscribe(TopicArn=topic, Protocol="sqs", Endpoint=queue_arn)
    system.config.put("sosw_scavenger_config", {"dead_tasks_topic_arn": topic})
    system.register_worker("example_worker", lambda event, context: None)  # crashes silently: never reports

    system.schedule(job(2))
    for _ in range(10):  # dispatch, expire (after duration + cooldown = 90 s), requeue (backoff cap 100 s)
        system.tick()
        clock.advance(101)
    closed = system.scan("sosw_closed_tasks")
    assert len(closed) == 2
    for row in closed:
        assert row["labourer_id_task_status"] == f"example_worker_{STATUS_DEAD}"
        assert row["attempts"] == 3
        assert "expired" in row["failure_reason"] and "3 of 3 attempts" in row["failure_reason"]
    messages = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10)["Messages"]
    assert len(messages) == 2
    assert system.scan("sosw_tasks") == [] and system.scan("sosw_retry_tasks") == []


def test_redrive_puts_dead_tasks_back_and_they_complete(system: InProcessSystem, clock: Clock) -> None:
    system.schedule(job(3, fail_attempts=5))  # fails every attempt it gets
    for _ in range(6):
        system.tick()
        clock.advance(101)
    assert {r["labourer_id_task_status"] for r in system.scan("sosw_closed_tasks")} == {"example_worker_0"}

    from examples import sosw_protocol_worker

    system.register_worker(
        "example_worker", lambda e, c: sosw_protocol_worker.lambda_handler({**e, "fail_attempts": 0}, c)
    )
    result = system.run("sosw_scavenger", {"action": "redrive", "labourer_id": "example_worker"})
    assert len(result["redriven"]) == 3
    assert len(system.scan("sosw_tasks")) == 3
    system.tick()
    closed = system.scan("sosw_closed_tasks")
    assert [r["labourer_id_task_status"] for r in closed] == ["example_worker_1"] * 3
    assert all(r["attempts"] == 1 for r in closed)


def test_failed_dispatch_returns_task_to_front_and_run_goes_on(system: InProcessSystem, clock: Clock) -> None:
    system.set_labourers({
        "example_worker": {"max_simultaneous_invocations": 10, "dispatch": "tick"},
        "missing_worker": {"max_simultaneous_invocations": 10, "dispatch": "tick"},  # no such function
    })  # fmt: skip
    system.schedule(
        {"job": {"lambda_name": "missing_worker", "payload": {"sections": ["a", "b"], "isolate_sections": True}}}
    )
    system.schedule(job(3))
    result, _ = system.tick()
    assert result["labourers"]["missing_worker"]["dispatch_errors"] == 2
    assert result["labourers"]["example_worker"]["dispatched"] == 3
    assert len(system.scan("sosw_closed_tasks")) == 3
    stuck = system.store.queued("missing_worker", clock.now, limit=10)
    assert len(stuck) == 2 and all(t.attempts == 0 and t.invocation_token is None for t in stuck)
