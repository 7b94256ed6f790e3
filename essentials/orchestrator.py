"""Orchestrator: dispatch queued tasks to each labourer within its limits.

It runs on the minute rule (the safety net: every labourer) and when nudged with
``{"labourer_id": ...}`` (one labourer; the Scheduler nudges it for a labourer whose slot counter has no
cap yet). For each labourer with queued tasks: cap = floor(max_simultaneous_invocations x
coefficient(health)) (a fleet: its capacity), written to the labourer's slot counter, and as many queued
tasks as the counter has free slots are claimed and dispatched in parallel; a failed dispatch goes back to
the front of the queue at once, and one labourer's failure never stops the others.

A labourer with several lanes (``ganger.lanes``) has its cap split over the lanes' counters (``split_cap``:
read with one BatchGetItem, written only where a lane's share changed), each lane's queue read (a Query per
lane), and its free slots planned lane by lane (``ganger.starts.plan_claims``). When the labourer's lanes are
lowered, the lanes beyond the new count are drained into the others (``drain_retired``), never stranded.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass, replace
from typing import Any

from aws_lambda_powertools import Logger

from ganger.documents import OrchestratorConfig
from ganger.ecology import Ecology
from ganger.errors import InvalidEvent
from ganger.fleet import fleet_capacity
from ganger.holds import startable_lanes
from ganger.labourer import Labourer
from ganger.lanes import lane_of, split_cap
from ganger.processor import Processor, handler_for
from ganger.slots import Slots
from ganger.starts import Started, plan_claims
from ganger.tasks import Task

logger = logging.getLogger(__name__)
LANE_CAP_TRIES = 5  # reads and conditional writes of one lane's counter while concurrent runs change it
Logger(service="sosw_orchestrator")
DRAIN_BATCH = 100  # rows of a retired lane moved per run
PACE_SECONDS = 50.0  # a pacer run's length (the function's timeout is 60 s), then its successor's
PACE_MARGIN_SECONDS = 8.0


def desired_invocations(max_simultaneous: int, coefficient: float, running: int) -> int:
    """How many tasks to dispatch now (never negative)."""
    return max(0, effective_cap(max_simultaneous, coefficient) - running)


def effective_cap(max_simultaneous: int, coefficient: float) -> int:
    """The most tasks the labourer may run at once at this health."""
    return max(0, math.floor(max_simultaneous * coefficient))


@dataclass
class LabourerRun:
    labourer_id: str
    status: int = 4
    cap: int = 0
    running: int = 0
    desired: int = 0
    claimed: int = 0
    dispatched: int = 0
    dispatch_errors: int = 0


class Orchestrator(Processor[OrchestratorConfig]):
    config_class = OrchestratorConfig
    default_function_name = "sosw_orchestrator"
    uses_labourers = True

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._lanes_confirmed: dict[str, int] = {}  # labourer -> lane count its counters were last seen to span

    def handle(self, event: Any) -> dict[str, Any]:
        config = self.config
        now = self.clock()
        if isinstance(event, dict) and event.get("action") == "pace":
            return {
                "paced": [self.pace(labourer) for labourer in self._selected(config, event)],
                "stats": dict(self.stats),
            }
        runs = []
        for labourer in self._selected(config, event):
            try:
                runs.append(self.run_labourer(labourer, config, now))
            except Exception:  # one labourer's failure never stops the others
                logger.exception("orchestrating labourer %s failed", labourer.id)
                self.stats["labourer_errors"] += 1
        return {"labourers": {r.labourer_id: r.__dict__ for r in runs}, "stats": dict(self.stats)}

    def _selected(self, config: OrchestratorConfig, event: Any) -> list[Labourer]:
        labourers = self.labourers()
        names = list(config.labourers) or list(labourers)
        nudged = event.get("labourer_id") if isinstance(event, dict) else None
        if nudged is not None:
            if not isinstance(nudged, str):
                raise InvalidEvent("labourer_id", f"expected a string, got {type(nudged).__name__}")
            if nudged not in names:
                logger.warning("nudged for labourer %s, which this Orchestrator does not run", nudged)
            names = [nudged] if nudged in names else []
        return [labourers[name] for name in names if name in labourers]

    def run_labourer(self, labourer: Labourer, config: OrchestratorConfig, now: float) -> LabourerRun:
        run = LabourerRun(labourer.id)
        lanes = labourer.lane_count
        per_lane = -(-labourer.max_simultaneous_invocations // lanes)
        queued = self._queues(labourer, now, per_lane)
        plan: dict[int, list[Task]] = {}
        if not any(queued) and self._drained_idle(labourer, now):  # tasks came back from lanes it no longer has
            queued = self._queues(labourer, now, per_lane)
        if any(queued):
            run.status = Ecology(self.clients.cloudwatch).status(labourer)
            coefficient = config.invocation_number_coefficient.get(str(run.status), 0.0)
            run.cap = effective_cap(self.concurrency(labourer), coefficient)
            counters = self.slots(labourer, run.cap, now)
            run.running = sum(slots.held for slots in counters)
            free = startable_lanes(counters)  # none while the labourer is paused
            startable = self.starter.within_keys(labourer, queued)  # max_per_key: each key's room (else no call)
            plan = plan_claims(free, startable)
            if self._short(plan, free, queued, per_lane):  # a lane's slots could take more of another's queue
                plan = plan_claims(
                    free, self.starter.within_keys(labourer, self.starter.read_queues(labourer, free, now))
                )
            run.desired = sum(len(tasks) for tasks in plan.values())
        if labourer.rate is not None and any(queued):  # within the bucket's tokens; the pacer starts the rest
            started = self.starter.fill(labourer, now) or Started()
            run.claimed, run.dispatched, run.dispatch_errors = started.claimed, started.dispatched, started.released
            self.count_start(started)
            self.pace_if_held(labourer, started)
        elif run.desired > 0:
            started = self.starter.start_planned(labourer, plan, now)
            run.claimed, run.dispatched, run.dispatch_errors = started.claimed, started.dispatched, started.released
            self.count_start(started)
        self.stats["dispatched"] += run.dispatched
        self.stats["dispatch_errors"] += run.dispatch_errors
        oldest = max((now - tasks[0].created_at for tasks in queued if tasks), default=0)
        self.emit_metrics(
            {"labourer": labourer.id},
            # Queued is what this run read: at most max_simultaneous_invocations (no extra count query).
            {"Dispatched": run.dispatched, "DispatchErrors": run.dispatch_errors, "Running": run.running,
             "Queued": sum(len(tasks) for tasks in queued), "OldestQueuedAge": oldest},
        )  # fmt: skip
        return run

    def pace(self, labourer: Labourer) -> dict[str, Any]:
        """Start a rate-limited labourer's backlog as its bucket refills (``ganger.rates``): holding the bucket's
        lease, fill its free slots within the tokens granted every ``pace_step`` seconds, until its queue is empty
        or it is paused; near the end of this run's time, hand on to a successor run. One run per labourer at a
        time: a run that finds the lease held does nothing."""
        rate, buckets = labourer.rate, self.store.rates
        if rate is None:
            return {"labourer_id": labourer.id, "paced": False}
        start = self.clock()
        until = start + max(1.0, min(PACE_SECONDS, self.remaining_seconds() - PACE_MARGIN_SECONDS))
        if not buckets.lease(labourer.id, start, until):
            self.stats["pace_lease_held"] += 1
            return {"labourer_id": labourer.id, "paced": False}
        steps = 0
        while True:
            now = self.clock()
            if now >= until - rate.pace_step:  # the successor takes over: the lease is given back first
                buckets.end_lease(labourer.id, until)
                self._nudged.discard(f"pace#{labourer.id}")
                self.pace_if_held(labourer, Started(rate_backlog=True, pacer_idle=True))
                break
            started = self.starter.fill(labourer, now)
            if started is None:  # no cap yet: the labourer's normal run sets it
                started = Started(rate_backlog=True)
                self._orchestrate_once(labourer, now)
            steps += 1
            self.stats["paced_starts"] += started.dispatched
            self.count_start(started)
            if not started.rate_backlog:  # the rate no longer holds the queue (empty, paused, or at its cap: then
                # completions start the next tasks, and a start that finds the rate binding again wakes a pacer)
                buckets.end_lease(labourer.id, until)
                break
            wake = max(now + rate.pace_step, started.next_start or 0.0)
            self.store.sleep(max(0.0, wake - self.clock()))
            if self.clock() < wake:  # a clock that does not move with the sleep (a test's): the tick goes on
                buckets.end_lease(labourer.id, until)
                break
        self.stats["pace_steps"] += steps
        return {"labourer_id": labourer.id, "paced": True, "steps": steps}

    def _orchestrate_once(self, labourer: Labourer, now: float) -> None:
        try:
            self.run_labourer(labourer, self.config, now)
        except Exception:  # the pacer's next step tries again
            logger.exception("orchestrating labourer %s for its pacer failed", labourer.id)

    def _queues(self, labourer: Labourer, now: float, limit: int) -> list[list[Task]]:
        """Each lane's queue front (a Query per lane; one lane: the labourer's one queue read, as always)."""
        if labourer.lane_count == 1:
            return [self.store.queued(labourer.id, now, limit=limit)]
        return [self.store.queued(labourer.id, now, limit, lane=lane) for lane in range(labourer.lane_count)]

    def _drained_idle(self, labourer: Labourer, now: float) -> bool:
        """An idle run still looks for lanes to drain (one GetItem of lane 0's counter, which records how many
        lanes the counters span), once per container and lane count: warm idle runs make no extra call. True when
        it moved tasks back into the labourer's lanes."""
        if self._lanes_confirmed.get(labourer.id) == labourer.lane_count:
            return False
        head = self.store.slots.read(labourer.id)
        if head is None or head.lanes <= labourer.lane_count:
            self._lanes_confirmed[labourer.id] = labourer.lane_count
            return False
        before = self.stats["moved_from_retired_lanes"]
        self.drain_retired(labourer, head.lanes, now)
        return self.stats["moved_from_retired_lanes"] > before

    @staticmethod
    def _short(plan: dict[int, list[Task]], free: list[int], queued: list[list[Task]], read: int) -> bool:
        """Whether some lane's free slots stay unplanned while another lane's queue was read only in part."""
        planned = sum(len(tasks) for tasks in plan.values())
        return planned < sum(free) and any(len(tasks) >= read for tasks in queued) and len(free) > 1

    def slots(self, labourer: Labourer, cap: int, now: float) -> list[Slots]:
        """The labourer's lane counters with ``cap`` split over them (``split_cap``): one read of them all, a
        write only for a lane whose share changed (each retried on transient errors). A counter is created at
        the first run with work; the tasks of its lane already invoked then (say by sosw's Orchestrator before a
        switch) hold their slots. Lanes the labourer no longer has are drained first (``drain_retired``), and
        the slots their tasks still hold are kept out of the other lanes' shares, so running stays <= cap."""
        counter = self.store.slots
        lanes = labourer.lane_count
        for _ in range(3):
            current = counter.read_lanes(labourer.id, lanes)
            seen = current[0].lanes if current[0] is not None else 1
            retired_held = self.drain_retired(labourer, seen, now) if seen > lanes else 0
            caps = split_cap(max(0, cap - retired_held), lanes)
            result: list[Slots] = []
            for lane, slots in enumerate(current):
                updated = self._lane_cap(labourer, lane, caps[lane], slots, now)
                if updated is None:
                    break
                result.append(self._follow_pause(labourer, updated))
            if len(result) == lanes:
                recorded = lanes <= seen or counter.record_lanes(labourer.id, lanes, seen)
                if lanes >= seen and recorded:
                    self._lanes_confirmed[labourer.id] = lanes
                return result
        raise RuntimeError(f"labourer {labourer.id}: its slot counters kept changing while its cap was set")

    def _follow_pause(self, labourer: Labourer, slots: Slots) -> Slots:
        """A pause or resume decided in the config (``paused``, stamped ``paused_at`` / ``resumed_at``) reaches the
        lane's counter, which every claim obeys, unless the counter holds a newer decision (``ganger labourers``
        sets both at once; a config read before that must not undo it). One UpdateItem, only on a change."""
        stamp, counter_stamp = labourer.pause_stamp, slots.pause_stamp
        unstamped = stamp == counter_stamp == 0 and labourer.paused != slots.paused  # a hand edit, never stamped
        if stamp <= counter_stamp and not unstamped:
            return slots
        if not self.store.slots.set_paused(labourer.id, slots.lane, labourer.paused, stamp, labourer.paused_reason):
            return slots
        self.stats["pauses_followed"] += 1
        return replace(slots, paused=labourer.paused, pause_stamp=stamp)

    def _lane_cap(self, labourer: Labourer, lane: int, cap: int, slots: Slots | None, now: float) -> Slots | None:
        """One lane's counter set to ``cap``; when a concurrent run changed it first (many nudged runs create a big
        labourer's counters at once), read that lane again and retry it alone, not every lane."""
        counter = self.store.slots
        for _ in range(LANE_CAP_TRIES):
            held = self.store.count_invoked(labourer.id, now, lane=lane) if slots is None else 0
            updated = counter.set_cap(labourer.id, cap, slots, held, lane)
            if updated is not None:
                return updated
            slots = counter.read(labourer.id, lane)
        return None

    def drain_retired(self, labourer: Labourer, seen: int, now: float) -> int:
        """Empty the lanes ``lane_count`` .. ``seen`` - 1 that a lowered ``lanes`` (or max_simultaneous_invocations,
        with "auto") left behind: their live tasks and retry rows move to the lane their id hashes to now, their
        owed slots are settled, and each one's cap follows the slots its tasks still hold down to 0 (no new claims
        there; an attempt holding one of its slots gives it back when it ends). Once they are empty the lower
        count is recorded and they are read no more. Returns the slots their tasks still hold."""
        counter = self.store.slots
        lanes = labourer.lane_count
        held_total, found = 0, 0
        for lane, slots in zip(range(lanes, seen), counter.read_lanes(labourer.id, seen, first=lanes), strict=True):
            found += self._move_lane(labourer, lane)
            held = max(0, slots.held) if slots is not None else 0
            if slots is not None and slots.cap != held:
                counter.set_cap(labourer.id, held, slots, 0, lane)
            held_total += held
        if found == 0 and held_total == 0:
            counter.record_lanes(labourer.id, lanes, seen)
            logger.info("labourer %s: lanes %d .. %d drained", labourer.id, lanes, seen - 1)
        return held_total

    def _move_lane(self, labourer: Labourer, lane: int) -> int:
        """Move a batch of one retired lane's rows to the labourer's lanes; returns how many rows it found."""
        lanes = labourer.lane_count
        live = self.store.live_in_lane(labourer.id, lane, DRAIN_BATCH)
        moved = sum(self.store.move_live(task, lane_of(task.task_id, lanes)) for task in live)
        retry, owed = self.store.retry_rows_in_lane(labourer.id, lane, DRAIN_BATCH)
        moved += sum(self.store.move_retry(task, lane_of(task.task_id, lanes)) for task in retry)
        if owed:
            self.stats["slots_settled"] += self.store.settle_owed(labourer.id, lane, owed)
        self.stats["moved_from_retired_lanes"] += moved
        return len(live) + len(retry) + len(owed)

    def concurrency(self, labourer: Labourer) -> int:
        """A fleet's follows its InService instances (one DescribeAutoScalingGroups); a Lambda's is configured."""
        if labourer.type == "fleet":
            return fleet_capacity(self.clients.get("autoscaling"), labourer)
        return labourer.max_simultaneous_invocations


lambda_handler = handler_for(Orchestrator)
