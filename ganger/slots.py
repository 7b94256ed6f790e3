"""A labourer's slots: the hard cap on tasks running at once, kept in one counter item.

The item ``_ganger_slots#<labourer>`` in the tasks table holds ``slot_cap`` (the effective cap the
Orchestrator last computed: ``max_simultaneous_invocations`` x the health coefficient, or a fleet's
capacity) and ``free_slots`` (= cap - tasks holding a slot). Every change that starts a task takes a slot in
the same transaction (``free_slots >= n`` is its condition), every change that ends an invoked attempt
(completion, retry, dead, release) gives its slot back in the same transaction, and a change of cap
moves ``free_slots`` by the difference. So however many dispatch paths run at once, ``running <= cap``:
the counter is read consistently and written conditionally, where a count on the eventually
consistent greenfield index could lag behind a claim made a moment before.

The item has no ``labourer_id`` or ``greenfield``, so it never appears in (or costs a write to) the
greenfield index. DynamoDB conditions cannot add, which is why the item stores the free slots, not the running tasks.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import ClientError

logger = logging.getLogger(__name__)

SLOTS_PREFIX = "_ganger_slots#"


@dataclass(frozen=True)
class Slots:
    """A labourer's counter as read (consistently)."""

    labourer_id: str
    cap: int
    free: int

    @property
    def held(self) -> int:
        """Tasks holding a slot: invoked and not yet completed, retried, closed or released."""
        return self.cap - self.free


class SlotCounter:
    """Reads and writes of the slot counters, and the transaction items other changes include."""

    def __init__(self, dynamodb: Any, table: str) -> None:
        self._ddb = dynamodb
        self.table = table

    @staticmethod
    def key(labourer_id: str) -> dict[str, Any]:
        return {"task_id": {"S": f"{SLOTS_PREFIX}{labourer_id}"}}

    def read(self, labourer_id: str) -> Slots | None:
        """The counter (one consistent GetItem), or None before the Orchestrator first set its cap."""
        item = self._ddb.get_item(TableName=self.table, Key=self.key(labourer_id), ConsistentRead=True).get("Item")
        if not item or "slot_cap" not in item:
            return None
        return Slots(labourer_id, int(item["slot_cap"]["N"]), int(item.get("free_slots", {"N": "0"})["N"]))

    def set_cap(self, labourer_id: str, cap: int, current: Slots | None, held: int) -> Slots | None:
        """Make the counter's cap ``cap``: create it (``held`` tasks already hold slots) or move ``free`` by the
        change. Conditional on the state read, so a concurrent change is never overwritten; None if one was."""
        if current is not None and current.cap == cap:
            return current
        try:
            if current is None:
                self._ddb.update_item(
                    TableName=self.table,
                    Key=self.key(labourer_id),
                    UpdateExpression="SET slot_cap = :cap, free_slots = :free",
                    ConditionExpression="attribute_not_exists(slot_cap)",
                    ExpressionAttributeValues={":cap": {"N": str(cap)}, ":free": {"N": str(cap - held)}},
                )
                return Slots(labourer_id, cap, cap - held)
            self._ddb.update_item(
                TableName=self.table,
                Key=self.key(labourer_id),
                UpdateExpression="SET slot_cap = :cap ADD free_slots :delta",
                ConditionExpression="slot_cap = :old",
                ExpressionAttributeValues={
                    ":cap": {"N": str(cap)},
                    ":delta": {"N": str(cap - current.cap)},
                    ":old": {"N": str(current.cap)},
                },
            )
            logger.info("labourer %s: cap %d -> %d", labourer_id, current.cap, cap)
            return Slots(labourer_id, cap, current.free + cap - current.cap)
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") != "ConditionalCheckFailedException":
                raise
            return None

    def take(self, labourer_id: str, count: int) -> dict[str, Any]:
        """A transaction item that takes ``count`` slots, only if that many are free."""
        return {
            "Update": {
                "TableName": self.table,
                "Key": self.key(labourer_id),
                "UpdateExpression": "ADD free_slots :minus",
                "ConditionExpression": "free_slots >= :n",
                "ExpressionAttributeValues": {":minus": {"N": str(-count)}, ":n": {"N": str(count)}},
            }
        }

    def give(self, labourer_id: str, count: int = 1) -> dict[str, Any]:
        """A transaction item that gives ``count`` slots back (no condition: ending an attempt never waits)."""
        return {
            "Update": {
                "TableName": self.table,
                "Key": self.key(labourer_id),
                "UpdateExpression": "ADD free_slots :n",
                "ExpressionAttributeValues": {":n": {"N": str(count)}},
            }
        }

    def within_cap(self, labourer_id: str) -> dict[str, Any]:
        """A transaction item that holds only while the labourer is within its cap: a slot handed from an
        ending task to a queued one keeps the count, so it may pass only if the cap has not dropped below it."""
        return {
            "ConditionCheck": {
                "TableName": self.table,
                "Key": self.key(labourer_id),
                "ConditionExpression": "free_slots >= :zero",
                "ExpressionAttributeValues": {":zero": {"N": "0"}},
            }
        }
