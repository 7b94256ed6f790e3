"""DynamoDB as AWS runs it under load: transactions that meet on an item, and hot partition keys.

moto answers one request at a time and never lets two meet, so a design that puts one item or one
index key in every task's path looks free on moto. This model decides, for a request arriving at a
given (simulated or real) time, what AWS would do with it. The rules, each from AWS's documentation
(Amazon DynamoDB Developer Guide), in our words:

- Every request takes time (``ContentionParams``); a ``TransactWriteItems`` holds each item it names,
  ConditionChecks included, from its start for its whole duration ("Transaction conflict handling").
- A transaction naming an item another ongoing transaction holds is cancelled as a whole
  (``TransactionCanceledException``), with reason ``TransactionConflict`` on that item and ``None`` on
  the others (same section).
- A ``PutItem``, ``UpdateItem`` or ``DeleteItem`` of an item an ongoing transaction holds fails with
  ``TransactionConflictException`` (same section); a ``BatchWriteItem`` returns such items unprocessed.
- Reads (``GetItem``, ``Query``, ``Scan``, ``BatchGetItem``) never conflict: they succeed (same section).
- One partition key value, of a table or of a global secondary index, takes at most 1,000 write units
  a second ("Warm throughput": each partition is limited to 1,000 write units per second; a key value
  cannot be split over partitions). A write that would go to a key that has taken that many in the last
  second is throttled: ``ThrottlingException`` (on-demand), reason ``ThrottlingError`` in a cancelled
  transaction, unprocessed in a batch. An index that cannot take its writes throttles the table's write
  ("GSI write throttling and back pressure"). A local secondary index shares its table's partition.
- Write units: 1 per KB of the item (the larger of before and after), 2 in a transaction; an index
  write where the item is or was in the index (sparse indexes), 2 when the change moves it between
  index keys or sort positions (a delete and a put) ("Capacity unit consumption for writes";
  "Provisioned throughput considerations for GSIs").

The model keeps no items: the caller gives it the before and after images it needs
(``ganger.local.moto_contention`` reads them from moto). It is pure and clock-free: every call says
when it happens, so it serves simulated time (the scale benchmark) and the wall clock (``ganger local
--contention``) alike.
"""

from __future__ import annotations

import json
import math
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from ganger.billing import item_kb

READS = frozenset({"GetItem", "Query", "Scan", "BatchGetItem", "TransactGetItems", "DescribeTable"})
SINGLE_WRITES = frozenset({"PutItem", "UpdateItem", "DeleteItem"})


@dataclass(frozen=True)
class ContentionParams:
    """How long each kind of request takes, and the per-key write limit. The defaults are DynamoDB's
    typical single-digit-millisecond latencies inside a region, a transaction about three writes."""

    read_s: float = 0.003
    write_s: float = 0.005
    transact_s: float = 0.015
    batch_s: float = 0.010
    key_write_units_per_s: float = 1000.0

    def seconds(self, operation: str) -> float:
        if operation == "TransactWriteItems":
            return self.transact_s
        if operation in ("BatchWriteItem", "BatchGetItem"):
            return self.batch_s
        if operation in SINGLE_WRITES:
            return self.write_s
        return self.read_s

    def to_dict(self) -> dict[str, float]:
        return {
            "read_ms": self.read_s * 1000,
            "write_ms": self.write_s * 1000,
            "transaction_ms": self.transact_s * 1000,
            "batch_ms": self.batch_s * 1000,
            "key_write_units_per_s": self.key_write_units_per_s,
        }


@dataclass(frozen=True)
class IndexSchema:
    name: str
    hash_attr: str
    range_attr: str | None
    local: bool = False  # an LSI: its writes land on the table's partition


@dataclass(frozen=True)
class TableSchema:
    name: str
    hash_attr: str
    range_attr: str | None = None
    indexes: tuple[IndexSchema, ...] = ()

    def key_of(self, item: dict[str, Any]) -> dict[str, Any]:
        key = {self.hash_attr: item.get(self.hash_attr)}
        if self.range_attr is not None:
            key[self.range_attr] = item.get(self.range_attr)
        return key


Item = dict[str, Any]  # DynamoDB JSON: {"attr": {"S": "..."}}


@dataclass(frozen=True)
class Write:
    """One item a write request names: its table, its key and (for a Put) its new image."""

    table: str
    key: Item
    put: Item | None = None
    condition_only: bool = False  # a transaction's ConditionCheck: holds the item, writes nothing

    @property
    def ident(self) -> str:
        return self.table + "|" + json.dumps(self.key, sort_keys=True)


@dataclass(frozen=True)
class Rejection:
    """What AWS answers instead of running the request."""

    code: str
    message: str
    reasons: tuple[str, ...] = ()  # a cancelled transaction's reason per item
    unprocessed: tuple[int, ...] = ()  # a batch's items left unprocessed (by position)


