"""The chaos harness's model of Lambda's async retries, and its two waste invariants, on small cases."""

from __future__ import annotations

from collections import Counter
from typing import Any

import pytest

from benchmarks.chaos.invariants import attempts_without_run, stat_mismatches
from benchmarks.chaos.lambdas import LambdaRetries, Run
from benchmarks.chaos.moves import TableMoves
from benchmarks.chaos.run import run_chaos
from benchmarks.chaos.settings import ChaosSettings


def test_lambda_retries_a_failed_event_one_then_two_minutes_later_then_gives_up() -> None:
    retries = LambdaRetries({"assistant": 2})
    event: dict[str, Any] = {"task_id": "t"}
    assert retries.failed("assistant", "wa", event, now=1000.0, cause="function_error")
    assert retries.due(1059.0) == [] and retries.due(1060.0) == [("wa", "function_error", event)]
    assert retries.failed("assistant", "wa", event, now=1065.0, cause="function_error")
    assert retries.due(1184.0) == [] and retries.due(1185.0) == [("wa", "function_error", event)]
    assert not retries.failed("assistant", "wa", event, now=1190.0, cause="function_error")
    assert retries.to_destination == {"assistant:function_error": 1}


def test_maximum_retry_attempts_zero_sends_the_event_straight_to_the_destination() -> None:
    retries = LambdaRetries({"worker": 0})
    assert not retries.failed("worker", "w", {}, now=0.0, cause="crash")
    assert retries.pending == [] and retries.to_destination == {"worker:crash": 1}


class _Chaos:
    """Just what the two checks read from a ChaosRun."""

    def __init__(self, runs: dict[str, list[Run]], stats: dict[tuple[str, str], int], moves: TableMoves) -> None:
        self.workers = type("W", (), {"runs": runs})()
        self.stats = stats
        self.moves = moves


def test_an_attempt_no_worker_ran_is_found_and_one_that_timed_out_is_told_apart() -> None:
    moves = TableMoves(set())
    moves.invoke_timeouts.add(("b", 1))
    chaos: Any = _Chaos({"a": [Run(1, 0, 1, "ok")], "b": [Run(2, 5, 6, "ok")]}, {}, moves)
    closed = [{"task_id": "a", "attempts": 1}, {"task_id": "b", "attempts": 2}, {"task_id": "c", "attempts": 1}]
    assert attempts_without_run(chaos, closed) == [("b", 1, True), ("c", 1, False)]


def test_a_stat_that_misses_moves_is_reported() -> None:
    moves = TableMoves({"w"})
    with moves.running("scavenger"):
        moves.note("TransactWriteItems", {"TransactItems": [{"Put": {"TableName": "sosw_retry_tasks", "Item": {}}}]})
        moves.note("TransactWriteItems", {"TransactItems": [{"Put": {"TableName": "sosw_retry_tasks", "Item": {}}}]})
    with moves.running("orchestrator"):
        moves.note("Invoke", {"FunctionName": "w"})
    chaos: Any = _Chaos({}, Counter({("scavenger", "retried"): 1, ("orchestrator", "dispatched"): 1}), moves)
    assert stat_mismatches(chaos) == ["scavenger stat retried = 1, but it made 2 such moves (to_retry)"]


@pytest.mark.slow
def test_a_worker_that_raises_when_its_report_fails_is_run_again_by_lambda(monkeypatch: pytest.MonkeyPatch) -> None:
    """What sosw-style workers did (the report's exception escaped): with Lambda's default retries for the
    labourer, every such raise reruns the task; ganger's Worker (the default) never raises."""
    from ganger.worker import Worker

    def report_or_raise(self: Worker, action: str, event: dict[str, Any], **kwargs: Any) -> bool:
        self.clients.lambda_.invoke(FunctionName=self.assistant_function, InvocationType="Event", Payload=b"{}")
        return True

    monkeypatch.setattr(Worker, "report", report_or_raise)
    retries = {"worker": 2, "assistant": 2, "orchestrator": 0, "scavenger": 0}
    settings = ChaosSettings(tasks=60, labourers=1, tasks_per_job=60, api_fault_rate=0.2, worker_fault_rate=0.0,
                             seed=3, lambda_retries=retries)  # fmt: skip
    result = run_chaos(settings)
    assert result["worker_report_raises"] > 0
    assert result["worker_reruns_caused_by_report_failures"] > 0
