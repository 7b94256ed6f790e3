"""A labourer's slots: the hard cap on tasks running at once, kept in one counter item.

The item ``_ganger_slots#<labourer>`` in the tasks table holds ``slot_cap`` (the effective cap the
Orchestrator last computed: ``max_simultaneous_invocations`` x the health coefficient, or a fleet's
capacity) and ``free_slots`` (= cap - tasks holding a slot). Every change that starts a task takes a slot in
the same transaction (``free_slots >= n`` is its condition), every change that ends an invoked attempt
(completion, retry, dead, release) gives its slot back in the same transaction, and a change of cap
moves ``free_slots`` by the difference. So however many dispatch paths run at once, ``running <= cap``:
the counter is read consistently and written conditionally, where a count on the eventually
consistent greenfield index could lag behind a claim made a moment before.

A labourer with several lanes (``ganger.lanes``) has one counter per lane, ``_ganger_slots#<queue key>``, each
holding its lane's share of the cap, so that no one item takes every claim of the labourer; lane 0's is the
item above. A hand-off keeps the count and, with the labourer's ``handoff_guard`` "cache" (the default), does not
touch the counter at all: ``LaneCache`` tells the WorkerAssistant when a lowered cap wants the slot back.

The item has no ``labourer_id`` or ``greenfield``, so it never appears in (or costs a write to) the
greenfield index. DynamoDB conditions cannot add, which is why the item stores the free slots, not the running tasks.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

from botocore.exceptions import ClientError

from ganger.backoff import Sleep, jittered_delay, real_sleep
from ganger.lanes import queue_key
from ganger.transient import is_transient

logger = logging.getLogger(__name__)
CAP_CHANGE_ATTEMPTS = 6  # a cap change retried this often on a transient error (the counter is busy)
BATCH_GET_KEYS = 100

SLOTS_PREFIX = "_ganger_slots#"


@dataclass(frozen=True)
class Slots:
    """A labourer's counter as read (consistently)."""

    labourer_id: str
    cap: int
    free: int
    lane: int = 0
    lanes: int = 1  # lane 0's counter only: the most lanes the labourer's counters were set for (``ganger.lanes``)
    paused: bool = False  # the labourer is paused: no claim takes a slot of this lane (``set_paused``)
    pause_stamp: int = 0  # when the pause state last changed (the labourer's ``pause_stamp``; 0: never)

    @property
    def held(self) -> int:
        """Tasks holding a slot: invoked and not yet completed, retried, closed or released."""
        return self.cap - self.free


