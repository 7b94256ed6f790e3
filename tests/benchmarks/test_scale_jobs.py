"""``python -m benchmarks.scale --jobs N``: each design and workload in a process of its own, as one run gives."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from benchmarks import scale

pytestmark = pytest.mark.slow


def test_jobs_run_each_design_in_a_process_of_its_own_and_keep_the_order(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def not_here(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("a run in the parent process")

    monkeypatch.setattr(scale, "run", not_here)  # the children import their own
    monkeypatch.setattr(scale, "prepare_environment", lambda: None)  # the children prepare theirs
    written = tmp_path / "scale.json"
    argv = ["--workloads", "latency", "--designs", "single,ganger", "--jobs", "2", "--write", str(written)]
    assert scale.main(argv) == 0
    results = json.loads(written.read_text())
    assert list(results["designs"]) == ["single", "ganger"], "the order asked for, not the order they ran in"
    for design in ("single", "ganger"):
        figures = results["designs"][design]["latency"]
        assert figures["completed"] == 3 and figures["error_count"] == 0
        assert figures["start_p50_s"] is not None and figures["start_p50_s"] < 1.0


def test_the_longest_runs_first() -> None:
    specs = [f"{d}:{w}" for d in ("single", "ganger") for w in ("cap100", "cap1k", "cap10k")]
    expected = ["ganger:cap10k", "single:cap10k", "ganger:cap1k"]
    assert sorted(specs, key=scale._expected_cost, reverse=True)[:3] == expected


def test_jobs_must_be_positive() -> None:
    with pytest.raises(SystemExit):
        scale.main(["--workloads", "latency", "--jobs", "0"])
