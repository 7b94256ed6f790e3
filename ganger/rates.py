"""Rate limits: a labourer's ``rate: {"per_second": R, "burst": B}`` held on every start path.

The bucket is one item per rate-limited labourer, ``_ganger_rate#<labourer>`` in the tasks table (no
``labourer_id`` or ``greenfield``: in no index), holding ``tat``, the *theoretical arrival time* of the generic
cell rate algorithm (GCRA, a token bucket kept as one timestamp, in microseconds). With T = 1/R and capacity
B (at least 1), n starts are granted at time t when ``max(tat, t) + n*T <= t + B*T``; they move ``tat`` to
``max(tat, t) + n*T``. So an idle labourer may start B tasks at once and then R a second: in any one-second
window at most R + B. Tokens refill by the clock alone: no process writes the item to refill it.

Every claim of a rate-limited labourer (the Scheduler's, the Orchestrator's, the Scavenger's, the pacer's)
reads the bucket (one consistent GetItem), claims at most what it grants, and writes the new ``tat`` in the
claim's own transaction, conditioned on the ``tat`` it read: a concurrent claim that took tokens first cancels
it, and it reads again. A rate-limited labourer has no hand-offs: the WorkerAssistant gives the ending attempt's
slot back and then claims queued tasks within the tokens (a claim like the Scheduler's). The bucket's writes are
one per claim transaction that starts something, so at most R a second, fewer when a claim takes several.

What starts a backlog as the bucket refills is the **pacer**: an Orchestrator run for one labourer
(``{"labourer_id": ..., "action": "pace"}``) that, holding a lease on the bucket item (``pacer_until``), fills
the labourer's free slots every ``pace_step`` seconds within the tokens granted, while the rate is what holds
its queue (free slots, no token), then stops; near the end of its time it invokes its successor. Whoever leaves
a rate-limited labourer's tasks queued for want of tokens while no pacer holds the lease wakes one.
"""

from __future__ import annotations

import json
import logging
import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import ClientError

from ganger import constants

logger = logging.getLogger(__name__)

RATE_PREFIX = "_ganger_rate#"
MICROS = 1_000_000
MAX_PER_SECOND = 100_000.0
MAX_BURST = 100_000
PACE_STEP_MIN = 0.1  # the pacer starts a batch at most every 0.1 s (R/10 tasks at a time)
PACE_STEP_MAX = 1.0
# Invokes leave a claim in parallel batches tens of milliseconds apart: the bucket keeps back what R starts in
# this long would add, so that the workers' own starts (not only the claims) stay within R + B in any second
DISPATCH_ALLOWANCE_S = 0.1


