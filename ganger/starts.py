"""Starting queued tasks in a labourer's free slots: claim (conditional, slot-counted), then dispatch in
parallel, and put back at the front of the queue what could not be delivered.

Every path that can make room or add work calls this: the Orchestrator (its minute tick and nudges), the
Scheduler when it has written tasks, the Scavenger when due retries are back in the queue or expired
attempts freed their slots, and the WorkerAssistant, which hands an ending attempt's slot straight to the
next queued task (``handoff``). The slot counter (``ganger.slots``) makes the cap hold across all of them.

A labourer with several lanes (``ganger.lanes``) is filled lane by lane: each lane with free slots claims its
own queue's front with its own counter, and a lane whose queue runs short takes queued tasks of other lanes
(``plan_claims``), so that the slots of an emptied lane keep working at the tail of a job.
"""

from __future__ import annotations

import functools
import logging
import random
import time
import uuid
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import TypeVar

from botocore.exceptions import BotoCoreError, ClientError

from ganger.backoff import Sleep, jittered_delay, real_sleep
from ganger.dispatch import Dispatcher, Dispatchers
from ganger.errors import DispatchError, TransientAwsError
from ganger.holds import startable_lanes
from ganger.keys import handoff_order, within_room
from ganger.labourer import Labourer
from ganger.priority import top_priority
from ganger.rates import RateGate
from ganger.tasks import QUEUE_BASE, Handoff, Task, TaskStore
from ganger.transient import is_transient

logger = logging.getLogger(__name__)
_T = TypeVar("_T")

DEFAULT_POOL_SIZE = 32  # parallel Invokes per run: ~32 x 50/s at 20 ms per Invoke
# queued tasks read for a hand-off (one Query): each hand-off tries them in a random order, so that the many
# attempts of a busy labourer ending at the same moment seldom reach for the same task
HANDOFF_CANDIDATES = 32
# a keyed labourer's hand-off candidates keep their queue order within a jitter of (lane cap / this) positions:
# a key at the front is taken within a few hand-offs, while attempts ending together still spread their tries
KEYED_WINDOW_DIVISOR = 10
KEY_SCAN_FACTOR = 4  # with max_per_key, a fill whose front tasks' keys are at their cap reads this much further
KEY_SCAN_LIMIT = 400  # ... at most this many queued tasks per lane
RELEASE_ATTEMPTS = 6  # a release (undelivered task back to the queue) tried this often on transient errors


@dataclass
class Started:
    """What one start did."""

    claimed: int = 0
    dispatched: int = 0
    released: int = 0  # not delivered: back at the front of the queue, attempt and slot given back
    ambiguous: int = 0  # the dispatch may have been accepted: left invoked, to report or expire
    given_back: int = 0  # the dispatch's outcome was unknown and the worker had not started: released
    release_failed: int = 0  # could not be released even after retries: left invoked, to expire and retry
    # a rate-limited labourer (``ganger.rates``): tasks stayed queued for want of tokens while slots were free, and
    # whether no pacer held the bucket's lease when it was read (then the caller wakes one)
    rate_backlog: bool = False
    pacer_idle: bool = False
    next_start: float | None = None  # when the bucket grants its next start (epoch seconds)

    def add(self, other: Started) -> None:
        for name in ("claimed", "dispatched", "released", "ambiguous", "given_back", "release_failed"):
            setattr(self, name, getattr(self, name) + getattr(other, name))


def plan_claims(free: Sequence[int], queued: Sequence[Sequence[Task]]) -> dict[int, list[Task]]:
    """Which queued tasks each lane claims with its free slots: its own queue's front first, then (a lane whose
    queue ran short) what the other lanes leave, so that no slot idles while any lane has queued work.
    ``free[k]``: lane k's free slots; ``queued[k]``: lane k's queued tasks read, front first. Pure."""
    lanes = len(free)
    plan: dict[int, list[Task]] = {}
    left: list[list[Task]] = []
    spare: list[int] = []
    for lane in range(lanes):
        own = list(queued[lane]) if lane < len(queued) else []
        take = max(0, min(free[lane], len(own)))
        if take:
            plan[lane] = own[:take]
        left.append(own[take:])
        spare.append(max(0, free[lane]) - take)
    for lane in range(lanes):
        while spare[lane] > 0:  # take from the lane with the most left (the nearest one on a tie)
            source = max(range(lanes), key=lambda j: (len(left[j]), -((j - lane) % lanes)))
            if not left[source]:
                break
            take = min(spare[lane], len(left[source]))
            plan.setdefault(lane, []).extend(left[source][:take])
            left[source] = left[source][take:]
            spare[lane] -= take
    return plan