@dataclass
class ContentionCounts:
    requests: int = 0
    transactions: int = 0
    transaction_conflicts: int = 0  # transactions cancelled with TransactionConflict
    write_conflicts: int = 0  # single writes rejected with TransactionConflictException (and batch items)
    throttles: int = 0  # requests (or batch items) throttled on a hot key
    hottest_key_units_per_s: float = 0.0
    hottest_key: str = ""

    @property
    def conflicts(self) -> int:
        return self.transaction_conflicts + self.write_conflicts

    def to_dict(self) -> dict[str, Any]:
        return {
            "requests": self.requests,
            "transactions": self.transactions,
            "transaction_conflicts": self.transaction_conflicts,
            "write_conflicts": self.write_conflicts,
            "throttles": self.throttles,
            "hottest_key": self.hottest_key,
            "hottest_key_units_per_s": round(self.hottest_key_units_per_s, 1),
        }


@dataclass
class _KeyWindow:
    """Write units a partition key value took in the last second."""

    events: deque[tuple[float, float]] = field(default_factory=deque)
    total: float = 0.0

    def prune(self, now: float) -> float:
        while self.events and self.events[0][0] <= now - 1.0:
            _, units = self.events.popleft()
            self.total -= units
        return self.total

    def add(self, now: float, units: float) -> float:
        self.prune(now)
        self.events.append((now, units))
        self.total += units
        return self.total


def writes_of(operation: str, body: dict[str, Any]) -> list[Write]:
    """The items a write request names, in request order (a batch's across its tables)."""
    if operation == "PutItem":
        return [Write(body["TableName"], {}, put=body["Item"])]
    if operation in ("UpdateItem", "DeleteItem"):
        return [Write(body["TableName"], body["Key"])]
    if operation == "BatchWriteItem":
        writes = []
        for table, requests in body.get("RequestItems", {}).items():
            for request in requests:
                if "PutRequest" in request:
                    writes.append(Write(table, {}, put=request["PutRequest"]["Item"]))
                else:
                    writes.append(Write(table, request["DeleteRequest"]["Key"]))
        return writes
    if operation == "TransactWriteItems":
        writes = []
        for entry in body.get("TransactItems", []):
            ((kind, op),) = entry.items()
            if kind == "Put":
                writes.append(Write(op["TableName"], {}, put=op["Item"]))
            else:
                writes.append(Write(op["TableName"], op["Key"], condition_only=kind == "ConditionCheck"))
        return writes
    return []


def _kb_units(*images: Item | None) -> int:
    sizes = [item_kb(image) for image in images if image]
    return max(1, math.ceil(max(sizes))) if sizes else 1


