"""Scavenger: expired tasks to retry (backoff with full jitter) or dead; due retries to the front, and
started at once when their labourer has free slots (no wait for the Orchestrator's next tick). For a
labourer with ``marks_start``, an expired attempt that no worker started is given back to the queue
instead (``ganger.tasks.start_marks``): its attempt is not counted.

Each lane of a labourer (``ganger.lanes``) is scavenged under its own key. A lane's due-retries query also
finds the rows of slots owed to its counter (an end whose counter kept conflicting, ``Ended.OWED``): they are
given back in one transaction that deletes the rows, so each owed slot returns exactly once.

It also redrives dead tasks on request: ``{"action": "redrive", "labourer_id": ..., "since": epoch}``.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from aws_lambda_powertools import Logger

from ganger import constants
from ganger.documents import ScavengerConfig
from ganger.errors import InvalidEvent, UnknownLabourer
from ganger.labourer import Labourer
from ganger.ops.redrive import redrive_dead
from ganger.processor import Processor, handler_for
from ganger.retries import Retirer
from ganger.tasks import QUEUE_BASE, TransactOutcome

logger = logging.getLogger(__name__)
Logger(service="sosw_scavenger")


@dataclass
class ScavengeRun:
    labourer_id: str
    expired: int = 0
    retried: int = 0
    dead: int = 0
    requeued: int = 0
    lost: int = 0
    started: int = 0
    given_back: int = 0  # expired attempts no worker started (labourers with marks_start): not counted
    slots_settled: int = 0  # owed slots given back to their lanes' counters


class Scavenger(Processor[ScavengerConfig]):
    config_class = ScavengerConfig
    default_function_name = "sosw_scavenger"
    uses_labourers = True

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._soon: dict[str, set[int]] = {}  # labourer -> the seconds its retry rows fall due, this run

    def retirer(self, config: ScavengerConfig) -> Retirer:
        topic = config.dead_tasks_topic_arn or constants.getenv(constants.ENV_DEAD_TASKS_TOPIC) or ""
        return Retirer(self.store, self.clients.sns if topic else None, topic)

    def handle(self, event: Any) -> dict[str, Any]:
        if isinstance(event, dict) and event.get("action") == "redrive":
            return self.redrive(event)
        config = self.config
        now = self.clock()
        runs = []
        only = self._woken_for(event)
        self._soon = {}
        for labourer in self.labourers().values():
            if (config.labourers and labourer.id not in config.labourers) or (only and labourer.id != only):
                continue
            try:
                runs.append(self.scavenge(labourer, config, now))
            except Exception:
                logger.exception("scavenging labourer %s failed", labourer.id)
                self.stats["labourer_errors"] += 1
        self._wait_for_due(config, now)
        return {"labourers": {r.labourer_id: r.__dict__ for r in runs}, "stats": dict(self.stats)}

    @staticmethod
    def _woken_for(event: Any) -> str:
        """``{"action": "wake", "labourer_id": ...}`` (the Scheduler, for a delayed job due within a minute):
        that labourer only. Anything else: every labourer (the minute rule)."""
        if not isinstance(event, dict) or event.get("action") != "wake":
            return ""
        labourer_id = event.get("labourer_id")
        if not isinstance(labourer_id, str) or not labourer_id:
            raise InvalidEvent("labourer_id", "a wake needs the labourer's id")
        return labourer_id

    def _wait_for_due(self, config: ScavengerConfig, started: float) -> None:
        """Sleep to each second at which a labourer's retries or delayed tasks fall due (found by this run's
        due-retries queries, ``wake_ahead_seconds`` ahead), then put them back in the queue and start them, so
        that they start within about a second of their time. Stops before the function's time runs out; the
        next tick (or a wake) covers what lies beyond."""
        labourers = self.labourers()
        while self._soon:
            labourer_id, at = min(self._soon.items(), key=lambda item: min(item[1]))
            due = min(at)
            if due - started > config.wake_ahead_seconds or due - self.clock() > self.remaining_seconds() - 5:
                return
            self.store.sleep(max(0.0, due - self.clock()))
            now = self.clock()
            if now < due:  # a clock that does not move with the sleep (a test's): the next tick starts them
                return
            self._soon[labourer_id] = {t for t in at if t > now}
            if not self._soon[labourer_id]:
                del self._soon[labourer_id]
            labourer = labourers.get(labourer_id)
            if labourer is None:
                continue
            run = ScavengeRun(labourer_id)
            for lane in range(labourer.lane_count):
                self._requeue_lane(labourer, lane, config, now, run, ahead=0)
            if run.requeued or run.slots_settled:
                run.started = self.start_queued(labourer, now).dispatched
            self.stats["woken"] += 1

    def scavenge(self, labourer: Labourer, config: ScavengerConfig, now: float) -> ScavengeRun:
        """Stats count each move when it is made, and the metrics are sent even when the run fails part-way."""
        run = ScavengeRun(labourer.id)
        try:
            self._scavenge(labourer, config, now, run)
        finally:
            self.emit_metrics(
                {"labourer": labourer.id},
                {
                    "Expired": run.expired,
                    "Retried": run.retried,
                    "Dead": run.dead,
                    "Requeued": run.requeued,
                    "GivenBack": run.given_back,
                    "SlotsSettled": run.slots_settled,
                },
            )
        return run

    def _scavenge(self, labourer: Labourer, config: ScavengerConfig, now: float, run: ScavengeRun) -> None:
        retirer = self.retirer(config)
        lanes = labourer.lane_count
        expired = self.store.expired(labourer.id, now, labourer.running_after(now), config.batch_limit, lanes)
        run.expired = len(expired)
        self.stats["expired"] += run.expired
        for task in expired:
            if labourer.marks_start and self.store.abandon(task, QUEUE_BASE, now, labourer.max_attempts):
                run.given_back += 1  # back in the queue with its attempt: no worker ever started it
                self.stats["given_back"] += 1
                continue
            reason = f"attempt {task.attempts} expired after {labourer.duration + labourer.cooldown}s without a report"
            outcome = retirer.retire(task, labourer, task.invocation_token, now, reason)
            setattr(run, outcome, getattr(run, outcome) + 1)
            if outcome in ("retried", "dead"):
                self.stats[outcome] += 1
        if retirer.owed:
            self.stats["slots_owed"] += retirer.owed
        for lane in range(lanes):
            self._requeue_lane(labourer, lane, config, now, run, ahead=config.wake_ahead_seconds)
        if run.requeued or run.retried or run.dead or run.given_back or run.slots_settled:  # slots or tasks freed
            run.started = self.start_queued(labourer, now).dispatched

    def _requeue_lane(
        self, labourer: Labourer, lane: int, config: ScavengerConfig, now: float, run: ScavengeRun, ahead: float
    ) -> None:
        """One lane's due retries (and delayed tasks) back to the front of the queue, and its owed slots given
        back; the rows due within ``ahead`` seconds (the same query) are noted for ``_wait_for_due``."""
        rows, owed = self.store.due_in_lane(labourer.id, lane, now, config.batch_limit, ahead=ahead)
        due = [task for task in rows if (task.desired_launch_time or 0) <= now]
        soon = {task.desired_launch_time for task in rows if (task.desired_launch_time or 0) > now}
        if soon:
            self._soon.setdefault(labourer.id, set()).update(t for t in soon if t is not None)
        if owed:
            settled = self.store.settle_owed(labourer.id, lane, owed)
            run.slots_settled += settled
            self.stats["slots_settled"] += settled
        if due:
            positions = self.store.reserve_positions(labourer.id, len(due), front=True)
            requeued = TransactOutcome()
            try:
                self.store.requeue(due, positions, requeued)
            finally:  # a later batch may fail: the earlier ones are back in the queue and counted
                run.requeued += len(requeued.done)
                run.lost += len(requeued.lost)
                self.stats["requeued"] += len(requeued.done)

    def redrive(self, event: dict[str, Any]) -> dict[str, Any]:
        labourer_id = event.get("labourer_id")
        if not isinstance(labourer_id, str) or not labourer_id:
            raise InvalidEvent("labourer_id", "redrive needs the labourer's id")
        if labourer_id not in self.labourers():
            raise UnknownLabourer(labourer_id, sorted(self.labourers()))
        since = event.get("since", 0)
        limit = event.get("limit", 1000)
        if not isinstance(since, (int, float)) or isinstance(since, bool):
            raise InvalidEvent("since", "expected epoch seconds")
        if not isinstance(limit, int) or isinstance(limit, bool) or limit < 1:
            raise InvalidEvent("limit", "expected a positive integer")
        lanes = self.labourers()[labourer_id].lane_count
        result = redrive_dead(self.store, labourer_id, since, limit, dry_run=bool(event.get("dry_run")), lanes=lanes)
        if result.get("redriven"):  # back at the front of the queue: start them in free slots now
            self.start_queued(self.labourers()[labourer_id], self.clock())
        return result


lambda_handler = handler_for(Scavenger)
