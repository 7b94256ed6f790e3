"""Redrive: a labourer's dead tasks back at the front of the queue with fresh attempts.

One implementation for `ganger tasks redrive` and the Scavenger's ``{"action": "redrive"}``.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from ganger.errors import GangerError
from ganger.task_state import CLOSED_STATUS, TaskState
from ganger.tasks import TaskStore

if TYPE_CHECKING:  # the mypy-boto3 stubs are a dev dependency
    from mypy_boto3_lambda import LambdaClient


def redrive_dead(
    store: TaskStore, labourer_id: str, since: float, limit: int, dry_run: bool = False, lanes: int = 1
) -> dict[str, Any]:
    """Dead tasks closed since ``since`` (at most ``limit``, over the labourer's ``lanes``): listed on a dry run,
    else moved back (each to its own lane) in transactions. Returns ``would_redrive``, or ``redriven`` and
    ``skipped`` (changed meanwhile)."""
    dead = store.closed(labourer_id, CLOSED_STATUS[TaskState.DEAD], since, limit=limit, lanes=lanes)
    if dry_run:
        return {"labourer_id": labourer_id, "would_redrive": [t.task_id for t in dead]}
    positions = store.reserve_positions(labourer_id, len(dead), front=True) if dead else []
    outcome = store.redrive(dead, positions)
    return {"labourer_id": labourer_id, "redriven": list(outcome.done), "skipped": list(outcome.lost)}


def redrive_via_scavenger(lambda_client: LambdaClient, function: str, event: dict[str, Any]) -> dict[str, Any]:
    """Ask the Scavenger Lambda to redrive (its permissions apply); its answer, or GangerError with its message."""
    response = lambda_client.invoke(FunctionName=function, Payload=json.dumps(event).encode())
    body = json.loads(response["Payload"].read() or b"null")
    if response.get("FunctionError"):
        message = body.get("errorMessage", body) if isinstance(body, dict) else body
        raise GangerError(f"the Scavenger `{function}` failed: {message}")
    return dict(body)
