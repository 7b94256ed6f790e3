"""`ganger cost`: units and dollars from a call profile, and the command's output."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ganger.cli.main import main
from ganger.cost import DEFAULT_PROFILE, Assumptions, CallProfile, Prices, report, units_for


def test_units_follow_the_item_model() -> None:
    units = units_for(DEFAULT_PROFILE, Assumptions())
    # 1000 scheduled (batch) + 3 counters, claims 1000 x 2 (transactional), archive 1000 x 2 items x 2
    assert units.write_units == 1000 + 3 + 2000 + 4000
    assert units.lambda_requests == 1001  # the reports and the scheduler; worker invocations are not ours
    assert units.lambda_gb_seconds == pytest.approx(1000 * 0.06 * 0.25)


def test_ganger_is_cheaper_than_step_functions_per_million_tasks() -> None:
    data = report()
    by_system = {e["system"]: e["per_million_tasks_usd"] for e in data["estimates"]}
    assert by_system["Step Functions Standard"] == pytest.approx(75.0)  # 3 transitions x $25 per million
    assert by_system["ganger (lambda labourer)"] == pytest.approx(4.377 + 0.044 + 0.2 + 0.25, abs=0.01)
    assert by_system["ganger (fleet labourer, SQS)"] - by_system["ganger (lambda labourer)"] == pytest.approx(1.2)
    assert data["prices"]["as_of"] == Prices().as_of


def test_cost_command_prints_the_table_and_json(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    assert main(["cost"]) == 0
    out = capsys.readouterr().out
    assert "orchestration cost per 1,000,000 tasks" in out
    assert ["Step", "Functions", "Standard", "75.00"] in [line.split() for line in out.splitlines()]

    bench = tmp_path / "bench.json"
    bench.write_text(json.dumps({"tasks": 10, "calls_by_phase_and_operation": {"report": {"lambda.Invoke": 10}}}))
    assert main(["cost", "--benchmark", str(bench), "--json", "--sfn-transitions", "4"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["tasks_measured"] == 10 and data["calls_per_task"] == 1.0
    assert data["estimates"][2]["per_million_tasks_usd"] == 100.0
    assert CallProfile.from_benchmark(bench).calls == {"report": {"lambda.Invoke": 10}}
