"""Worker: the base of a worker Lambda, speaking sosw's worker protocol.

The Orchestrator invokes a worker with the task's payload flattened into the event, plus
``task_id``, ``labourer_id``, ``attempts`` and ganger's ``invocation_token``. When ``process``
returns, the worker reports ``mark_task_as_completed`` to the WorkerAssistant (with the token, so
only this attempt can close the task); when it raises, ``mark_task_as_failed`` with the reason.
A failure is reported, not re-raised, so Lambda's own async retries never run the task twice.

When the event asks for it (``mark_start``: the labourer's ``marks_start``), the worker first marks the
attempt's start (``ganger.tasks.start_marks``) and runs only if its mark won: a repeated delivery of the
attempt, or one the Starter or the Scavenger already gave back, returns without running or reporting.

A report that cannot be sent (the Invoke is throttled or times out: ``ganger.transient``) is retried
with backoff within the Lambda's remaining time. It never raises into the Lambda runtime: that would make Lambda retry
the worker's own invocation and run the whole task again. When every attempt fails the worker logs
it and returns; the task expires and the Scavenger retries it.
"""

from __future__ import annotations

import json
import logging
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ganger.clients import AwsClients
from ganger.tasks.records import TableNames
from ganger.tasks.start_marks import MARK_START, Start, StartMarks
from ganger.transient import is_transient

logger = logging.getLogger(__name__)
DEFAULT_ASSISTANT = "sosw_worker_assistant"


@dataclass(frozen=True)
class ReportRetry:
    """How long a worker keeps trying to report: exponential backoff within its remaining time."""

    base_seconds: float = 0.25
    factor: float = 2.0
    cap_seconds: float = 8.0
    reserve_seconds: float = 1.0  # left to the runtime before the Lambda's timeout
    budget_seconds: float = 60.0  # when there is no Lambda context to ask for the remaining time

    def delay(self, attempt: int) -> float:
        """Seconds to wait after failed attempt number ``attempt`` (1-based)."""
        return float(min(self.cap_seconds, self.base_seconds * self.factor ** (attempt - 1)))

    def budget(self, context: Any) -> float:
        """Seconds this worker may spend reporting."""
        remaining = getattr(context, "get_remaining_time_in_millis", None)
        if remaining is None:
            return self.budget_seconds
        return max(0.0, float(remaining()) / 1000 - self.reserve_seconds)


ONE_ATTEMPT = ReportRetry(budget_seconds=0.0)


TASK_FIELDS = (
    "task_id", "labourer_id", "created_at", "greenfield", "attempts", "job_id", "invocation_token", MARK_START,
    "lane", "slot_lane", "key_slot",
)  # fmt: skip


def task_snapshot(event: dict[str, Any]) -> dict[str, Any] | None:
    """The task as the Orchestrator sent it (payload un-flattened), taken before ``process`` may change it.

    The WorkerAssistant archives it in one transaction, conditioned on the token, attempt and labourer."""
    try:
        payload = {k: v for k, v in event.items() if k not in TASK_FIELDS}
        snapshot = {
            "labourer_id": str(event["labourer_id"]),
            "attempts": int(event["attempts"]),
            "created_at": int(event["created_at"]),
            "greenfield": int(event["greenfield"]),
            "job_id": str(event.get("job_id", "")),
            "payload": json.dumps(payload, sort_keys=True, default=str),
        }
        for name in ("lane", "slot_lane"):  # a labourer's lanes (ganger.lanes): only when not lane 0's own
            if name in event:
                snapshot[name] = int(event[name])
        if "key_slot" in event:  # the concurrency key whose place the attempt holds (``ganger.keys``)
            snapshot["key_slot"] = str(event["key_slot"])
        return snapshot
    except (KeyError, TypeError, ValueError):
        return None  # not an event from ganger's Orchestrator: the report goes without a snapshot


class Worker:
    """Subclass and implement ``process(event) -> dict | None`` (the result)."""

    assistant_function: str = DEFAULT_ASSISTANT

    def __init__(
        self,
        clients: AwsClients | None = None,
        assistant_function: str | None = None,
        report_retry: ReportRetry | None = None,
        sleep: Callable[[float], None] = time.sleep,
        monotonic: Callable[[], float] = time.monotonic,
        tables: TableNames | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.clients = clients or AwsClients()
        self.tables = tables or TableNames.from_env()
        self._clock = clock
        if assistant_function:
            self.assistant_function = assistant_function
        self.report_retry = report_retry or ReportRetry()
        self._sleep, self._monotonic = sleep, monotonic
        self.stats: Counter[str] = Counter()
        self.context: Any = None

    def process(self, event: dict[str, Any]) -> dict[str, Any] | None:
        raise NotImplementedError

    def __call__(self, event: dict[str, Any], context: Any = None) -> dict[str, Any] | None:
        self.context = context
        self.stats = Counter()
        task_id = event.get("task_id") if isinstance(event, dict) else None
        self._task = task_snapshot(event) if task_id else None
        if task_id and event.get(MARK_START) and event.get("invocation_token") and not self.mark_start(event):
            return None
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

    def mark_start(self, event: dict[str, Any]) -> bool:
        """Mark the attempt's start; False when this delivery must not run it (see ``ganger.tasks.start_marks``)."""
        marks = StartMarks(self.clients.dynamodb, self.tables.tasks, clock=self._clock, sleep=self._sleep)
        return marks.start(str(event["task_id"]), str(event["invocation_token"])) is Start.RUN

    def report(
        self, action: str, event: dict[str, Any], result: dict[str, Any] | None = None, reason: str = ""
    ) -> bool:
        """Tell the WorkerAssistant (an asynchronous Invoke, as sosw's Worker does). False when it never got through."""
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
        return self._send(message)

    def _send(self, message: dict[str, Any]) -> bool:
        payload = json.dumps(message, default=str).encode()
        deadline = self._monotonic() + self.report_retry.budget(self.context)
        attempt = 0
        while True:
            attempt += 1
            try:
                self.clients.lambda_.invoke(
                    FunctionName=self.assistant_function, InvocationType="Event", Payload=payload
                )
                return True
            except Exception as exc:  # whatever the Invoke raises, it must not reach the Lambda runtime
                delay = self.report_retry.delay(attempt)
                if not is_transient(exc) or self._monotonic() + delay > deadline:
                    logger.error(
                        "task %s: could not report %s to %s after %d attempt(s), last error %s: %s; "
                        "the task will expire and be retried",
                        message["task_id"], message["action"], self.assistant_function, attempt,
                        type(exc).__name__, exc,
                    )  # fmt: skip
                    return False
                logger.warning("task %s: report attempt %d failed (%s); retrying in %.2f s",
                               message["task_id"], attempt, type(exc).__name__, delay)  # fmt: skip
                self._sleep(delay)