class SlotCounter:
    """Reads and writes of the slot counters, and the transaction items other changes include."""

    def __init__(self, dynamodb: Any, table: str, sleep: Sleep = real_sleep, rand: random.Random | None = None) -> None:
        self._ddb = dynamodb
        self.table = table
        self._sleep = sleep
        self._rand = rand or random.Random()

    @staticmethod
    def key(labourer_id: str, lane: int = 0) -> dict[str, Any]:
        return {"task_id": {"S": f"{SLOTS_PREFIX}{queue_key(labourer_id, lane)}"}}

    @staticmethod
    def _slots(labourer_id: str, lane: int, item: dict[str, Any] | None) -> Slots | None:
        if not item or "slot_cap" not in item:
            return None
        free = int(item.get("free_slots", {"N": "0"})["N"])
        lanes = int(item.get("lanes", {"N": "1"})["N"])
        stamp = int(item.get("pause_stamp", {"N": "0"})["N"])
        return Slots(labourer_id, int(item["slot_cap"]["N"]), free, lane, lanes, "paused" in item, stamp)

    def read(self, labourer_id: str, lane: int = 0) -> Slots | None:
        """The counter (one consistent GetItem), or None before the Orchestrator first set its cap."""
        key = self.key(labourer_id, lane)
        item = self._ddb.get_item(TableName=self.table, Key=key, ConsistentRead=True).get("Item")
        return self._slots(labourer_id, lane, item)

    def read_lanes(self, labourer_id: str, lanes: int, first: int = 0) -> list[Slots | None]:
        """The counters of lanes ``first`` .. ``lanes`` - 1: one consistent GetItem for one lane, else one
        consistent BatchGetItem (per 100)."""
        if lanes - first == 1:
            return [self.read(labourer_id, first)]
        found: dict[str, dict[str, Any]] = {}
        keys = [self.key(labourer_id, lane) for lane in range(first, lanes)]
        for start in range(0, len(keys), BATCH_GET_KEYS):
            request: dict[str, Any] = {
                self.table: {"Keys": keys[start : start + BATCH_GET_KEYS], "ConsistentRead": True}
            }
            attempt = 0
            while request:
                response = self._ddb.batch_get_item(RequestItems=request)
                for item in response.get("Responses", {}).get(self.table, []):
                    found[item["task_id"]["S"]] = item
                request = response.get("UnprocessedKeys") or {}
                if request:
                    self._sleep(jittered_delay(attempt, self._rand))
                    attempt += 1
        return [self._slots(labourer_id, first + i, found.get(key["task_id"]["S"])) for i, key in enumerate(keys)]

    def set_cap(self, labourer_id: str, cap: int, current: Slots | None, held: int, lane: int = 0) -> Slots | None:
        """Make the counter's cap ``cap``: create it (``held`` tasks already hold slots) or move ``free`` by the
        change. Conditional on the state read, so a concurrent change is never overwritten; None if one was.
        A transient error (the item held by a transaction, throttling) is retried with jittered backoff."""
        if current is not None and current.cap == cap:
            return current
        for attempt in range(CAP_CHANGE_ATTEMPTS):
            try:
                return self._set_cap(labourer_id, cap, current, held, lane)
            except ClientError as exc:
                if exc.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException":
                    return None
                if attempt == CAP_CHANGE_ATTEMPTS - 1 or not is_transient(exc):
                    raise
                self._sleep(jittered_delay(attempt, self._rand, base=0.05))
        raise AssertionError("unreachable")

    def _set_cap(self, labourer_id: str, cap: int, current: Slots | None, held: int, lane: int) -> Slots:
        if current is None:
            self._ddb.update_item(
                TableName=self.table,
                Key=self.key(labourer_id, lane),
                UpdateExpression="SET slot_cap = :cap, free_slots = :free",
                ConditionExpression="attribute_not_exists(slot_cap)",
                ExpressionAttributeValues={":cap": {"N": str(cap)}, ":free": {"N": str(cap - held)}},
            )
            return Slots(labourer_id, cap, cap - held, lane)  # a pause set before it was created: claims see it
        self._ddb.update_item(
            TableName=self.table,
            Key=self.key(labourer_id, lane),
            UpdateExpression="SET slot_cap = :cap ADD free_slots :delta",
            ConditionExpression="slot_cap = :old",
            ExpressionAttributeValues={
                ":cap": {"N": str(cap)},
                ":delta": {"N": str(cap - current.cap)},
                ":old": {"N": str(current.cap)},
            },
        )
        logger.info("labourer %s lane %d: cap %d -> %d", labourer_id, lane, current.cap, cap)
        return replace(current, cap=cap, free=current.free + cap - current.cap)

    def record_lanes(self, labourer_id: str, lanes: int, seen: int) -> bool:
        """Record on lane 0's counter that the labourer's counters now span ``lanes`` lanes (it was ``seen``):
        the Orchestrator drains the lanes beyond a lowered count before it records the lower one. Conditional
        on ``seen``; False when another run recorded first, or when the counter stayed held by transactions
        through every retry (the record is bookkeeping for a later drain: the next run records it)."""
        values: dict[str, Any] = {}
        update = "REMOVE lanes"
        if lanes > 1:
            update, values[":n"] = "SET lanes = :n", {"N": str(lanes)}
        condition = "attribute_not_exists(lanes)"
        if seen > 1:
            condition, values[":seen"] = "lanes = :seen", {"N": str(seen)}
        for attempt in range(CAP_CHANGE_ATTEMPTS):  # lane 0's counter is busy with claims: retry what is transient
            try:
                self._ddb.update_item(
                    TableName=self.table,
                    Key=self.key(labourer_id),
                    UpdateExpression=update,
                    ConditionExpression=f"attribute_exists(slot_cap) AND {condition}",
                    **({"ExpressionAttributeValues": values} if values else {}),
                )
                return True
            except ClientError as exc:
                if exc.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException":
                    return False
                if not is_transient(exc):
                    raise
                if attempt == CAP_CHANGE_ATTEMPTS - 1:
                    logger.warning("labourer %s: lane 0's counter busy; %d lanes recorded next run", labourer_id, lanes)
                    return False
                self._sleep(jittered_delay(attempt, self._rand, base=0.05))
        raise AssertionError("unreachable")

    def set_paused(self, labourer_id: str, lane: int, paused: bool, stamp: int, reason: str = "") -> bool:
        """Flag (or unflag) the lane's counter paused, as of ``stamp`` (when the operator decided it): one
        UpdateItem, conditional on no newer decision being recorded there, so a stale config never undoes a
        newer pause or resume. Works on a counter the Orchestrator has not created yet. False when a newer one
        was. Retried on transient errors (claims keep the counter busy)."""
        values: dict[str, Any] = {":s": {"N": str(stamp)}}
        update = "SET pause_stamp = :s REMOVE paused, pause_reason"
        if paused:
            update = "SET pause_stamp = :s, paused = :s, pause_reason = :r"
            values[":r"] = {"S": reason}
        for attempt in range(CAP_CHANGE_ATTEMPTS):
            try:
                self._ddb.update_item(
                    TableName=self.table,
                    Key=self.key(labourer_id, lane),
                    UpdateExpression=update,
                    ConditionExpression="attribute_not_exists(pause_stamp) OR pause_stamp <= :s",
                    ExpressionAttributeValues=values,
                )
                return True
            except ClientError as exc:
                if exc.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException":
                    return False
                if attempt == CAP_CHANGE_ATTEMPTS - 1 or not is_transient(exc):
                    raise
                self._sleep(jittered_delay(attempt, self._rand, base=0.05))
        raise AssertionError("unreachable")

    def take(self, labourer_id: str, count: int, lane: int = 0) -> dict[str, Any]:
        """A transaction item that takes ``count`` slots, only if that many are free and the labourer is not
        paused (the flag costs nothing extra: the claim writes this item anyway)."""
        return {
            "Update": {
                "TableName": self.table,
                "Key": self.key(labourer_id, lane),
                "UpdateExpression": "ADD free_slots :minus",
                "ConditionExpression": "free_slots >= :n AND attribute_not_exists(paused)",
                "ExpressionAttributeValues": {":minus": {"N": str(-count)}, ":n": {"N": str(count)}},
            }
        }

    def give(self, labourer_id: str, count: int = 1, lane: int = 0) -> dict[str, Any]:
        """A transaction item that gives ``count`` slots back (no condition: ending an attempt never waits)."""
        return {
            "Update": {
                "TableName": self.table,
                "Key": self.key(labourer_id, lane),
                "UpdateExpression": "ADD free_slots :n",
                "ExpressionAttributeValues": {":n": {"N": str(count)}},
            }
        }

    def within_cap(self, labourer_id: str, lane: int = 0) -> dict[str, Any]:
        """A transaction item that holds only while the lane is within its cap and not paused: a slot handed from
        an ending task to a queued one keeps the count, so it may pass only if the cap has not dropped below it."""
        return {
            "ConditionCheck": {
                "TableName": self.table,
                "Key": self.key(labourer_id, lane),
                "ConditionExpression": "free_slots >= :zero AND attribute_not_exists(paused)",
                "ExpressionAttributeValues": {":zero": {"N": "0"}},
            }
        }


