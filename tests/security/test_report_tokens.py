"""Issue 25, finding 4: a report without the attempt's invocation token is refused for a labourer whose
workers always send it, so a role that may invoke the WorkerAssistant cannot end another labourer's
running task by its guessable id. sosw's own Worker (no token) keeps working for labourers that allow it."""

from __future__ import annotations

from typing import Any

import pytest

from benchmarks.harness import InProcessSystem
from tests.functional.conftest import EXAMPLE_LABOURER

TOKEN_LABOURER = {"example_worker": {**EXAMPLE_LABOURER["example_worker"], "requires_token": True}}
MARKING_LABOURER = {"example_worker": {**EXAMPLE_LABOURER["example_worker"], "marks_start": True}}


def _running_task(system: InProcessSystem, labourer: dict[str, Any]) -> dict[str, Any]:
    """One task of the example labourer, invoked; its worker's event is returned (the worker does nothing)."""
    system.set_labourers(labourer)
    events: list[dict[str, Any]] = []
    system.register_worker("example_worker", lambda event, context: events.append(event))
    system.schedule({"job": {"lambda_name": "example_worker", "payload": {"n": 1}}})
    system.tick()
    (event,) = events
    return event


def _report(system: InProcessSystem, event: dict[str, Any], action: str, **extra: Any) -> Any:
    return system.run("sosw_worker_assistant", {"action": action, "task_id": event["task_id"], **extra})


@pytest.mark.parametrize("labourer", [TOKEN_LABOURER, MARKING_LABOURER], ids=["requires_token", "marks_start"])
@pytest.mark.parametrize("action", ["mark_task_as_completed", "mark_task_as_failed"])
def test_a_report_without_the_token_is_refused_and_changes_nothing(
    system: InProcessSystem, labourer: dict[str, Any], action: str
) -> None:
    event = _running_task(system, labourer)
    before = system.scan("sosw_tasks")

    outcome = _report(system, event, action, reason="forged")

    assert outcome["outcome"] == "refused"
    assert "example_worker" in outcome["reason"] and "invocation token" in outcome["reason"]
    assert system.scan("sosw_tasks") == before  # not even a late-report counter
    assert system.scan("sosw_closed_tasks") == [] and system.scan("sosw_retry_tasks") == []


def test_a_report_with_a_wrong_token_is_ignored_and_the_right_one_completes(system: InProcessSystem) -> None:
    event = _running_task(system, TOKEN_LABOURER)

    wrong = _report(system, event, "mark_task_as_failed", invocation_token="0" * 32, reason="forged")
    (task,) = system.scan("sosw_tasks")
    assert wrong["outcome"] == "late" and "token does not match" in wrong["reason"]
    assert task["attempts"] == 1 and task["invocation_token"] == event["invocation_token"]
    assert system.scan("sosw_retry_tasks") == [] and system.scan("sosw_closed_tasks") == []

    right = _report(system, event, "mark_task_as_completed", invocation_token=event["invocation_token"])
    assert right["outcome"] == "completed"
    assert [row["task_id"] for row in system.scan("sosw_closed_tasks")] == [event["task_id"]]


def test_a_labourer_without_the_setting_still_takes_sosw_reports(system: InProcessSystem) -> None:
    event = _running_task(system, EXAMPLE_LABOURER)
    assert _report(system, event, "mark_task_as_completed")["outcome"] == "completed"
    assert [row["task_id"] for row in system.scan("sosw_closed_tasks")] == [event["task_id"]]
