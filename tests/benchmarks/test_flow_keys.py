"""The concurrency-key workloads of ``benchmarks.flow_keys`` at small sizes, on the contending DynamoDB under
simulated time: a late key starts within about a task's duration behind another key's backlog, the slots stay
busy, and no key ever runs more than ``max_per_key``."""

from __future__ import annotations

import pytest

from benchmarks import flow_keys
from benchmarks.scale import _quiet
from benchmarks.workload import prepare_environment


@pytest.fixture(autouse=True)
def offline() -> None:
    prepare_environment()


def test_a_late_key_starts_at_once_behind_a_backlog_and_the_slots_stay_busy() -> None:
    with _quiet():
        figures = flow_keys.noisy_neighbour(backlog=500, late=5, late_at=3.0, cap=20, duration=1.0)
    assert figures["completed"] == 505 and figures["late_key_tasks_started"] == 5
    assert figures["late_key_start_p95_s"] <= 1.2, figures  # without keys: behind ~440 queued tasks, ~22 s
    assert figures["utilisation"] >= 0.9 and figures["max_running"] <= 20, figures


def test_no_key_runs_more_than_max_per_key() -> None:
    with _quiet():
        # fewer keys than cap / max_per_key: fair turns alone would let each key run 3 or 4 at once
        figures = flow_keys.per_key_cap(keys=3, per_key=10, max_per_key=2, cap=10, duration=1.0)
    assert figures["completed"] == 30 and figures["reruns"] == 0
    assert figures["max_running_per_key"] == 2 and figures["max_running"] == 6, figures
    assert flow_keys.checks({"per_key_cap": figures}) == {"per_key_cap": True}
