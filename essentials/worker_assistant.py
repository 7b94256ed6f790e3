"""WorkerAssistant: where workers report (sosw's events).

``{"action": "mark_task_as_completed" | "mark_task_as_failed", "task_id": ..., "stats": {...},
"result": {...}, "invocation_token": ...}``. Completion archives the task in one transaction,
conditioned on the reporting attempt still owning it, and in the same transaction hands the attempt's
slot to the labourer's next queued task, which it then dispatches (work-conserving: a labourer with a
backlog stays at its cap). A late or repeated report is recorded and changes nothing else. A failure
sends the task to the retry path at once and lets the freed slot start the next task.
"""

from __future__ import annotations

import functools
import json
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any, TypeVar

from aws_lambda_powertools import Logger
from botocore.exceptions import BotoCoreError, ClientError

from ganger import audit, constants
from ganger.documents import WorkerAssistantConfig
from ganger.errors import InvalidEvent, TransientAwsError, UnknownLabourer
from ganger.processor import Processor, handler_for
from ganger.retries import Retirer
from ganger.tasks import STATUS_COMPLETED, Ended, Handoff, Task
from ganger.transient import is_transient

logger = logging.getLogger(__name__)
Logger(service="sosw_worker_assistant")

ACTIONS = ("mark_task_as_completed", "mark_task_as_failed")
_T = TypeVar("_T")
MAX_HANDOFF_TRIES = 2  # queued tasks tried for an ending attempt's slot before it goes back to the counter


@dataclass(frozen=True)
class Report:
    action: str
    task_id: str
    invocation_token: str | None = None
    stats: dict[str, Any] = field(default_factory=dict)
    result: dict[str, Any] = field(default_factory=dict)
    reason: str = ""
    task: Task | None = None  # ganger's Worker sends the task as it received it: completion needs no read


def _snapshot(event: dict[str, Any], task_id: str) -> Task | None:
    """The task a ganger Worker echoes (``task``), checked for shape; the archive's condition checks the rest."""
    raw = event.get("task")
    if raw is None:
        return None
    if not isinstance(raw, dict):
        raise InvalidEvent("task", f"expected an object, got {type(raw).__name__}")
    fields = {"labourer_id": str, "attempts": int, "created_at": int, "greenfield": int, "payload": str, "job_id": str}
    for name, kind in fields.items():
        value = raw.get(name, "" if kind is str and name == "job_id" else None)
        if not isinstance(value, kind) or isinstance(value, bool):
            raise InvalidEvent(f"task.{name}", f"expected {kind.__name__}, got {type(value).__name__}")
    return Task(task_id, raw["labourer_id"], raw["created_at"], raw["greenfield"], attempts=raw["attempts"],
                payload=raw["payload"], job_id=raw.get("job_id", ""))  # fmt: skip


def _object_field(event: dict[str, Any], name: str) -> dict[str, Any]:
    value = event.get(name)
    if value is None or value == "":
        return {}
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except json.JSONDecodeError as exc:
            raise InvalidEvent(name, f"a string that is not JSON ({exc.msg})") from exc
    if not isinstance(value, dict):
        raise InvalidEvent(name, f"expected an object (or its JSON string), got {type(value).__name__}")
    return value


def parse_report(event: Any) -> Report:
    """A typed report, or InvalidEvent naming the missing or bad field."""
    if isinstance(event, (str, bytes)):
        try:
            event = json.loads(event)
        except json.JSONDecodeError as exc:
            raise InvalidEvent("event", f"not JSON: {exc.msg}") from exc
    if not isinstance(event, dict):
        raise InvalidEvent("event", f"expected an object, got {type(event).__name__}")
    action = event.get("action")
    if action is None:
        raise InvalidEvent("action", "missing; expected one of " + ", ".join(ACTIONS))
    if action not in ACTIONS:
        raise InvalidEvent("action", f"unsupported {str(action)[:60]!r}; expected one of " + ", ".join(ACTIONS))
    task_id = event.get("task_id")
    if task_id is None:
        raise InvalidEvent("task_id", "missing")
    if not isinstance(task_id, str) or not task_id.strip() or len(task_id) > 1024:
        raise InvalidEvent("task_id", f"expected a non-empty string of at most 1024 characters, got {task_id!r:.60}")
    token = event.get("invocation_token")
    if token is not None and not isinstance(token, str):
        raise InvalidEvent("invocation_token", f"expected a string, got {type(token).__name__}")
    reason = event.get("reason", "")
    if not isinstance(reason, str):
        raise InvalidEvent("reason", f"expected a string, got {type(reason).__name__}")
    snapshot = _snapshot(event, task_id) if token is not None else None
    stats, result = _object_field(event, "stats"), _object_field(event, "result")
    return Report(action, task_id, token, stats, result, reason[:1000], snapshot)


