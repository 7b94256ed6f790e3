"""`ganger cost`: dollars from metered units, beside Step Functions and SQS + Lambda, and the command's output."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ganger.cli.main import main
from ganger.cost import Prices, UnitProfile, report

UNITS = {
    "dynamodb_table_write_units": 9000.0,  # per 1000 tasks
    "dynamodb_index_write_units": 5000.0,
    "dynamodb_read_units": 700.0,
    "lambda_requests": {"sosw_worker_assistant": 1000, "sosw_scheduler": 1, "bench_worker": 1000},
    "sqs_requests": 0,
}


def test_every_write_unit_counts_index_writes_included() -> None:
    data = report(UnitProfile(1000, UNITS, "test"))
    ganger = data["systems"]["ganger"]
    assert ganger["lines"]["dynamodb table writes"] == pytest.approx(9 * 0.625, abs=1e-3)
    assert ganger["lines"]["dynamodb index writes"] == pytest.approx(5 * 0.625, abs=1e-3)
    assert ganger["lines"]["dynamodb reads"] == pytest.approx(0.7 * 0.125, abs=1e-3)
    assert ganger["lines"]["lambda requests (essentials)"] == pytest.approx(1.001 * 0.2), "the worker is excluded"
    wa_gb_s = 1000 * 0.08 * 0.25 + 1 * 0.15 * 0.5
    assert ganger["lines"]["lambda GB-s (essentials)"] == pytest.approx(wa_gb_s * 1000 * 0.0000166667, abs=1e-3)
    assert ganger["units"]["dynamodb_index_write_units"] == 5.0  # per task


def test_the_alternatives_beside_ganger() -> None:
    systems = report(UnitProfile(1000, UNITS, "test"))["systems"]
    assert systems["Step Functions Standard"]["usd_per_million_tasks"] == pytest.approx(75.0, abs=1e-3)
    assert systems["Step Functions Express"]["usd_per_million_tasks"] == pytest.approx(
        1.0 + 2 * 0.0625 * 16.67, abs=1e-3
    )
    assert systems["SQS + Lambda event source mapping"]["usd_per_million_tasks"] == pytest.approx(1.2, abs=1e-3)
    fleet = systems["ganger (fleet labourer, SQS)"]["usd_per_million_tasks"]
    assert fleet - systems["ganger"]["usd_per_million_tasks"] == pytest.approx(1.2, abs=1e-3)
    assert report(UnitProfile(1000, UNITS, "t"))["prices"]["as_of"] == Prices().as_of


def test_cost_command_prints_the_table_and_json(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    assert main(["cost"]) == 0, "the recorded dispatch benchmark is the default profile"
    out = capsys.readouterr().out
    assert "orchestration cost per 1,000,000 tasks" in out
    assert ["Step", "Functions", "Standard", "75.00"] in [line.split() for line in out.splitlines()]

    bench = tmp_path / "bench.json"
    bench.write_text(json.dumps({"modes": {"event": {"throughput": {"tasks": 1000, "units": UNITS}}}}))
    assert main(["cost", "--benchmark", str(bench), "--json", "--sfn-transitions", "4"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert set(data) >= {"systems", "profile"} and str(bench) in data["profile"]
    assert data["systems"]["Step Functions Standard"]["usd_per_million_tasks"] == 100.0
    assert data["systems"]["ganger"]["usd_per_million_tasks"] > 0


def test_a_rate_limit_is_counted_per_task() -> None:
    from ganger.cost import report

    systems = report()["systems"]
    rated = systems["ganger (rate-limited labourer)"]
    assert rated["lines"]["rate limit: table writes"] == pytest.approx(5 * 0.625)
    assert rated["usd_per_million_tasks"] > systems["ganger"]["usd_per_million_tasks"] + 3
