"""WorkerAssistant: where workers report (sosw's events).

``{"action": "mark_task_as_completed" | "mark_task_as_failed", "task_id": ..., "stats": {...},
"result": {...}, "invocation_token": ...}``. Completion archives the task in one transaction,
conditioned on the reporting attempt still owning it, and in the same transaction hands the attempt's
slot to the labourer's next queued task, which it then dispatches (work-conserving: a labourer with a
backlog stays at its cap). A late or repeated report is recorded and changes nothing else. A failure
sends the task to the retry path at once and lets the freed slot start the next task.

The hand-off's transaction does not touch the slot counter (with the labourer's ``handoff_guard`` "cache", the
default): a hand-off keeps the count, and a lowered cap is seen through a per-container cache of the lanes'
counters (``ganger.slots.LaneCache``, read at most once a second), which makes the slot go back instead. An end
whose lane counter keeps conflicting is stored with the slot owed (``Ended.OWED``): the worker's outcome is
never lost to contention.
"""

from __future__ import annotations

import functools
import json
import logging
import random
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any, TypeVar

from aws_lambda_powertools import Logger
from botocore.exceptions import BotoCoreError, ClientError

from ganger import audit, constants
from ganger.backoff import Sleep, jittered_delay, real_sleep
from ganger.documents import WorkerAssistantConfig
from ganger.errors import InvalidEvent, TransientAwsError, UnknownLabourer
from ganger.labourer import Labourer
from ganger.lanes import parse_queue_key
from ganger.processor import Processor, handler_for
from ganger.retries import Retirer
from ganger.slots import LaneCache
from ganger.starts import Started
from ganger.tasks import STATUS_COMPLETED, Ended, Handoff, Task
from ganger.transient import is_transient

logger = logging.getLogger(__name__)
Logger(service="sosw_worker_assistant")

