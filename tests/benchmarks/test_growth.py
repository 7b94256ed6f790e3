"""Smoke version of the growth benchmark: each size in its own interpreter, the emulator in its own process.

``python -m benchmarks.compare --growth --sizes 1000,10000,100000 --json`` gives the full figures;
two small sizes here check that the default run measures ganger's process apart from the tables'.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from benchmarks.compare import growth
from benchmarks.workload import OFFLINE_ENV

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def small_growth() -> Iterator[dict[str, Any]]:
    with pytest.MonkeyPatch.context() as env:
        for name, value in OFFLINE_ENV.items():
            env.setenv(name, value)
        for name in ("AWS_PROFILE", "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_LAMBDA"):
            env.delenv(name, raising=False)
        yield growth([60, 240], timeout=300)


def test_each_size_closes_its_tasks_with_the_same_calls_per_task(small_growth: dict[str, Any]) -> None:
    runs = small_growth["runs"]
    assert [r.get("error") for r in runs] == [None, None]
    assert [r["tasks"] for r in runs] == [60, 240]
    assert small_growth["flat"]["calls_per_task_sizes"] == [60, 240]
    # a job's few fixed calls (its scheduling, the final reads) weigh a few percent at 60 tasks, not at 1,000
    assert abs(small_growth["flat"]["calls_per_task_change_percent"]) < 5
    assert small_growth["wall_seconds_all_sizes"] >= sum(r["wall_seconds"] for r in runs)


def test_by_default_the_tables_live_in_the_emulator_process_not_in_ganger(small_growth: dict[str, Any]) -> None:
    assert small_growth["emulator"] == "process"
    for run in small_growth["runs"]:
        assert run["emulator"]["where"] == "process"
        assert run["emulator"]["peak_rss_mb"] > 0 and run["peak_rss_mb"] > 0
    assert small_growth["flat"]["peak_rss_ratio"] < 1.5