@dataclass(frozen=True)
class RateLimit:
    """``per_second`` starts a second (> 0; fractions allowed: 0.5 is one every 2 s) and ``burst`` (>= 1):
    how many may start at once after the labourer has been idle."""

    per_second: float
    burst: int = 1

    def __post_init__(self) -> None:
        if not math.isfinite(self.per_second) or not 0 < self.per_second <= MAX_PER_SECOND:
            raise ValueError(
                f"`per_second` must be a number above 0, at most {MAX_PER_SECOND:g}, got {self.per_second}"
            )
        if not 1 <= self.burst <= MAX_BURST:
            raise ValueError(f"`burst` must be an integer from 1 to {MAX_BURST}, got {self.burst}")

    @property
    def interval_us(self) -> int:
        """T, microseconds between starts (rounded up: never faster than R)."""
        return math.ceil(MICROS / self.per_second)

    @property
    def capacity(self) -> int:
        """Starts granted at once to an idle labourer: the burst less the dispatch allowance, at least 1."""
        return max(1, self.burst - math.floor(self.per_second * DISPATCH_ALLOWANCE_S))

    @property
    def pace_step(self) -> float:
        """How often the pacer starts a batch: every 1/R seconds, at least 0.1 s apart, at most 1 s."""
        return min(PACE_STEP_MAX, max(PACE_STEP_MIN, 1.0 / self.per_second))

    def grantable(self, tat: int | None, now_us: int) -> int:
        """How many starts the bucket grants now (never negative)."""
        start = max(tat or 0, now_us)
        return max(0, (now_us + self.capacity * self.interval_us - start) // self.interval_us)

    def after(self, tat: int | None, now_us: int, count: int) -> int:
        """``tat`` after ``count`` starts granted now."""
        return max(tat or 0, now_us) + count * self.interval_us

    def next_start(self, tat: int | None, now_us: int) -> float:
        """When (epoch seconds) the bucket next grants a start: now, or when one token has refilled."""
        return max(now_us, (tat or 0) + self.interval_us - self.capacity * self.interval_us) / MICROS


def micros(now: float) -> int:
    return int(now * MICROS)


@dataclass(frozen=True)
class Bucket:
    """The bucket item as read: ``tat`` (None: never taken) and the pacer's lease (epoch seconds, 0: none)."""

    labourer_id: str
    tat: int | None = None
    pacer_until: float = 0.0


class RateBuckets:
    """The bucket items in the tasks table: reads, the claim's transaction item, the pacer's lease."""

    def __init__(self, dynamodb: Any, table: str) -> None:
        self._ddb = dynamodb
        self.table = table

    @staticmethod
    def key(labourer_id: str) -> dict[str, Any]:
        return {"task_id": {"S": f"{RATE_PREFIX}{labourer_id}"}}

    def read(self, labourer_id: str) -> Bucket:
        """One consistent GetItem."""
        item = self._ddb.get_item(TableName=self.table, Key=self.key(labourer_id), ConsistentRead=True).get("Item")
        if not item:
            return Bucket(labourer_id)
        tat = int(item["tat"]["N"]) if "tat" in item else None
        return Bucket(labourer_id, tat, float(item.get("pacer_until", {"N": "0"})["N"]))

    def take(self, bucket: Bucket, new_tat: int) -> dict[str, Any]:
        """The transaction item that moves ``tat`` to ``new_tat``, only if it is still what ``bucket`` read."""
        values: dict[str, Any] = {":new": {"N": str(new_tat)}}
        condition = "attribute_not_exists(tat)"
        if bucket.tat is not None:
            condition, values[":old"] = "tat = :old", {"N": str(bucket.tat)}
        return {
            "Update": {
                "TableName": self.table,
                "Key": self.key(bucket.labourer_id),
                "UpdateExpression": "SET tat = :new",
                "ConditionExpression": condition,
                "ExpressionAttributeValues": values,
            }
        }

    def lease(self, labourer_id: str, now: float, until: float) -> bool:
        """Take the pacer's lease until ``until`` unless a live pacer holds it (one conditional UpdateItem)."""
        try:
            self._ddb.update_item(
                TableName=self.table,
                Key=self.key(labourer_id),
                UpdateExpression="SET pacer_until = :until",
                ConditionExpression="attribute_not_exists(pacer_until) OR pacer_until < :now",
                ExpressionAttributeValues={":until": {"N": str(until)}, ":now": {"N": str(now)}},
            )
            return True
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException":
                return False
            raise

    def end_lease(self, labourer_id: str, until: float) -> None:
        """Give the lease back (only the one this pacer holds), so that the next start may wake a pacer at once."""
        try:
            self._ddb.update_item(
                TableName=self.table,
                Key=self.key(labourer_id),
                UpdateExpression="SET pacer_until = :zero",
                ConditionExpression="pacer_until = :until",
                ExpressionAttributeValues={":zero": {"N": "0"}, ":until": {"N": str(until)}},
            )
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") != "ConditionalCheckFailedException":
                logger.warning("labourer %s: the pacer's lease was not given back (%s); it runs out", labourer_id, exc)


class RateGate:
    """One start's view of a rate-limited labourer's bucket: what it grants now, the transaction item that takes
    it, and a fresh read when a concurrent claim took tokens first (``ganger.tasks.changes`` uses it)."""

    def __init__(
        self,
        buckets: RateBuckets,
        labourer_id: str,
        rate: RateLimit,
        now: float,
        clock: Callable[[], float] | None = None,
    ) -> None:
        self.buckets = buckets
        self.labourer_id = labourer_id
        self.rate = rate
        self._clock = clock
        self.now_us = micros(now)
        self.bucket = buckets.read(labourer_id)
        self.taken = 0

    def _tick(self) -> None:
        """Grant as of the time of the claim itself (a run's reads take time; a grant as of its start would let
        the claim's Invokes land later than the bucket counts them, bunching starts)."""
        if self._clock is not None:
            self.now_us = max(self.now_us, micros(self._clock()))

    def available(self) -> int:
        return self.rate.grantable(self.bucket.tat, self.now_us)

    def item(self, count: int) -> dict[str, Any]:
        return self.buckets.take(self.bucket, self.rate.after(self.bucket.tat, self.now_us, count))

    def committed(self, count: int) -> None:
        """The claim that took ``count`` committed: the bucket as it now is."""
        tat = self.rate.after(self.bucket.tat, self.now_us, count)
        self.bucket = Bucket(self.labourer_id, tat, self.bucket.pacer_until)
        self.taken += count

    def refresh(self) -> int:
        """Read the bucket again (a concurrent claim moved it); what it grants now."""
        self.bucket = self.buckets.read(self.labourer_id)
        self._tick()
        return self.available()

    def fresh(self) -> int:
        """What the bucket as read grants at the clock's time now (before a claim's transaction)."""
        self._tick()
        return self.available()

    def pacer_idle(self, now: float) -> bool:
        return self.bucket.pacer_until < now

    def next_start(self) -> float:
        return self.rate.next_start(self.bucket.tat, self.now_us)


def pace_event(labourer_id: str, by: str) -> bytes:
    return json.dumps({"labourer_id": labourer_id, "action": "pace", "nudged_by": by}).encode()


def wake_pacer(lambda_client: Any, labourer_id: str, by: str) -> None:
    """Invoke the Orchestrator (Event) to pace one labourer; a pacer already holding the lease makes it a no-op."""
    function = constants.getenv(constants.ENV_ORCHESTRATOR_FUNCTION) or constants.DEFAULT_ORCHESTRATOR_FUNCTION
    lambda_client.invoke(FunctionName=function, InvocationType="Event", Payload=pace_event(labourer_id, by))
