"""Concurrency keys: fair turns between the keys of a labourer's tasks, and a cap per key.

A labourer may name ``concurrency_key``, a field of its tasks' payload (the bot's ``chat_id``). Two things follow.

**Fair turns, in the queue order itself** (start-time fair queuing). The Scheduler gives each key's tasks queue
positions (greenfield) that interleave with the other keys': a key's next task goes at
``max(V, last + 1)``, where ``V`` is the labourer's *virtual time* (the position at the head of its queue, or,
when the queue is empty, one past the highest position ever given) and ``last`` the key's last position. So a
key that arrives behind another key's backlog of 10,000 starts at the head, tied with the backlog's next tasks,
and the two take turns; a key alone still has every slot. Each key's ``last`` is one item, written once per
Scheduler step per key (``KeyBook``), never per task; every read, claim and hand-off then takes keys in turn
with no change and no extra call.

**A cap per key** (``max_per_key``): one counter item per (labourer, key), ``_ganger_keyrun#<labourer>#<key>``,
``running`` taken conditionally in the claim's transaction (``running <= max - n``) and given back in the
transaction that ends the attempt; the claimed row records the key it holds (``key_slot``), so every end gives
back exactly what its claim took, whatever the config says by then. A hand-off between two tasks of one key
touches no counter; between keys it gives one and takes the other.

The rules here are pure; ``KeyBook`` and ``KeyCounter`` build DynamoDB calls and items.
"""

from __future__ import annotations

import hashlib
import json
import random
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from botocore.exceptions import ClientError

from ganger.backoff import jittered_delay

KEY_ITEM_PREFIX = "_ganger_key#"  # a key's fairness bookkeeping: its last queue position
KEY_RUN_PREFIX = "_ganger_keyrun#"  # a key's running count, when the labourer has max_per_key
MAX_KEY_CHARS = 200  # longer key values are stored by their digest
NO_KEY = ""  # tasks whose payload lacks the field share one key
BATCH_GET_KEYS = 100
BOOK_ATTEMPTS = 6  # a key's last position written conditionally: re-read and retried on a concurrent write
_T = TypeVar("_T")


@dataclass(frozen=True)
class KeyPolicy:
    """A labourer's ``concurrency_key`` (the payload field) and ``max_per_key`` (None: fair turns only)."""

    field: str
    max_per_key: int | None = None

    @property
    def capped(self) -> bool:
        return self.max_per_key is not None

    def key_of(self, payload: str | Mapping[str, Any]) -> str:
        """The task's key: the payload field's value as text ("" when the payload lacks it)."""
        if isinstance(payload, str):
            try:
                payload = json.loads(payload or "{}")
            except json.JSONDecodeError:
                return NO_KEY
        if not isinstance(payload, Mapping):
            return NO_KEY
        value = payload.get(self.field)
        if value is None:
            return NO_KEY
        return value if isinstance(value, str) else json.dumps(value, sort_keys=True, default=str)


def stored_key(key: str) -> str:
    """The key as it appears in an item's id: itself, or its digest when long."""
    if len(key) <= MAX_KEY_CHARS:
        return key
    return "sha256:" + hashlib.sha256(key.encode()).hexdigest()


def fair_positions(keys: Sequence[str], head: int, lasts: Mapping[str, int]) -> tuple[list[int], dict[str, int]]:
    """Queue positions for tasks of these keys (in order), and each key's new last position. A key's next task
    goes at ``max(head, last + 1)`` and its following ones one apart, so keys interleave: a new key starts at the
    head, a key with a backlog continues after it. Pure."""
    nexts: dict[str, int] = {}
    positions = []
    for key in keys:
        position = nexts.get(key, max(head, lasts.get(key, head - 1) + 1))
        positions.append(position)
        nexts[key] = position + 1
    return positions, {key: position - 1 for key, position in nexts.items()}


def within_room(tasks: Iterable[_T], key_of: Callable[[_T], str], room: Mapping[str, int]) -> list[_T]:
    """The tasks (in order) that fit their key's room: at most ``room[key]`` of each key. Pure."""
    left = dict(room)
    kept = []
    for task in tasks:
        key = key_of(task)
        if left.get(key, 0) > 0:
            kept.append(task)
            left[key] -= 1
    return kept


def handoff_order(candidates: Sequence[_T], key_of: Callable[[_T], str], ending_key: str | None) -> list[_T]:
    """The order a capped labourer's hand-off tries its candidates: the first of another key (its turn; it may be
    at its limit), then those of the ending key (they need no counter and always fit), then the rest. Pure."""
    if ending_key is None:
        return list(candidates)
    same = [c for c in candidates if key_of(c) == ending_key]
    other = [c for c in candidates if key_of(c) != ending_key]
    return other[:1] + same + other[1:]


