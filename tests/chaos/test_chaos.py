"""The chaos run, small enough for CI: about 1,000 tasks with faults in the API and in the workers."""

from __future__ import annotations

import pytest

from benchmarks.chaos.invariants import overlapping
from benchmarks.chaos.lambdas import Run
from benchmarks.chaos.run import run_chaos
from benchmarks.chaos.settings import ChaosSettings

TASKS = 1000


@pytest.fixture(scope="module")
def chaos_result() -> dict:
    return run_chaos(ChaosSettings(tasks=TASKS, seed=11))


@pytest.mark.slow
def test_chaos_run_loses_nothing_and_runs_nothing_twice(chaos_result: dict) -> None:
    lifecycle = [v for v in chaos_result["violation_examples"] if "without a worker run" not in v and " stat " not in v]
    assert chaos_result["violations_by_invariant"]["lifecycle"] == 0, lifecycle
    assert chaos_result["completed"] + chaos_result["dead"] == TASKS
    assert chaos_result["completed"] >= TASKS * 0.95, "most tasks complete despite the faults"


@pytest.mark.slow
def test_workers_report_through_gangers_worker_and_none_is_run_again_for_it(chaos_result: dict) -> None:
    assert chaos_result["worker_report_raises"] == 0
    assert chaos_result["worker_reruns_caused_by_report_failures"] == 0
    assert chaos_result["reports_lost_by"]["worker"] == 0
    retries = chaos_result["lambda_async_retries"]
    assert retries["maximum_retry_attempts"] == {"worker": 0, "assistant": 2, "orchestrator": 0, "scavenger": 0}
    assert retries["retried"].get("assistant:function_error", 0) > 0, "Lambda retried failed WorkerAssistant runs"


@pytest.mark.slow
def test_chaos_run_wastes_nothing_and_its_stats_count_every_move(chaos_result: dict) -> None:
    assert chaos_result["violations"] == 0, chaos_result["violation_examples"]
    assert chaos_result["attempts_without_run"] == 0
    assert chaos_result["reports_lost"] == 0
    assert chaos_result["violations_by_invariant"]["stats_equal_moves"] == 0, chaos_result["stats_against_moves"]


@pytest.mark.slow
def test_chaos_run_injected_the_promised_share_of_faults(chaos_result: dict) -> None:
    assert chaos_result["worker_fault_share"] >= 0.10
    assert chaos_result["api_fault_share"] >= 0.05
    assert all(n > 0 for n in chaos_result["worker_faults"].values()), chaos_result["worker_faults"]
    kinds = chaos_result["api_faults"]
    for kind in ("ThrottlingException", "ProvisionedThroughputExceededException", "TooManyRequestsException",
                 "ReadTimeoutError"):  # fmt: skip
        assert kinds.get(kind, 0) > 0, kinds
    events = chaos_result["events"]
    assert events.get("interleaved_queued", 0) > 0 and events.get("interleaved_expired", 0) > 0
    assert events.get("clock_jumps", 0) > 0
    assert chaos_result["retries"] > 0


def test_overlap_check_sees_a_second_attempt_that_starts_too_early() -> None:
    runs = [Run(1, 100.0, 160.0, "timeout"), Run(2, 150.0, 170.0, "ok"), Run(3, 200.0, 210.0, "ok")]
    assert overlapping(runs) == [(runs[0], runs[1])]
    assert overlapping([Run(1, 100.0, 160.0, "crash"), Run(2, 160.0, 170.0, "ok")]) == []


@pytest.mark.slow
def test_with_invoke_answers_lost_an_attempt_given_back_never_runs_beside_its_successor() -> None:
    """Half the injected timeouts happen after the call took effect: a labourer's Invoke delivered although the
    dispatcher saw it time out, so the attempt is given back while its event is on its way."""
    result = run_chaos(ChaosSettings(tasks=600, seed=7, lost_response_share=0.5))
    assert result["violations"] == 0, result["violation_examples"]
    assert result["attempts_without_run"] == 0
    assert sum(result["attempts_given_back"].values()) > 0
    assert result["deliveries_not_run_after_start_mark"] > 0, "late deliveries of given-back attempts were met"
