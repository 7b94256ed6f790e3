"""Smoke versions of the benchmarks: ganger's API-call budgets (DESIGN.md "Budgets") and sosw for contrast.

The full figures come from ``python -m benchmarks.lifecycle`` and ``python -m benchmarks.compare``;
these runs are small enough for the suite (a few seconds each under in-process moto).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from benchmarks.lifecycle import BUDGET_CALLS_PER_TASK, BUDGET_IDLE_CALLS_PER_LABOURER, run_ganger
from benchmarks.sosw_system import run_sosw
from benchmarks.workload import OFFLINE_ENV

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def lifecycle_200() -> Iterator[dict[str, Any]]:
    """One run shared by the module (set up before the per-test offline fixture, so it sets the same env)."""
    with pytest.MonkeyPatch.context() as env:
        for name, value in OFFLINE_ENV.items():
            env.setenv(name, value)
        for name in ("AWS_PROFILE", "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_LAMBDA"):
            env.delenv(name, raising=False)
        yield run_ganger(200)


@pytest.fixture(scope="module")
def lifecycle_200_sosw_worker() -> Iterator[dict[str, Any]]:
    """The same run with the example worker that speaks only sosw's protocol (reports the task id)."""
    with pytest.MonkeyPatch.context() as env:
        for name, value in OFFLINE_ENV.items():
            env.setenv(name, value)
        for name in ("AWS_PROFILE", "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_LAMBDA"):
            env.delenv(name, raising=False)
        yield run_ganger(200, measure_idle=False, worker="sosw")


def test_every_task_reaches_the_closed_table_with_one_report_and_one_archive_transaction(
    lifecycle_200: dict[str, Any],
) -> None:
    report = lifecycle_200
    assert report["verified"] == {"closed_completed": 200, "live": 0, "retry": 0}
    assert report["calls_by_phase_and_operation"]["report"] == {"lambda.Invoke": 200}
    archive = report["calls_by_phase_and_operation"]["archive"]
    # One transaction per completion (it also claims the next task with the freed slot), one Query for the
    # hand-off's candidates; the handed-off tasks' Invokes count here too.
    assert archive["dynamodb.TransactWriteItems"] == 200 and archive["dynamodb.Query"] == 200
    assert report["calls_by_operation"]["lambda.Invoke"] == 2 * 200 + 1  # dispatch + report, and the job itself
    assert report["calls_by_operation"]["dynamodb.BatchWriteItem"] == 200 // 25
    assert report["ticks"] == 0, "event-driven: the job is done before the first minute tick"


def test_idle_runs_within_budget(lifecycle_200: dict[str, Any]) -> None:
    idle = lifecycle_200["idle_calls_per_labourer"]
    assert idle["orchestrator"] <= BUDGET_IDLE_CALLS_PER_LABOURER
    assert idle["scavenger"] <= BUDGET_IDLE_CALLS_PER_LABOURER


def test_calls_per_task_within_budget(lifecycle_200: dict[str, Any]) -> None:
    assert lifecycle_200["calls_per_task"] <= BUDGET_CALLS_PER_TASK
    assert lifecycle_200["within_budget"] is True


def test_a_sosw_protocol_worker_costs_one_read_per_task_more(
    lifecycle_200: dict[str, Any], lifecycle_200_sosw_worker: dict[str, Any]
) -> None:
    sosw_worker = lifecycle_200_sosw_worker
    assert sosw_worker["verified"] == {"closed_completed": 200, "live": 0, "retry": 0}
    archive = sosw_worker["calls_by_phase_and_operation"]["archive"]
    # One read of the task per report, plus the WorkerAssistant's cached read of the slot counter (a hand-off
    # touches no counter; the read is at most once a second, and the lifecycle's clock stands still in a tick).
    assert 200 <= archive["dynamodb.GetItem"] <= 201 and archive["dynamodb.TransactWriteItems"] == 200
    extra = sosw_worker["calls_per_task"] - lifecycle_200["calls_per_task"]
    assert extra == pytest.approx(1.0, abs=0.02)


def test_ganger_makes_fewer_calls_per_task_than_sosw() -> None:
    ganger = run_ganger(60, measure_idle=False)
    sosw = run_sosw(60)
    assert sosw["verified"]["closed_completed"] == ganger["verified"]["closed_completed"] == 60
    assert ganger["calls_per_task"] < sosw["calls_per_task"]
    assert ganger["calls_per_task"] < sosw["calls_per_task_without_meta"]
