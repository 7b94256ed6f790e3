"""The chaos run on the contending DynamoDB (``--contention``): conflicts happen, and still nothing is lost,
run twice or counted wrong."""

from __future__ import annotations

import pytest

from benchmarks.chaos.run import run_chaos
from benchmarks.chaos.settings import ChaosSettings

TASKS = 300


@pytest.fixture(scope="module")
def contended_result() -> dict:
    return run_chaos(ChaosSettings(tasks=TASKS, seed=5, contention=True))


@pytest.mark.slow
def test_transactions_conflicted_as_on_aws(contended_result: dict) -> None:
    contention = contended_result["contention"]
    assert contention["transaction_conflicts"] > 0.1 * contention["transactions"], contention


@pytest.mark.slow
def test_contention_loses_nothing_and_runs_nothing_twice(contended_result: dict) -> None:
    assert contended_result["violations"] == 0, contended_result["violation_examples"]
    assert contended_result["completed"] + contended_result["dead"] == TASKS
    assert contended_result["reports_lost"] == 0
    assert contended_result["attempts_without_run"] == 0
