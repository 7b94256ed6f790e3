"""Worker: the base of a worker Lambda, speaking sosw's worker protocol.

The Orchestrator invokes a worker with the task's payload flattened into the event, plus
``task_id``, ``labourer_id``, ``attempts`` and ganger's ``invocation_token``. When ``process``
returns, the worker reports ``mark_task_as_completed`` to the WorkerAssistant (with the token, so
only this attempt can close the task); when it raises, ``mark_task_as_failed`` with the reason.
A failure is reported, not re-raised, so Lambda's own async retries never run the task twice.
"""

from __future__ import annotations

import json
import logging
from collections import Counter
from typing import Any

from ganger.clients import AwsClients

logger = logging.getLogger(__name__)
DEFAULT_ASSISTANT = "sosw_worker_assistant"


TASK_FIELDS = ("task_id", "labourer_id", "created_at", "greenfield", "attempts", "job_id", "invocation_token")


def task_snapshot(event: dict[str, Any]) -> dict[str, Any] | None:
    """The task as the Orchestrator sent it (payload un-flattened), taken before ``process`` may change it.

    The WorkerAssistant archives it in one transaction, conditioned on the token, attempt and labourer."""
    try:
        payload = {k: v for k, v in event.items() if k not in TASK_FIELDS}
        return {
            "labourer_id": str(event["labourer_id"]),
            "attempts": int(event["attempts"]),
            "created_at": int(event["created_at"]),
            "greenfield": int(event["greenfield"]),
            "job_id": str(event.get("job_id", "")),
            "payload": json.dumps(payload, sort_keys=True, default=str),
        }
    except (KeyError, TypeError, ValueError):
        return None  # not an event from ganger's Orchestrator: the report goes without a snapshot


class Worker:
    """Subclass and implement ``process(event) -> dict | None`` (the result)."""

    assistant_function: str = DEFAULT_ASSISTANT

    def __init__(self, clients: AwsClients | None = None, assistant_function: str | None = None) -> None:
        self.clients = clients or AwsClients()
        if assistant_function:
            self.assistant_function = assistant_function
        self.stats: Counter[str] = Counter()
        self.context: Any = None

    def process(self, event: dict[str, Any]) -> dict[str, Any] | None:
        raise NotImplementedError

    def __call__(self, event: dict[str, Any], context: Any = None) -> dict[str, Any] | None:
        self.context = context
        self.stats = Counter()
        task_id = event.get("task_id") if isinstance(event, dict) else None
        self._task = task_snapshot(event) if task_id else None
        try:
            result = self.process(event)
        except Exception as exc:
            if not task_id:
                raise
            logger.exception("task %s failed", task_id)
            self.report("mark_task_as_failed", event, reason=f"{type(exc).__name__}: {exc}")
            return None
        if task_id:
            self.report("mark_task_as_completed", event, result=result or {})
        return result

    def report(
        self, action: str, event: dict[str, Any], result: dict[str, Any] | None = None, reason: str = ""
    ) -> None:
        """Tell the WorkerAssistant (an asynchronous Invoke, as sosw's Worker does)."""
        message: dict[str, Any] = {"action": action, "task_id": event["task_id"]}
        if event.get("invocation_token"):
            message["invocation_token"] = event["invocation_token"]
            snapshot = getattr(self, "_task", None)
            if snapshot is not None:
                message["task"] = snapshot
        if self.stats:
            message["stats"] = dict(self.stats)
        if result:
            message["result"] = result
        if reason:
            message["reason"] = reason[:1000]
        self.clients.lambda_.invoke(
            FunctionName=self.assistant_function,
            InvocationType="Event",
            Payload=json.dumps(message, default=str).encode(),
        )
