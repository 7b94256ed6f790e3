"""A Scheduler run that fails part-way is finished by Lambda's own asynchronous retries."""

from __future__ import annotations

from typing import Any

import pytest
from botocore.exceptions import ClientError

from benchmarks.harness import Clock, InProcessSystem

SECTIONS = {"job_schema_variants": {"default": {"chunkable_attrs": ["section"]}}}
LAMBDA_ASYNC_RETRY_DELAYS = (60, 120)  # Lambda retries a failed Event invocation twice, about 1 and 2 minutes later


def job(n: int) -> dict:
    return {"job": {"lambda_name": "example_worker", "job_id": "retried",
                    "payload": {"sections": [f"s{i}" for i in range(n)], "isolate_sections": True}}}  # fmt: skip


def throttle_second_write(scheduler: Any) -> None:
    real_put = scheduler.store.put_new
    writes = {"n": 0}

    def put_new(tasks: Any) -> int:
        writes["n"] += 1
        if writes["n"] == 2:
            error = {"Error": {"Code": "ProvisionedThroughputExceededException", "Message": "throttled"}}
            raise ClientError(error, "BatchWriteItem")
        return real_put(tasks)

    scheduler.store.put_new = put_new


def test_redelivery_after_the_lease_writes_the_rest_once(system: InProcessSystem, clock: Clock) -> None:
    system.config.put("sosw_scheduler_config", {**SECTIONS, "rows_per_step": 50, "lease_seconds": 60})
    scheduler = system.essentials["sosw_scheduler"]
    throttle_second_write(scheduler)
    with pytest.raises(ClientError):
        scheduler(job(200), None)
    clock.advance(61)
    assert scheduler(job(200), None)["tasks_created"] == 150
    assert sorted(r["task_id"] for r in system.scan("sosw_tasks")) == sorted(f"retried-{i}" for i in range(200))


def test_lambda_async_retries_finish_a_job_whose_run_failed(system: InProcessSystem, clock: Clock) -> None:
    system.config.put("sosw_scheduler_config", {**SECTIONS, "rows_per_step": 50, "lease_seconds": 900})  # as config/
    scheduler = system.essentials["sosw_scheduler"]
    throttle_second_write(scheduler)
    with pytest.raises(ClientError):
        scheduler(job(200), None)
    assert len(system.scan("sosw_tasks")) == 50
    for delay in LAMBDA_ASYNC_RETRY_DELAYS:
        clock.advance(delay)
        scheduler(job(200), None)
    assert len(system.scan("sosw_tasks")) == 200, "the job was left half-scheduled"
