"""A call that took effect but whose response was lost (a read timeout) must not run a task twice at once."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

import botocore.client
from botocore.exceptions import ReadTimeoutError

from benchmarks.harness import Clock, InProcessSystem


@contextlib.contextmanager
def response_lost(service: str, operation: str, times: int = 1) -> Iterator[list[str]]:
    """The next ``times`` matching calls take effect, then raise ReadTimeoutError (outermost wrapper)."""
    original = botocore.client.BaseClient._make_api_call
    lost: list[str] = []

    def _make_api_call(client: Any, operation_name: str, params: dict[str, Any]) -> Any:
        result = original(client, operation_name, params)
        if client.meta.service_model.service_name == service and operation_name == operation and len(lost) < times:
            lost.append(str(params.get("FunctionName", "")))
            raise ReadTimeoutError(endpoint_url=f"https://{service}.us-east-1.amazonaws.com/")
        return result

    botocore.client.BaseClient._make_api_call = _make_api_call  # type: ignore[method-assign]
    try:
        yield lost
    finally:
        botocore.client.BaseClient._make_api_call = original  # type: ignore[method-assign]


def one_task_job() -> dict:
    return {"job": {"lambda_name": "example_worker", "payload": {"sections": ["a"], "isolate_sections": True}}}


def test_lost_report_response_closes_the_task_once(system: InProcessSystem, clock: Clock) -> None:
    reports: list[Any] = []
    system.register_worker("example_worker", lambda event, context: reports.append(event) or None)
    system.schedule(one_task_job())
    system.run("sosw_orchestrator")
    event = reports[0]
    report = {"action": "mark_task_as_completed", "task_id": event["task_id"],
              "invocation_token": event["invocation_token"]}  # fmt: skip
    assistant = system.essentials["sosw_worker_assistant"]
    with response_lost("dynamodb", "TransactWriteItems"):
        # The close took effect but its answer was lost; the WorkerAssistant sends the transaction again,
        # which finds the task already closed: the report is not raised into Lambda's retries.
        first = assistant(report, None)
    assert first["outcome"] == "late"
    again = assistant(report, None)  # a redelivery changes nothing either
    assert again["outcome"] == "late"
    closed = system.scan("sosw_closed_tasks")
    assert [(r["task_id"], r["labourer_id_task_status"]) for r in closed] == [(event["task_id"], "example_worker_1")]
    assert system.scan("sosw_tasks") == []


def test_lost_invoke_response_does_not_start_the_task_again_while_it_runs(
    system: InProcessSystem, clock: Clock
) -> None:
    runs: list[int] = []
    system.register_worker("example_worker", lambda event, context: runs.append(event["attempts"]))  # never reports
    system.schedule(one_task_job())
    with response_lost("lambda", "Invoke") as lost:
        system.run("sosw_orchestrator")  # Lambda accepted the Event invocation; the answer never came back
    assert lost == ["example_worker"] and runs == [1], "the worker was started once"
    clock.advance(20)  # well within duration + cooldown (90 s): the first run may still be working
    system.run("sosw_orchestrator")
    assert runs == [1], "the same task was started again while its first run was still working"
