"""Starting queued tasks in a labourer's free slots: claim (conditional, slot-counted), then dispatch in
parallel, and put back at the front of the queue what could not be delivered.

Every path that can make room or add work calls this: the Orchestrator (its minute tick and nudges), the
Scheduler when it has written tasks, the Scavenger when due retries are back in the queue or expired
attempts freed their slots, and the WorkerAssistant, which hands an ending attempt's slot straight to the
next queued task (``handoff``). The slot counter (``ganger.slots``) makes the cap hold across all of them.
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

from ganger.dispatch import Dispatcher, Dispatchers
from ganger.errors import DispatchError
from ganger.labourer import Labourer
from ganger.tasks import QUEUE_BASE, Handoff, Task, TaskStore
from ganger.transient import is_transient

logger = logging.getLogger(__name__)
_T = TypeVar("_T")

DEFAULT_POOL_SIZE = 32  # parallel Invokes per run: ~32 x 50/s at 20 ms per Invoke
HANDOFF_CANDIDATES = 4  # queued tasks read for a hand-off; concurrent hand-offs pick different ones


@dataclass
class Started:
    """What one start did."""

    claimed: int = 0
    dispatched: int = 0
    released: int = 0  # not delivered: back at the front of the queue, attempt and slot given back
    ambiguous: int = 0  # the dispatch may have been accepted: left invoked, to report or expire
    given_back: int = 0  # the dispatch's outcome was unknown and the worker had not started: released


class Starter:
    """Claims and dispatches a labourer's queued tasks within its free slots."""

    def __init__(
        self,
        store: TaskStore,
        dispatchers: Dispatchers,
        pool_size: int = DEFAULT_POOL_SIZE,
        rand: random.Random | None = None,
    ) -> None:
        self.store = store
        self.dispatchers = dispatchers
        self.pool_size = max(1, pool_size)
        self._rand = rand or random.Random()

    def fill(self, labourer: Labourer, now: float, limit: int | None = None) -> Started | None:
        """Start as many queued tasks as the labourer has free slots (at most ``limit``): a consistent read of
        the counter, then (only if a slot is free) one Query and the claims. None when the counter has no
        cap yet: only the Orchestrator, which knows the labourer's health, sets it."""
        slots = self.store.slots.read(labourer.id)
        if slots is None:
            return None
        want = slots.free if limit is None else min(limit, slots.free)
        if want <= 0:
            return Started()
        return self.start(labourer, self.store.queued(labourer.id, now, limit=want), now)

    def start(self, labourer: Labourer, tasks: Sequence[Task], now: float) -> Started:
        """Claim these queued tasks (as many as there are free slots) and dispatch them."""
        if not tasks:
            return Started()
        tokens = [uuid.uuid4().hex for _ in tasks]
        claimed = self.store.claim(tasks, now, tokens, labourer.invoked_greenfield(now))
        started = self.deliver(labourer, claimed)
        started.claimed = len(claimed)
        return started

    def handoff(self, labourer: Labourer, now: float) -> list[Handoff]:
        """Candidates to take an ending attempt's slot (one Query), in a random order so that attempts ending
        at the same moment try different tasks first."""
        queued = self.store.queued(labourer.id, now, limit=HANDOFF_CANDIDATES)
        self._rand.shuffle(queued)
        invoked = labourer.invoked_greenfield(now)
        return [Handoff(task, uuid.uuid4().hex, now, invoked) for task in queued]

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
        retrying transient errors; a task that still cannot be released expires and is retried. ``abandon``:
        their delivery is unknown, so each is given back only if its worker has not marked its start."""
        try:
            positions = self._with_retries(lambda: self.store.reserve_positions(labourer.id, len(failed), front=True))
        except (ClientError, BotoCoreError) as exc:
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
            except (ClientError, BotoCoreError) as exc:
                logger.warning("task %s: could not be released (%s); it expires and is retried", task.task_id, exc)

    def _with_retries(self, call: Callable[[], _T], attempts: int = 3) -> _T:
        for attempt in range(attempts):
            try:
                return call()
            except (ClientError, BotoCoreError) as exc:
                if attempt == attempts - 1 or not is_transient(exc):
                    raise
                time.sleep(0.05 * 2**attempt)
        raise AssertionError("unreachable")
