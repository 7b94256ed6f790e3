"""The flow-control benchmark: its window count, its checks, and small runs of its workloads through the real
essentials on the contending DynamoDB."""

from __future__ import annotations

import pytest

from benchmarks.flow import CHECKS, WORKLOADS, Scale, max_in_window, run_all


def test_the_window_is_half_open_and_slides() -> None:
    assert max_in_window([0.0, 0.5, 0.99, 1.0, 1.2]) == 4  # [0.5, 1.5)
    assert max_in_window([0.0, 1.0, 2.0]) == 1


def test_a_workload_is_one_registered_function_with_its_check() -> None:
    assert set(WORKLOADS) >= {"rate", "priority", "pause", "delayed"}
    assert set(CHECKS) == set(WORKLOADS)
    assert not CHECKS["rate"]({"max_starts_in_1s": 101, "limit_1s": 100, "achieved_per_s": 50, "rate_per_s": 50})


@pytest.mark.slow
def test_small_runs_meet_the_issue_thresholds() -> None:
    results = run_all(["rate", "delayed"], Scale(0.05))
    rate, delayed = results["workloads"]["rate"], results["workloads"]["delayed"]
    assert rate["max_starts_in_1s"] <= rate["limit_1s"] == 100, rate
    assert rate["achieved_per_s"] >= 0.95 * rate["rate_per_s"], rate
    assert delayed["early_starts"] == 0 and delayed["late_p95_s"] <= 1, delayed
    assert results["checks"] == {"rate": True, "delayed": True}
    assert results["usd_per_million_tasks"] is not None and results["usd_per_million_tasks"] > 0
