"""The fleet scenario `ganger local --demo` runs, here on the in-process system."""

from __future__ import annotations

import pytest

from benchmarks.harness import Clock, InProcessSystem
from processors.demo.fleet import FleetScenarioContext, run_fleet_scenario


def test_fleet_scenario_scales_out_and_back(system: InProcessSystem, clock: Clock,
                                            monkeypatch: pytest.MonkeyPatch) -> None:  # fmt: skip
    monkeypatch.setenv("GANGER_CONFIG_TTL_SECONDS", "0")

    def tick() -> None:
        system.lam.drain()
        system.tick()

    ctx = FleetScenarioContext(system.clients, tick, advance=clock.advance, now=clock, tasks=60, max_size=4,
                               pause_seconds=0.2)  # fmt: skip
    result = run_fleet_scenario(ctx)

    assert result["ok"], result["summary"]
    assert result["completed"] == result["tasks"] == 60
    assert result["max_desired"] == 4 and result["final_desired"] == 0
    assert result["max_metric"] == 99.0 and result["final_metric"] == 0.0  # 60 < the empty group's floor of 99
    assert "0 -> 4 -> 0 instances" in result["summary"]
    closed = system.scan("sosw_closed_tasks")
    assert all(row["result_sum"] == 6 for row in closed)  # the sosw-protocol example worker ran on the fleet