class WorkerAssistant(Processor[WorkerAssistantConfig]):
    config_class = WorkerAssistantConfig
    default_function_name = "sosw_worker_assistant"
    uses_labourers = True  # an ending attempt hands its slot to the labourer's next task

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._audit: audit.AuditTrail | None = None

    @property
    def audit(self) -> audit.AuditTrail:
        """The optional audit trail: no calls at all unless $GANGER_AUDIT_TABLE is set."""
        if self._audit is None:
            self._audit = audit.trail(self.clients.dynamodb, self.config_store, clock=self.clock)
        return self._audit

    def handle(self, event: Any) -> dict[str, Any]:
        report = parse_report(event)
        now = self.clock()
        # With a snapshot: one transaction, conditioned on the token, attempt and labourer of the snapshot;
        # if it fails, the report is late (or the snapshot wrong) and the read below says which.
        snapshot = report.task if report.action == "mark_task_as_completed" else None
        if snapshot is not None and self._complete(snapshot, report, now) == "completed":
            return self._done(snapshot, report, "completed")
        task = retrying(lambda: self.store.get(report.task_id))
        late = self._late_reason(task, report, now)
        if late or task is None:
            return self._late(report, late, live=task is not None)
        if report.action == "mark_task_as_completed":
            outcome = self._complete(task, report, now)
        else:
            outcome = self._fail(task, report, now)
        if outcome == "lost":
            return self._late(report, "the task changed while the report was handled", live=True)
        return self._done(task, report, outcome)

    def _done(self, task: Task, report: Report, outcome: str) -> dict[str, Any]:
        self.stats[outcome] += 1
        self.emit_metrics({"labourer": task.labourer_id}, {outcome.capitalize(): 1})
        self.audit.record(task.task_id, outcome, task.labourer_id, attempt=task.attempts)
        return {"task_id": report.task_id, "outcome": outcome}

    @staticmethod
    def _late_reason(task: Task | None, report: Report, now: float) -> str:
        if task is None:
            return "the task is no longer live (closed or waiting for retry)"
        if task.is_queued(now):
            return "the task is queued again for a later attempt"
        if report.invocation_token is not None and report.invocation_token != task.invocation_token:
            return f"attempt token does not match the current attempt {task.attempts}"
        return ""

    def _late(self, report: Report, reason: str, live: bool) -> dict[str, Any]:
        recorded = self.store.record_late_report(report.task_id, report.action, live)
        logger.warning("late report %s for task %s ignored: %s", report.action, report.task_id, reason)
        self.stats["late_reports"] += 1
        return {"task_id": report.task_id, "outcome": "late", "reason": reason, "recorded": recorded}

    @staticmethod
    def _with_report(task: Task, report: Report) -> Task:
        """The task with the report's stats and result as sosw's ``stat_*`` / ``result_*`` attributes."""
        extra = dict(task.extra)
        extra.update({f"stat_{k}": v for k, v in report.stats.items()})
        extra.update({f"result_{k}": v for k, v in report.result.items()})
        return replace(task, extra=extra)

    def _complete(self, task: Task, report: Report, now: float) -> str:
        """Archive the task; its slot goes straight to the labourer's next queued task (claimed in the same
        transaction and dispatched here), or back to the counter when nothing is queued."""
        completed = self._with_report(task, report)

        def close(handoff: Handoff | None) -> Ended:
            return self.store.close(completed, report.invocation_token, STATUS_COMPLETED, now, handoff)

        return "completed" if self._end_handing_off(task, close, now).ended else "lost"

    def _end_handing_off(self, task: Task, end: Callable[[Handoff | None], Ended], now: float) -> Ended:
        labourer = self.labourers().get(task.labourer_id)
        if labourer is None or labourer.dispatch != "event":
            return retrying(lambda: end(None))
        try:
            candidates = self.starter.handoff(labourer, now)[:MAX_HANDOFF_TRIES]
        except (ClientError, BotoCoreError) as exc:  # the report matters more than the hand-off
            logger.warning("labourer %s: no hand-off, the queue could not be read: %s", labourer.id, exc)
            candidates = []
        for handoff in candidates:
            outcome = retrying(functools.partial(end, handoff))
            if outcome is Ended.HANDED_OFF:
                try:
                    started = self.starter.deliver(labourer, [handoff.claimed])
                    self.stats["handed_off"] += started.dispatched
                    if started.given_back:
                        self.stats["given_back"] += started.given_back
                except (ClientError, BotoCoreError) as exc:  # the report is stored: never raise after that
                    logger.warning("task %s was claimed but not dispatched (%s); it expires and is retried",
                                   handoff.task.task_id, exc)  # fmt: skip
                return outcome
            if outcome is Ended.NOT_OWNED:
                return outcome
        return retrying(lambda: end(None))

    def _fail(self, task: Task, report: Report, now: float) -> str:
        labourer = self.labourers().get(task.labourer_id)
        if labourer is None:
            raise UnknownLabourer(task.labourer_id, sorted(self.labourers()))
        topic = self.config.dead_tasks_topic_arn or constants.getenv(constants.ENV_DEAD_TASKS_TOPIC) or ""
        retirer = Retirer(self.store, self.clients.sns if topic else None, topic)
        reason = f"worker reported failure: {report.reason or 'no reason given'}"
        outcome = retirer.retire(self._with_report(task, report), labourer, report.invocation_token, now, reason)
        if outcome != "lost":  # the freed slot takes the next queued task
            self.start_queued(labourer, now, limit=1)
        return {"retried": "failed_retried", "dead": "failed_dead"}.get(outcome, outcome)


def retrying(call: Callable[[], _T], attempts: int = 4, pause: float = 0.1) -> _T:
    """A read or the archive transaction, again on a transient error (throttling, a timeout, a conflict) with
    backoff: a report lost here costs a whole attempt. What still fails is left to Lambda's async retry."""
    for attempt in range(attempts):
        try:
            return call()
        except (ClientError, BotoCoreError, TransientAwsError) as exc:
            if attempt == attempts - 1 or not (isinstance(exc, TransientAwsError) or is_transient(exc)):
                raise
            time.sleep(pause * 2**attempt)
    raise AssertionError("unreachable")


lambda_handler = handler_for(WorkerAssistant)