ACTIONS = ("mark_task_as_completed", "mark_task_as_failed")
_T = TypeVar("_T")
MAX_HANDOFF_TRIES = 3  # queued tasks tried from one read of the queue for an ending attempt's slot
HANDOFF_ROUNDS = 3  # reads of the queue (each after its candidates were all taken) before the slot goes back


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
    lanes = {name: raw[name] for name in ("lane", "slot_lane") if name in raw}
    for name, value in lanes.items():
        if not isinstance(value, int) or isinstance(value, bool) or value < 0:
            raise InvalidEvent(f"task.{name}", f"expected a non-negative integer, got {value!r:.60}")
    key_slot = raw.get("key_slot")
    if key_slot is not None and not isinstance(key_slot, str):
        raise InvalidEvent("task.key_slot", f"expected a string, got {type(key_slot).__name__}")
    labourer_id, lane = parse_queue_key(raw["labourer_id"])
    return Task(task_id, labourer_id, raw["created_at"], raw["greenfield"], attempts=raw["attempts"],
                payload=raw["payload"], job_id=raw.get("job_id", ""), lane=lanes.get("lane", lane),
                slot_lane=lanes.get("slot_lane"), key_slot=key_slot)  # fmt: skip


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
        self._lane_cache: LaneCache | None = None

    @property
    def lane_cache(self) -> LaneCache:
        """The lanes' counters as this container last read them (at most a second old)."""
        if self._lane_cache is None:
            self._lane_cache = LaneCache(self.store.slots, clock=self.config_clock)
        return self._lane_cache

    def _retrying(self, call: Callable[[], _T]) -> _T:
        return retrying(call, sleep=self.store.sleep, rand=self.store.rand)

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
        if snapshot is not None:
            outcome = self._complete(snapshot, report, now)
            if outcome != "lost":
                return self._done(snapshot, report, outcome)
        task = self._retrying(lambda: self.store.get(report.task_id))
        refusal = self._refusal(task, report)
        if refusal:
            return self._refused(report, refusal)
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
        if outcome.endswith("_owed"):  # stored; its slot given back later by the Scavenger
            self.stats["slots_owed"] += 1
            outcome = outcome.removesuffix("_owed")
        self.stats[outcome] += 1
        self.emit_metrics({"labourer": task.labourer_id}, {outcome.capitalize(): 1})
        self.audit.record(task.task_id, outcome, task.labourer_id, attempt=task.attempts)
        return {"task_id": report.task_id, "outcome": outcome}

    def _refusal(self, task: Task | None, report: Report) -> str:
        """Why a report is refused outright: no token, for a labourer whose workers always send it. The
        labourers come from the cached config document: no read per report."""
        if task is None or report.invocation_token is not None:
            return ""
        labourer = self.labourers().get(task.labourer_id)
        if labourer is None or not labourer.refuses_tokenless:
            return ""
        return (
            f"labourer {task.labourer_id}'s workers report with the attempt's invocation token "
            "(requires_token or marks_start): a report without one is refused"
        )

    def _refused(self, report: Report, reason: str) -> dict[str, Any]:
        """A report that changes nothing, not even the late-report counter: it did not come from the attempt."""
        logger.warning("report %s for task %s refused: %s", report.action, report.task_id, reason)
        self.stats["refused_reports"] += 1
        return {"task_id": report.task_id, "outcome": "refused", "reason": reason}

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

        ended = self._end_handing_off(task, close, now)
        if not ended.ended:
            return "lost"
        return "completed_owed" if ended is Ended.OWED else "completed"

    def _over_cap(self, task: Task, labourer_lanes: int, guard: str) -> bool:
        """With the "cache" guard: whether the slot lane's counter, as cached, is over its lowered cap."""
        if guard != "cache":
            return False
        try:
            return self.lane_cache.over_cap(task.labourer_id, labourer_lanes, task.holds_lane)
        except (ClientError, BotoCoreError) as exc:  # a hand-off keeps the count: it may go on without the read
            logger.warning("labourer %s: its counters could not be read (%s); handing off", task.labourer_id, exc)
            return False

    def _paused(self, labourer: Labourer) -> bool:
        """Whether the labourer's counters, as this container read them at most a second ago, say it is paused
        (``ganger labourers pause`` waits that second out before it returns). Unreadable: paused, to be safe:
        the slot then goes back to its counter, and a claim, which the counter's flag conditions, starts work."""
        try:
            return self.lane_cache.paused(labourer.id, labourer.lane_count)
        except (ClientError, BotoCoreError) as exc:
            logger.warning("labourer %s: its counters could not be read (%s); no hand-off", labourer.id, exc)
            return True

    def _end_handing_off(self, task: Task, end: Callable[[Handoff | None], Ended], now: float) -> Ended:
        labourer = self.labourers().get(task.labourer_id)
        if labourer is None or labourer.dispatch != "event":
            return self._retrying(lambda: end(None))
        if labourer.rate is not None:  # the slot goes back, then a claim takes it with a token (``ganger.rates``)
            self.stats["handoffs_rate_limited"] += 1
            ended = self._retrying(lambda: end(None))
            if ended is Ended.DONE:
                self.start_queued(labourer, now)
            return ended
        retired = task.holds_lane >= labourer.lane_count  # a slot of a lane the labourer no longer has
        paused = labourer.handoff_guard == "cache" and self._paused(labourer)
        if retired or paused or self._over_cap(task, labourer.lane_count, labourer.handoff_guard):
            self.stats["handoffs_declined"] += 1  # paused or the cap was lowered: the slot goes back instead
            ended = self._retrying(lambda: end(None))
            if ended is Ended.DONE:
                self.lane_cache.gave_back(task.labourer_id, task.holds_lane)
                if paused:  # a resume the cached read missed: the freed slot starts work (the claim checks the flag)
                    self.start_queued(labourer, now, limit=1)
            return ended
        tried = False
        for _ in range(HANDOFF_ROUNDS):  # a fresh read of the queue when every candidate was taken meanwhile
            candidates = self._candidates(labourer, now, task.holds_lane, task.key_slot)
            tried = tried or bool(candidates)
            outcome, again = self._hand_off(task, labourer, candidates, end)
            if outcome is not None:
                return outcome
            if not again or len(candidates) < MAX_HANDOFF_TRIES:
                break
        ended = self._retrying(lambda: end(None))
        if tried and ended is Ended.DONE:  # every candidate was taken: the free slots start tasks (this one,
            # and any that other lost hand-offs left in the counter, which nothing else would use before the tick)
            self.start_queued(labourer, now)
        return ended

    def _candidates(self, labourer: Labourer, now: float, lane: int, ending_key: str | None = None) -> list[Handoff]:
        try:
            return self.starter.handoff(labourer, now, lane, ending_key)[:MAX_HANDOFF_TRIES]
        except (ClientError, BotoCoreError) as exc:  # the report matters more than the hand-off
            logger.warning("labourer %s: no hand-off, the queue could not be read: %s", labourer.id, exc)
            return []

    def _hand_off(
        self, task: Task, labourer: Labourer, candidates: list[Handoff], end: Callable[[Handoff | None], Ended]
    ) -> tuple[Ended | None, bool]:
        """End the attempt handing its slot to the first candidate still queued: (how it ended, or None when
        every candidate was taken; whether another read of the queue is worth it: not when the guard's counter
        kept conflicting, then ``end(None)`` follows without a hand-off)."""
        for handoff in candidates:
            try:
                outcome = self._retrying(functools.partial(end, handoff))
            except TransientAwsError as exc:  # the guard's counter kept conflicting: end without handing off
                logger.warning("task %s: no hand-off (%s)", task.task_id, exc)
                return None, False
            if outcome is Ended.HANDED_OFF:
                if labourer.handoff_guard == "cache" and self._paused(labourer):  # paused meanwhile: not started
                    self._undo_handoff(labourer, handoff)
                    return outcome, False
                try:
                    started = self.starter.deliver(labourer, [handoff.claimed])
                    self.stats["handed_off"] += started.dispatched
                    self.count_start(started)
                except (ClientError, BotoCoreError) as exc:  # the report is stored: never raise after that
                    logger.warning("task %s was claimed but not dispatched (%s); it expires and is retried",
                                   handoff.task.task_id, exc)  # fmt: skip
                return outcome, False
            if outcome is Ended.NOT_OWNED:
                return outcome, False
        return None, True

    def _undo_handoff(self, labourer: Labourer, handoff: Handoff) -> None:
        """A hand-off claimed while a pause was being made: the claimed task goes back to the front of the queue
        undelivered, its attempt undone and the slot given back (as a failed dispatch's would)."""
        started = Started()
        try:
            self.starter.release(labourer, [handoff.claimed], started)
        except (ClientError, BotoCoreError) as exc:  # the report is stored: never raise after that
            logger.warning("task %s: not released (%s); it expires and is retried", handoff.task.task_id, exc)
        self.stats["handoffs_paused"] += started.released
        self.count_start(started)

    def _fail(self, task: Task, report: Report, now: float) -> str:
        labourer = self.labourers().get(task.labourer_id)
        if labourer is None:
            raise UnknownLabourer(task.labourer_id, sorted(self.labourers()))
        topic = self.config.dead_tasks_topic_arn or constants.getenv(constants.ENV_DEAD_TASKS_TOPIC) or ""
        retirer = Retirer(self.store, self.clients.sns if topic else None, topic)
        reason = f"worker reported failure: {report.reason or 'no reason given'}"
        outcome = retirer.retire(self._with_report(task, report), labourer, report.invocation_token, now, reason)
        if outcome == "lost":
            return outcome
        if retirer.owed:  # stored; its slot given back later by the Scavenger
            self.stats["slots_owed"] += retirer.owed
        else:  # the freed slot (and any other free one) takes a queued task
            self.start_queued(labourer, now)
        return {"retried": "failed_retried", "dead": "failed_dead"}.get(outcome, outcome)


def retrying(
    call: Callable[[], _T],
    attempts: int = 4,
    pause: float = 0.1,
    sleep: Sleep = real_sleep,
    rand: random.Random | None = None,
) -> _T:
    """A read or the archive transaction, again on a transient error (throttling, a timeout, a conflict) with
    jittered backoff: a report lost here costs a whole attempt. What still fails is left to Lambda's async
    retry. (An end whose counter only conflicts does not fail: it is stored with its slot owed.)"""
    rand = rand or random.Random()
    for attempt in range(attempts):
        try:
            return call()
        except (ClientError, BotoCoreError, TransientAwsError) as exc:
            if attempt == attempts - 1 or not (isinstance(exc, TransientAwsError) or is_transient(exc)):
                raise
            sleep(jittered_delay(attempt, rand, base=pause, cap=2.0))
    raise AssertionError("unreachable")


lambda_handler = handler_for(WorkerAssistant)