HANDOFF_CACHE_SECONDS = 1.0  # how old the WorkerAssistant's read of the lane counters may be (``LaneCache``)


class LaneCache:
    """A labourer's lane counters as last read, at most ``ttl`` seconds old (one read per labourer per ``ttl``).

    The WorkerAssistant asks it whether a lane is over its cap before it hands an ending attempt's slot on
    (``handoff_guard`` "cache"): reads never conflict with transactions on DynamoDB, so the counter stays out of
    every completion's transaction. A cap lowered by the Orchestrator is seen by hand-offs within ``ttl``; with
    a constant cap nothing changes, since a hand-off keeps the count. One cache per container (thread-safe).
    """

    def __init__(
        self, counter: SlotCounter, clock: Callable[[], float] = time.monotonic, ttl: float = HANDOFF_CACHE_SECONDS
    ) -> None:
        self._counter = counter
        self._clock = clock
        self._ttl = ttl
        self._lock = threading.Lock()
        self._read: dict[str, tuple[float, list[Slots | None]]] = {}

    def lanes(self, labourer_id: str, lanes: int) -> list[Slots | None]:
        with self._lock:
            cached = self._read.get(labourer_id)
            now = self._clock()
            if cached is not None and now - cached[0] < self._ttl and len(cached[1]) >= lanes:
                return cached[1]
        slots = self._counter.read_lanes(labourer_id, lanes)
        with self._lock:  # aged from before the read: a read begun before a pause is never taken for a later one
            self._read[labourer_id] = (now, slots)
        return slots

    def paused(self, labourer_id: str, lanes: int) -> bool:
        """True when the labourer's counters, as last read (at most ``ttl`` old), say it is paused."""
        return any(slots is not None and slots.paused for slots in self.lanes(labourer_id, max(lanes, 1)))

    def over_cap(self, labourer_id: str, lanes: int, lane: int) -> bool:
        """True when the lane's counter, as last read, has fewer than no free slots (its cap was lowered)."""
        slots = self.lanes(labourer_id, max(lanes, lane + 1))
        current = slots[lane] if lane < len(slots) else None
        return current is not None and current.free < 0

    def gave_back(self, labourer_id: str, lane: int) -> None:
        """This container gave a slot of the lane back: count it in the cached read until the next one, so that
        one container gives back no more than the deficit it read (others' give-backs show at the next read)."""
        with self._lock:
            cached = self._read.get(labourer_id)
            if cached is None or lane >= len(cached[1]) or cached[1][lane] is None:
                return
            slots = list(cached[1])
            current = slots[lane]
            assert current is not None
            slots[lane] = replace(current, free=current.free + 1)
            self._read[labourer_id] = (cached[0], slots)
