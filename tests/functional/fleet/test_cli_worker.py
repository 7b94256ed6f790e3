"""`ganger worker --labourer NAME` itself: it runs the fleet's tasks until SIGTERM, then stops cleanly."""

from __future__ import annotations

import os
import signal
import threading
import time

import pytest

from benchmarks.harness import InProcessSystem
from ganger.cli.main import main
from ganger.tasks import STATUS_COMPLETED
from tests.functional.fleet import handlers
from tests.functional.fleet.conftest import FLEET, LABOURER, SETTINGS, deploy_fleet_stack


def test_worker_command_runs_tasks_and_stops_on_sigterm(
    system: InProcessSystem, monkeypatch: pytest.MonkeyPatch, tmp_path: object, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("GANGER_HOME", str(tmp_path))
    monkeypatch.setenv("GANGER_CONFIG_TTL_SECONDS", "0")
    handlers.reset()
    deploy_fleet_stack()
    system.set_labourers({FLEET: LABOURER})
    system.config.put("ganger_fleets", {"fleets": {FLEET: SETTINGS}})
    sections = {f"s{i}": None for i in range(6)}
    system.schedule({"job": {"lambda_name": FLEET, "payload": {"sections": sections, "isolate_sections": True}}})
    system.clients.get("autoscaling").set_desired_capacity(AutoScalingGroupName=FLEET, DesiredCapacity=1)

    def orchestrate_then_terminate() -> None:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and len(system.scan("sosw_closed_tasks")) < 6:
            system.lam.drain()
            system.tick()
            time.sleep(0.1)
        os.kill(os.getpid(), signal.SIGTERM)  # what systemd sends at scale-in

    previous = signal.getsignal(signal.SIGTERM), signal.getsignal(signal.SIGINT)
    driver = threading.Thread(target=orchestrate_then_terminate)
    driver.start()
    try:
        code = main(["worker", "--labourer", FLEET, "--aws"])
    finally:
        signal.signal(signal.SIGTERM, previous[0])
        signal.signal(signal.SIGINT, previous[1])
        driver.join()

    assert code == 0
    closed = system.scan("sosw_closed_tasks")
    assert len(closed) == 6 and {r["labourer_id_task_status"] for r in closed} == {f"{FLEET}_{STATUS_COMPLETED}"}
    out = capsys.readouterr().out
    assert f"fleet {FLEET}" in out and "2 slots" in out
    assert "stopped (2 slots finished, 0 tasks released)" in out


def test_worker_command_refuses_a_lambda_labourer(
    system: InProcessSystem, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: object
) -> None:
    monkeypatch.setenv("GANGER_HOME", str(tmp_path))
    assert main(["worker", "--labourer", "example_worker", "--aws"]) == 2
    assert "expected 'fleet'" in capsys.readouterr().err