class Starter:
    """Claims and dispatches a labourer's queued tasks within its free slots."""

    def __init__(
        self,
        store: TaskStore,
        dispatchers: Dispatchers,
        pool_size: int = DEFAULT_POOL_SIZE,
        rand: random.Random | None = None,
        sleep: Sleep = real_sleep,
        clock: Callable[[], float] | None = None,
    ) -> None:
        self.store = store
        self._clock = clock
        self.dispatchers = dispatchers
        self.pool_size = max(1, pool_size)
        self._rand = rand or random.Random()
        self._sleep = sleep

    def fill(self, labourer: Labourer, now: float, limit: int | None = None) -> Started | None:
        """Start as many queued tasks as the labourer has free slots (at most ``limit``): a consistent read of
        the lanes' counters (one call), then for each lane with a free slot one Query and the claims. None when
        a counter has no cap yet: only the Orchestrator, which knows the labourer's health, sets it."""
        counters = self.store.slots.read_lanes(labourer.id, labourer.lane_count)
        if any(slots is None for slots in counters):
            return None
        free = startable_lanes([slots for slots in counters if slots is not None])  # none while paused
        slots_free = sum(_at_most(free, limit)) if limit is not None else sum(free)
        if slots_free <= 0:  # at its cap, or paused: not even the rate's bucket is read
            return Started()
        gate = self._gate(labourer, now)
        granted = slots_free
        if gate is not None:  # read no more of the queue than the bucket grants
            granted = min(slots_free, gate.available())
            free = _at_most(free, granted)
        elif limit is not None:
            free = _at_most(free, limit)
        if sum(free) <= 0:  # held by the rate when slots are free but no token: the pacer starts them
            return self._rate_outcome(Started(), gate, now, backlog=slots_free > 0)
        queued = self.read_queues(labourer, free, now)
        full = sum(len(tasks) for tasks in queued) >= granted  # the queue may hold more than the tokens granted
        queued = self._within_key_caps(labourer, queued, free, now)
        started = self.start_planned(labourer, plan_claims(free, queued), now, gate)
        return self._rate_outcome(started, gate, now, (full and granted < slots_free) or started.rate_backlog)

    def _gate(self, labourer: Labourer, now: float) -> RateGate | None:
        """A rate-limited labourer's bucket as read now (one consistent GetItem); None without a rate."""
        if labourer.rate is None:
            return None
        return RateGate(self.store.rates, labourer.id, labourer.rate, now, clock=self._clock)

    @staticmethod
    def _rate_outcome(started: Started, gate: RateGate | None, now: float, backlog: bool) -> Started:
        if gate is not None:
            started.rate_backlog = backlog
            started.pacer_idle = gate.pacer_idle(now)
            started.next_start = gate.next_start()
        return started

    def _within_key_caps(
        self, labourer: Labourer, queued: list[list[Task]], free: list[int], now: float
    ) -> list[list[Task]]:
        """With ``max_per_key``: the queues cut to their keys' room, read deeper when keys at their cap left free
        slots unplanned. Without it, the queues as they are."""
        policy = labourer.key_policy
        if policy is None or not policy.capped:
            return queued
        read = sum(len(tasks) for tasks in queued)
        queued = self.within_keys(labourer, queued)
        if sum(len(tasks) for tasks in queued) < sum(free) and read >= sum(free):  # keys at their cap: further
            deeper = [min(KEY_SCAN_LIMIT, want * KEY_SCAN_FACTOR) for want in free]
            queued = self.within_keys(labourer, self.read_queues(labourer, deeper, now))
        return queued

    def within_keys(self, labourer: Labourer, queued: list[list[Task]]) -> list[list[Task]]:
        """Each lane's queued tasks cut to their keys' room under ``max_per_key`` (one consistent read of the keys'
        counters), the queue order kept, so that any claims planned from them keep every key within its cap.
        Without a per-key cap, the lists as they are (no call)."""
        policy = labourer.key_policy
        if policy is None or policy.max_per_key is None or not any(queued):
            return queued
        keys = {policy.key_of(task.payload) for tasks in queued for task in tasks}
        room = self.store.keys.room(labourer.id, keys, policy.max_per_key)
        cut: list[list[Task]] = []
        for tasks in queued:
            kept = within_room(tasks, lambda task: policy.key_of(task.payload), room)
            for task in kept:
                room[policy.key_of(task.payload)] -= 1
            cut.append(kept)
        return cut

    def read_queues(self, labourer: Labourer, free: Sequence[int], now: float) -> list[list[Task]]:
        """Each lane with free slots reads that many of its queue; when some lane's queue ran short, the other
        lanes are read further for it to take from (at the tail of a job: a Query per lane)."""
        queued: list[list[Task]] = [[] for _ in free]
        for lane, want in enumerate(free):
            if want > 0:
                queued[lane] = self.store.queued_in_lane(labourer.id, lane, now, limit=want)
        short = sum(max(0, want - len(queued[lane])) for lane, want in enumerate(free))
        if short <= 0 or len(free) == 1:
            return queued
        for lane in self._rand.sample(range(len(free)), len(free)):
            full = free[lane] == 0 or len(queued[lane]) == free[lane]  # its queue may hold more than it takes
            if full:
                queued[lane] = self.store.queued_in_lane(labourer.id, lane, now, limit=free[lane] + short)
                short -= max(0, len(queued[lane]) - free[lane])
            if short <= 0:
                break
        return queued

    def start_planned(
        self, labourer: Labourer, plan: dict[int, list[Task]], now: float, gate: RateGate | None = None
    ) -> Started:
        """Claim each lane's planned tasks with that lane's slots (and, for a rate-limited labourer, the tokens its
        bucket grants: the plan is cut to them), then dispatch them all in parallel."""
        started = Started()
        gate = gate or self._gate(labourer, now)
        if gate is not None:
            planned = sum(len(tasks) for tasks in plan.values())
            lengths = _at_most([len(plan.get(lane, [])) for lane in range(max(plan, default=-1) + 1)], gate.available())
            plan = {lane: plan[lane][:n] for lane, n in enumerate(lengths) if n > 0}
            started.rate_backlog = sum(lengths) < planned
        claimed: list[Task] = []
        for lane, tasks in sorted(plan.items()):
            claimed += self._claim(labourer, tasks, now, lane, gate)
        started.add(self.deliver(labourer, claimed))
        started.claimed = len(claimed)
        return started

    def start(self, labourer: Labourer, tasks: Sequence[Task], now: float, slot_lane: int = 0) -> Started:
        """Claim these queued tasks with lane ``slot_lane``'s slots (as many as are free) and dispatch them."""
        return self.start_planned(labourer, {slot_lane: list(tasks)} if tasks else {}, now)

    def _claim(
        self, labourer: Labourer, tasks: Sequence[Task], now: float, lane: int, gate: RateGate | None = None
    ) -> list[Task]:
        if not tasks:
            return []
        tokens = [uuid.uuid4().hex for _ in tasks]
        invoked = labourer.invoked_greenfield(now)
        return self.store.claim(tasks, now, tokens, invoked, slot_lane=lane, gate=gate, keys=labourer.key_policy)

    def handoff(
        self, labourer: Labourer, now: float, slot_lane: int = 0, ending_key: str | None = None
    ) -> list[Handoff]:
        """Candidates to take an ending attempt's slot (one Query), in a random order so that attempts ending
        at the same moment try different tasks first: the slot lane's queue, or when it is empty another
        lane's, picked at random (one more Query, at the tail of a job). Only the front's priority: a lower
        priority's task never takes a slot while a higher one is queued in the lane. With ``max_per_key``, each
        candidate takes its key's place (unless it shares ``ending_key``, the key the ending attempt holds), and
        the first candidate of another key is tried before those of the ending key (``ganger.keys.handoff_order``)."""
        queued = self.store.queued_in_lane(labourer.id, slot_lane, now, limit=HANDOFF_CANDIDATES)
        lanes = labourer.lane_count
        if not queued and lanes > 1:
            other = self._rand.choice([lane for lane in range(lanes) if lane != slot_lane] or [0])
            queued = self.store.queued_in_lane(labourer.id, other, now, limit=HANDOFF_CANDIDATES)
        queued = [queued[i] for i in top_priority([task.priority for task in queued])]  # higher priority first
        policy = labourer.key_policy
        if policy is None:
            self._rand.shuffle(queued)
        else:  # keys take turns at the front: keep the queue order, give or take a few positions
            window = max(1.0, labourer.max_simultaneous_invocations / labourer.lane_count / KEYED_WINDOW_DIVISOR)
            queued.sort(key=lambda task: task.greenfield + self._rand.uniform(0, window))
        invoked = labourer.invoked_greenfield(now)
        guard = labourer.handoff_guard
        if policy is None or policy.max_per_key is None:
            return [Handoff(task, uuid.uuid4().hex, now, invoked, slot_lane, guard) for task in queued]
        queued = handoff_order(queued, lambda task: policy.key_of(task.payload), ending_key)
        key_of = policy.key_of
        cap = policy.max_per_key
        return [Handoff(t, uuid.uuid4().hex, now, invoked, slot_lane, guard, key_of(t.payload), cap) for t in queued]

    def deliver(self, labourer: Labourer, claimed: Sequence[Task]) -> Started:
        """Dispatch claimed tasks (in parallel), then release those that were surely not delivered."""
        started = Started()
        if not claimed:
            return started
        dispatcher = self.dispatchers.for_labourer(labourer)
        many = getattr(dispatcher, "dispatch_many", None)
        ambiguous: list[Task] = []
        if many is not None:
            failed: list[Task] = list(many(labourer, claimed))
        else:
            failed, ambiguous = self._dispatch_each(dispatcher, labourer, claimed)
        started.dispatched = len(claimed) - len(failed) - len(ambiguous)
        if failed:
            self.release(labourer, failed, started)
        if ambiguous and labourer.marks_start:  # give back what no worker started; what one did, runs
            self.release(labourer, ambiguous, started, abandon=True)
        started.ambiguous = len(ambiguous) - started.given_back
        return started

    def _dispatch_each(
        self, dispatcher: Dispatcher, labourer: Labourer, claimed: Sequence[Task]
    ) -> tuple[list[Task], list[Task]]:
        """(the tasks surely not delivered, those whose delivery is unknown)."""

        def one(task: Task) -> str:
            try:
                dispatcher.dispatch(labourer, task)
                return "ok"
            except DispatchError as exc:
                if exc.ambiguous:  # Lambda may be running it: it reports, or expires (or is given back)
                    logger.warning("%s; %s", exc, "giving it back unless its worker started" if labourer.marks_start
                                   else "leaving the task invoked")  # fmt: skip
                    return "ambiguous"
                logger.warning("%s; returning the task to the front of the queue", exc)
                return "failed"

        if len(claimed) == 1 or self.pool_size == 1:
            results = [one(task) for task in claimed]
        else:
            with ThreadPoolExecutor(max_workers=min(self.pool_size, len(claimed))) as pool:
                results = list(pool.map(one, claimed))
        pairs = list(zip(claimed, results, strict=True))
        return [t for t, r in pairs if r == "failed"], [t for t, r in pairs if r == "ambiguous"]

    def release(self, labourer: Labourer, failed: Sequence[Task], started: Started, abandon: bool = False) -> None:
        """Put undelivered tasks back at the front, each on its own (one failing release never stops the others),
        retrying transient errors with jittered backoff; a task that still cannot be released is counted
        (``release_failed``) and left invoked, to expire and be retried. ``abandon``: their delivery is unknown,
        so each is given back only if its worker has not marked its start."""
        try:
            positions = self._with_retries(lambda: self.store.reserve_positions(labourer.id, len(failed), front=True))
        except (ClientError, BotoCoreError, TransientAwsError) as exc:
            logger.warning("labourer %s: no front positions (%s); releasing to the queue's base", labourer.id, exc)
            positions = [QUEUE_BASE] * len(failed)  # still below now: queued, ahead of every new task
        for task, position in zip(failed, positions, strict=True):
            if abandon:
                call = functools.partial(self.store.abandon, task, position, time.time(), labourer.max_attempts)
            else:
                call = functools.partial(self.store.release, task, position)
            try:
                if self._with_retries(call):
                    if abandon:
                        started.given_back += 1
                    else:
                        started.released += 1
            except (ClientError, BotoCoreError, TransientAwsError) as exc:
                started.release_failed += 1
                logger.warning("task %s: could not be released (%s); it expires and is retried", task.task_id, exc)

    def _with_retries(self, call: Callable[[], _T], attempts: int = RELEASE_ATTEMPTS) -> _T:
        for attempt in range(attempts):
            try:
                return call()
            except (ClientError, BotoCoreError, TransientAwsError) as exc:
                transient = isinstance(exc, TransientAwsError) or is_transient(exc)
                if attempt == attempts - 1 or not transient:
                    raise
                self._sleep(jittered_delay(attempt, self._rand, base=0.05))
        raise AssertionError("unreachable")


def _at_most(free: Sequence[int], limit: int) -> list[int]:
    """The lanes' free slots cut down to ``limit`` in all, taken from the lanes with the most free first."""
    left = max(0, limit)
    result = [0] * len(free)
    for lane in sorted(range(len(free)), key=lambda k: -free[k]):
        result[lane] = min(free[lane], left)
        left -= result[lane]
    return result