class ContentionModel:
    """Holds, per-key write windows and the counts; ``schemas`` names each table's keys and indexes."""

    def __init__(self, schemas: dict[str, TableSchema], params: ContentionParams | None = None) -> None:
        self.schemas = schemas
        self.params = params or ContentionParams()
        self.counts = ContentionCounts()
        self._holds: dict[str, float] = {}  # item ident -> end of the transaction holding it
        self._windows: dict[str, _KeyWindow] = {}

    def _resolve(self, write: Write) -> Write:
        if write.put is None or write.key:
            return write
        schema = self.schemas.get(write.table)
        return Write(write.table, schema.key_of(write.put) if schema else {}, write.put)

    def resolved(self, operation: str, body: dict[str, Any]) -> list[Write]:
        """The request's writes with every key filled in (a Put's from its item)."""
        return [self._resolve(w) for w in writes_of(operation, body)]

    def held(self, write: Write, now: float) -> bool:
        end = self._holds.get(write.ident)
        if end is None:
            return False
        if end <= now:
            del self._holds[write.ident]
            return False
        return True

    def partitions(self, write: Write, before: Item | None) -> list[str]:
        """The partition key values (table, and each global index the item is or will be in) it writes."""
        schema = self.schemas.get(write.table)
        if schema is None or write.condition_only:
            return []
        keys = [f"{write.table}|{json.dumps(write.key.get(schema.hash_attr), sort_keys=True)}"]
        for index in schema.indexes:
            if index.local:
                continue
            for image in (before, write.put):
                if image and index.hash_attr in image and (index.range_attr is None or index.range_attr in image):
                    key = f"{write.table}/{index.name}|{json.dumps(image[index.hash_attr], sort_keys=True)}"
                    if key not in keys:
                        keys.append(key)
        return keys

    def hot(self, keys: Iterable[str], now: float) -> bool:
        limit = self.params.key_write_units_per_s
        return any(key in self._windows and self._windows[key].prune(now) >= limit for key in keys)

    def admit(
        self, operation: str, body: dict[str, Any], now: float, before: dict[str, Item | None]
    ) -> Rejection | None:
        """None when AWS would run the request now (a transaction then holds its items), else the
        rejection. ``before``: the current image of each written item, by ``Write.ident``."""
        self.counts.requests += 1
        if operation in READS:
            return None
        writes = self.resolved(operation, body)
        if not writes:
            return None
        if operation == "TransactWriteItems":
            return self._admit_transaction(writes, now, before)
        if operation == "BatchWriteItem":
            return self._admit_batch(writes, now, before)
        write = writes[0]
        if self.held(write, now):
            self.counts.write_conflicts += 1
            return Rejection("TransactionConflictException", "Transaction is ongoing for the item")
        if self.hot(self.partitions(write, before.get(write.ident)), now):
            self.counts.throttles += 1
            return Rejection("ThrottlingException", "Throughput exceeds the current capacity for one or more keys")
        return None

    def _admit_transaction(self, writes: list[Write], now: float, before: dict[str, Item | None]) -> Rejection | None:
        self.counts.transactions += 1
        conflicts = [self.held(w, now) for w in writes]
        if any(conflicts):
            self.counts.transaction_conflicts += 1
            reasons = tuple("TransactionConflict" if c else "None" for c in conflicts)
            return Rejection("TransactionCanceledException", _cancel_message(reasons), reasons)
        hot = [self.hot(self.partitions(w, before.get(w.ident)), now) for w in writes]
        if any(hot):
            self.counts.throttles += 1
            reasons = tuple("ThrottlingError" if h else "None" for h in hot)
            return Rejection("TransactionCanceledException", _cancel_message(reasons), reasons)
        end = now + self.params.transact_s
        for write in writes:
            self._holds[write.ident] = end
        return None

    def _admit_batch(self, writes: list[Write], now: float, before: dict[str, Item | None]) -> Rejection | None:
        left = []
        for position, write in enumerate(writes):
            if self.held(write, now):
                self.counts.write_conflicts += 1
                left.append(position)
            elif self.hot(self.partitions(write, before.get(write.ident)), now):
                self.counts.throttles += 1
                left.append(position)
        if not left:
            return None
        if len(left) == len(writes):
            return Rejection("ThrottlingException", "Throughput exceeds the current capacity for one or more keys")
        return Rejection("Unprocessed", f"{len(left)} items unprocessed", unprocessed=tuple(left))

    def settle(
        self, operation: str, writes: list[Write], now: float, before: dict[str, Item | None],
        after: dict[str, Item | None],
    ) -> None:  # fmt: skip
        """Charge the write units of writes that ran to the partition keys they went to."""
        factor = 2 if operation == "TransactWriteItems" else 1
        for write in writes:
            if write.condition_only:
                continue
            old, new = before.get(write.ident), after.get(write.ident)
            if old is None and new is None:
                continue
            units = _kb_units(old, new) * factor
            self._charge(write.table + "|" + json.dumps(_hash_of(self.schemas, write), sort_keys=True), units, now)
            self._charge_indexes(write.table, old, new, units // factor, now)

    def _charge_indexes(self, table: str, old: Item | None, new: Item | None, units: int, now: float) -> None:
        schema = self.schemas.get(table)
        if schema is None:
            return
        for index in schema.indexes:
            if index.local:
                continue
            old_key = _index_key(index, old)
            new_key = _index_key(index, new)
            if old_key is None and new_key is None:
                continue
            if old_key is not None and old_key == new_key:
                # the same index key: a rewrite (1) or, when the sort key moved, a delete and a put (2)
                self._charge(self._index_ident(table, index, old_key[0]), units * (1 if old_key[1] == new_key[1]
                                                                                    else 2), now)  # fmt: skip
                continue
            if old_key is not None:
                self._charge(self._index_ident(table, index, old_key[0]), units, now)
            if new_key is not None:
                self._charge(self._index_ident(table, index, new_key[0]), units, now)

    @staticmethod
    def _index_ident(table: str, index: IndexSchema, hash_value: str) -> str:
        return f"{table}/{index.name}|{hash_value}"

    def _charge(self, key: str, units: float, now: float) -> None:
        window = self._windows.setdefault(key, _KeyWindow())
        total = window.add(now, units)
        if total > self.counts.hottest_key_units_per_s:
            self.counts.hottest_key_units_per_s = total
            self.counts.hottest_key = key


def _hash_of(schemas: dict[str, TableSchema], write: Write) -> Any:
    schema = schemas.get(write.table)
    return write.key.get(schema.hash_attr) if schema else write.key


def _index_key(index: IndexSchema, image: Item | None) -> tuple[str, str] | None:
    if not image or index.hash_attr not in image or (index.range_attr is not None and index.range_attr not in image):
        return None
    sort = json.dumps(image[index.range_attr], sort_keys=True) if index.range_attr else ""
    return json.dumps(image[index.hash_attr], sort_keys=True), sort


def _cancel_message(reasons: tuple[str, ...]) -> str:
    return f"Transaction cancelled, please refer cancellation reasons for specific reasons [{', '.join(reasons)}]"