class KeyBook:
    """Each key's last queue position (``_ganger_key#<labourer>#<key>``, attribute ``last``) and the labourer's
    highest position given (``tail`` of its queue counter item). Read with one BatchGetItem per 100 keys; a key's
    last written once per Scheduler step, conditionally on the value read."""

    def __init__(self, dynamodb: Any, table: str, sleep: Callable[[float], None], rand: random.Random) -> None:
        self._ddb = dynamodb
        self.table = table
        self._sleep = sleep
        self._rand = rand

    @staticmethod
    def item_id(labourer_id: str, key: str) -> str:
        return f"{KEY_ITEM_PREFIX}{labourer_id}#{stored_key(key)}"

    def lasts(self, labourer_id: str, keys: Iterable[str]) -> dict[str, int]:
        """The keys' last positions (consistent reads); a key never seen is left out."""
        wanted = {self.item_id(labourer_id, key): key for key in keys}
        found = batch_get(self._ddb, self.table, list(wanted), self._sleep, self._rand)
        return {wanted[i]: int(item["last"]["N"]) for i, item in found.items() if "last" in item}

    def record(self, labourer_id: str, key: str, last: int, seen: int | None) -> bool:
        """Make the key's last position ``last``, only if it is still ``seen`` (None: never written). False when a
        concurrent Scheduler step wrote it first."""
        condition = "attribute_not_exists(#l)" if seen is None else "#l = :seen"
        values = {":last": {"N": str(last)}}
        if seen is not None:
            values[":seen"] = {"N": str(seen)}
        try:
            self._ddb.update_item(
                TableName=self.table,
                Key={"task_id": {"S": self.item_id(labourer_id, key)}},
                UpdateExpression="SET #l = :last",
                ConditionExpression=condition,
                ExpressionAttributeNames={"#l": "last"},
                ExpressionAttributeValues=values,
            )
            return True
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException":
                return False
            raise


class KeyCounter:
    """The running count of each key of a labourer with ``max_per_key``: transaction items and a consistent read.
    The items are in no index (no ``labourer_id``, no ``greenfield``), so they cost no index writes."""

    def __init__(self, dynamodb: Any, table: str, sleep: Callable[[float], None], rand: random.Random) -> None:
        self._ddb = dynamodb
        self.table = table
        self._sleep = sleep
        self._rand = rand

    @staticmethod
    def item_id(labourer_id: str, key: str) -> str:
        return f"{KEY_RUN_PREFIX}{labourer_id}#{stored_key(key)}"

    def key(self, labourer_id: str, key: str) -> dict[str, Any]:
        return {"task_id": {"S": self.item_id(labourer_id, key)}}

    def take(self, labourer_id: str, key: str, count: int, max_per_key: int) -> dict[str, Any]:
        """A transaction item that takes ``count`` of the key's places, only while it keeps within its cap."""
        return {
            "Update": {
                "TableName": self.table,
                "Key": self.key(labourer_id, key),
                "UpdateExpression": "ADD running :n",
                "ConditionExpression": "attribute_not_exists(running) OR running <= :room",
                "ExpressionAttributeValues": {":n": {"N": str(count)}, ":room": {"N": str(max_per_key - count)}},
            }
        }

    def give(self, labourer_id: str, key: str, count: int = 1) -> dict[str, Any]:
        """A transaction item that gives ``count`` places back (no condition: an end never waits)."""
        return {
            "Update": {
                "TableName": self.table,
                "Key": self.key(labourer_id, key),
                "UpdateExpression": "ADD running :n",
                "ExpressionAttributeValues": {":n": {"N": str(-count)}},
            }
        }

    def running(self, labourer_id: str, keys: Iterable[str]) -> dict[str, int]:
        """Each key's running count (consistent reads; 0 for a key never started)."""
        wanted = {self.item_id(labourer_id, key): key for key in keys}
        found = batch_get(self._ddb, self.table, list(wanted), self._sleep, self._rand)
        counts = {key: 0 for key in wanted.values()}
        counts.update({wanted[i]: int(item.get("running", {"N": "0"})["N"]) for i, item in found.items()})
        return counts

    def room(self, labourer_id: str, keys: Iterable[str], max_per_key: int) -> dict[str, int]:
        """How many more tasks of each key may start now (``ganger.holds.key_room``, the rule ``why`` names)."""
        from ganger.holds import key_room

        return {key: key_room(n, max_per_key) for key, n in self.running(labourer_id, keys).items()}


def batch_get(
    dynamodb: Any, table: str, ids: Sequence[str], sleep: Callable[[float], None], rand: random.Random
) -> dict[str, dict[str, Any]]:
    """Items of the tasks table by ``task_id`` (consistent BatchGetItem per 100, unprocessed keys retried)."""
    found: dict[str, dict[str, Any]] = {}
    unique = list(dict.fromkeys(ids))
    for start in range(0, len(unique), BATCH_GET_KEYS):
        keys = [{"task_id": {"S": i}} for i in unique[start : start + BATCH_GET_KEYS]]
        request: dict[str, Any] = {table: {"Keys": keys, "ConsistentRead": True}}
        attempt = 0
        while request:
            response = dynamodb.batch_get_item(RequestItems=request)
            for item in response.get("Responses", {}).get(table, []):
                found[item["task_id"]["S"]] = item
            request = response.get("UnprocessedKeys") or {}
            if request:
                sleep(jittered_delay(attempt, rand))
                attempt += 1
    return found
