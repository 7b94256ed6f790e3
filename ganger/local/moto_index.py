"""Make in-process moto's DynamoDB Query cost O(page), not O(table size).

moto answers every Query (on the table, a GSI or an LSI) by sorting all the items of the table and
filtering them, so a 100,000-task job spends its time re-reading the tasks table on every
Orchestrator claim. This patch keeps, per table and per index, the items' keys in moto's own sort
order, grouped by the partition key, and hands moto's unchanged query code only the few items a
page can contain: the matching items after ``ExclusiveStartKey`` up to ``Limit``, plus the next
one (moto returns ``LastEvaluatedKey`` when one more item follows). Results, ``Count``,
``ScannedCount`` and ``LastEvaluatedKey`` are moto's own.

A Scan of the table itself (no index, legacy ``ScanFilter`` or segments) is narrowed the same way: moto sorts the
whole table for every page of a Scan, so paging through a 100,000-row table read it a hundred times;
the patch keeps the table's keys in moto's scan order and hands moto the items after
``ExclusiveStartKey`` up to ``Limit`` or moto's 1 MB page size, plus the next one.

The sorted keys are built on a view's first query (or scan) and kept current by every write path moto has
(``Table.put_item`` and ``Table.delete_item``, which BatchWriteItem, transactions and rollbacks use,
and the backend's ``update_item``, which changes an item in place). Anything the patch does not
know how to narrow (multi-attribute keys, legacy ``KeyConditions`` filters, pages that could reach
moto's 1 MB size limit) runs moto's original query. It changes the emulator's speed, not what any
API call returns, and it counts no calls: it lives below botocore, as ``moto_speed`` does.
"""

from __future__ import annotations

import bisect
import contextlib
import functools
import threading
import weakref
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import moto.dynamodb.models as ddb_models
from moto.dynamodb.models.dynamo_type import DynamoType, Item
from moto.dynamodb.models.table import RESULT_SIZE_LIMIT, GlobalSecondaryIndex, Table

_VIEWS = "_ganger_query_views"
_MAX_ITEM_BYTES = 400 * 1024
PrimaryKey = tuple[DynamoType, DynamoType | None]
Entry = tuple[tuple[Any, ...], PrimaryKey]
_UNSUPPORTED = object()
_LOCK = threading.RLock()  # local mode's moto server answers on several threads
_NARROWED = threading.local()  # this thread's query: the table whose items are narrowed, and to what
_INDEXED: weakref.WeakSet[Table] = weakref.WeakSet()  # tables holding views: dropped when the patch ends


@dataclass
class View:
    """One queryable view of a table (the table itself, or one index): keys grouped and sorted as moto sorts."""

    hash_attr: str
    range_attr: str | None  # the attribute a key condition on the range compares
    sort_attrs: tuple[str, ...]  # moto's sort order inside one partition
    required: tuple[str, ...]  # an item without one of these is not in the view
    groups: dict[DynamoType, list[Entry]] = field(default_factory=dict)
    placed: dict[PrimaryKey, tuple[DynamoType, tuple[Any, ...]]] = field(default_factory=dict)

    def build(self, items: list[Item]) -> None:
        """All the table's items at once: one sort per partition, not one insertion per item."""
        for item in items:
            if all(item.attrs.get(a) for a in self.required):
                sort = tuple(item.attrs[a].cast_value for a in self.sort_attrs)
                partition = DynamoType(item.attrs[self.hash_attr])
                self.groups.setdefault(partition, []).append((sort, _primary_key(item)))
                self.placed[_primary_key(item)] = (partition, sort)
        for entries in self.groups.values():
            entries.sort(key=_sort_key)

    def place(self, key: PrimaryKey, item: Item | None) -> None:
        """Move ``key`` to where ``item`` (its current state, or None when deleted) now sorts."""
        old = self.placed.pop(key, None)
        if old is not None:
            entries = self.groups[old[0]]
            at = bisect.bisect_left(entries, old[1], key=_sort_key)
            while at < len(entries) and entries[at][1] != key:
                at += 1
            if at < len(entries):
                del entries[at]
            if not entries:
                del self.groups[old[0]]
        if item is None or not all(item.attrs.get(a) for a in self.required):
            return
        sort = tuple(item.attrs[a].cast_value for a in self.sort_attrs)
        partition = DynamoType(item.attrs[self.hash_attr])  # a copy: an update may change the item's own
        bisect.insort(self.groups.setdefault(partition, []), (sort, key), key=_sort_key)
        self.placed[key] = (partition, sort)


@dataclass
class ScanOrder:
    """A table's keys in the order moto's Scan walks them (its sorted ``all_items``)."""

    entries: list[Entry] = field(default_factory=list)
    placed: dict[PrimaryKey, tuple[Any, ...]] = field(default_factory=dict)

    def build(self, items: list[Item]) -> None:
        for item in items:
            key = _primary_key(item)
            self.placed[key] = _scan_sort(key)
            self.entries.append((self.placed[key], key))
        self.entries.sort(key=_sort_key)

    def place(self, key: PrimaryKey, item: Item | None) -> None:
        old = self.placed.pop(key, None)
        if old is not None:
            at = bisect.bisect_left(self.entries, old, key=_sort_key)
            if at < len(self.entries) and self.entries[at][1] == key:
                del self.entries[at]
        if item is not None:
            self.placed[key] = _scan_sort(key)
            bisect.insort(self.entries, (self.placed[key], key), key=_sort_key)


def _scan_sort(key: PrimaryKey) -> tuple[Any, ...]:
    return (key[0].cast_value,) if key[1] is None else (key[0].cast_value, key[1].cast_value)


def _sort_key(entry: Entry) -> tuple[Any, ...]:
    return entry[0]


def _first(entry: Entry) -> Any:
    return entry[0][0]


def _primary_key(item: Item) -> PrimaryKey:
    return (item.hash_key, item.range_key)


def _view_for(table: Table, index_name: str | None) -> View | None:
    """The view's shape, or None when moto's original query must answer (multi-attribute keys)."""
    if index_name is None:
        range_attrs = (table.range_key_attr,) if table.range_key_attr else ()
        return View(table.hash_key_attr, table.range_key_attr, range_attrs, (table.hash_key_attr,))
    index = {i.name: i for i in table.all_indexes()}.get(index_name)
    if index is None:
        return None
    hashes = [k["AttributeName"] for k in index.schema if k["KeyType"] == "HASH"]
    ranges = [k["AttributeName"] for k in index.schema if k["KeyType"] == "RANGE"]
    if len(hashes) != 1 or len(ranges) > 1:
        return None
    table_keys = tuple(a for a in (table.hash_key_attr, table.range_key_attr) if a)
    if ranges:
        return View(hashes[0], ranges[0], (ranges[0], *table_keys), (hashes[0], ranges[0]))
    # moto: without an index range key, the table's range key (GSI) or hash key stands in for comparisons
    stand_in = table.range_key_attr if isinstance(index, GlobalSecondaryIndex) and table.range_key_attr else None
    return View(hashes[0], stand_in or table.hash_key_attr, table_keys, (hashes[0],))


def _views(table: Table) -> dict[Any, View | ScanOrder | None]:
    views: dict[Any, View | ScanOrder | None] | None = table.__dict__.get(_VIEWS)
    if views is None:
        views = {}
        table.__dict__[_VIEWS] = views
    return views


def _view(table: Table, index_name: str | None) -> View | None:
    views = _views(table)
    if index_name not in views:
        view = _view_for(table, index_name)
        if view is not None:
            view.build(table.all_items())
        views[index_name] = view
        _INDEXED.add(table)
    found = views[index_name]
    return found if isinstance(found, View) else None


_SCAN = ("scan",)  # the scan order's place among a table's views (index names are strings, the table's is None)


def _scan_order(table: Table) -> ScanOrder:
    views = _views(table)
    order = views.get(_SCAN)
    if not isinstance(order, ScanOrder):
        order = ScanOrder()
        order.build(table.all_items())
        views[_SCAN] = order
        _INDEXED.add(table)
    return order


def _reindex(table: Table, key: PrimaryKey) -> None:
    views = table.__dict__.get(_VIEWS)
    if not views:
        return
    item = table.get_item(key[0], key[1]) if table.range_key_attr is None or key[1] is not None else None
    with _LOCK:
        for view in views.values():
            if view is not None:
                view.place(key, item)


# ---- narrowing one page ---------------------------------------------------------------------------


_OPERATORS = {"=": "EQ", "<": "LT", "<=": "LE", ">": "GT", ">=": "GE"}


def _range_bounds(entries: list[Entry], comparison: str | None, values: list[DynamoType]) -> tuple[int, int] | None:
    """[lo, hi) of the entries a key condition on the range can match (a superset is never needed)."""
    n = len(entries)
    if not comparison:
        return 0, n
    try:
        bounds = [v.cast_value for v in values]
    except Exception:
        return None
    op = _OPERATORS.get(comparison, comparison.upper())
    if op == "EQ":
        return bisect.bisect_left(entries, bounds[0], key=_first), bisect.bisect_right(entries, bounds[0], key=_first)
    if op == "LT":
        return 0, bisect.bisect_left(entries, bounds[0], key=_first)
    if op == "LE":
        return 0, bisect.bisect_right(entries, bounds[0], key=_first)
    if op == "GT":
        return bisect.bisect_right(entries, bounds[0], key=_first), n
    if op == "GE":
        return bisect.bisect_left(entries, bounds[0], key=_first), n
    if op == "BETWEEN":
        return bisect.bisect_left(entries, bounds[0], key=_first), bisect.bisect_right(entries, bounds[1], key=_first)
    if op == "BEGINS_WITH" and isinstance(bounds[0], str):
        lo = hi = bisect.bisect_left(entries, bounds[0], key=_first)
        while hi < n and isinstance(entries[hi][0][0], str) and entries[hi][0][0].startswith(bounds[0]):
            hi += 1
        return lo, hi
    return None


def _start_key(view: View, exclusive_start_key: dict[str, Any] | None) -> object:
    if exclusive_start_key is None:
        return None
    try:
        return tuple(DynamoType(exclusive_start_key[a]).cast_value for a in view.sort_attrs)
    except Exception:
        return _UNSUPPORTED


def _window(
    entries: list[Entry],
    bounds: tuple[int, int],
    start: tuple[Any, ...] | None,
    limit: int | None,
    forward: bool,
) -> list[PrimaryKey]:
    """The keys moto's loop can look at: matching ones after the start key, up to ``limit``, and one more."""
    lo, hi = bounds
    if forward:
        first = lo if start is None else max(lo, bisect.bisect_right(entries, start, key=_sort_key))
        last = hi if limit is None else min(hi, first + limit)
        positions = range(first, min(last + 1, len(entries)))
    else:
        first = hi - 1 if start is None else min(hi - 1, bisect.bisect_left(entries, start, key=_sort_key) - 1)
        last = lo - 1 if limit is None else max(lo - 1, first - limit)
        positions = range(first, max(last - 1, -1), -1)
    return [entries[p][1] for p in positions]


def _candidates(table: Table, query: dict[str, Any]) -> list[Item] | None:
    """The items a page can consist of, or None when moto's original query should answer."""
    if query["filter_kwargs"]:
        return None
    index_name = query["index_name"]
    view = _view(table, index_name)
    if view is None:
        return None
    if index_name is None:
        partition = query["hash_key"]
    else:
        conditions = query["hash_key_conditions"] or []
        if len(conditions) != 1 or conditions[0][0] != view.hash_attr:
            return None
        partition = conditions[0][1]
    range_conditions = query["range_key_conditions"] or []
    if len(range_conditions) > 1 or (range_conditions and range_conditions[0][0] != view.range_attr):
        return None
    if query["range_comparison"] and view.range_attr is None:
        return None
    start = _start_key(view, query["exclusive_start_key"])
    if start is _UNSUPPORTED or not isinstance(partition, DynamoType):
        return None
    entries = view.groups.get(partition, [])
    bounds = _range_bounds(entries, query["range_comparison"], query["range_objs"])
    if bounds is None:
        return None
    keys = _window(entries, bounds, start, query["limit"], query["scan_index_forward"] is not False)  # type: ignore[arg-type]
    items = []
    for key in keys:
        item = table.get_item(*key) if key[1] is not None else table.get_item(key[0])
        if item is None:
            return None  # the view went stale (a write path it does not know): moto answers
        items.append(item)
    if sum(item.size() for item in items) + _MAX_ITEM_BYTES > RESULT_SIZE_LIMIT:
        return None  # moto's 1 MB page limit could cut the page: let moto walk the whole partition
    return items


_QUERY_ARGS = (
    "hash_key",
    "range_comparison",
    "range_objs",
    "limit",
    "exclusive_start_key",
    "scan_index_forward",
    "projection_expressions",
    "index_name",
    "consistent_read",
    "filter_expression",
)


def _narrowed_query(original: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(original)
    def query(self: Table, *args: Any, **kwargs: Any) -> Any:
        named = dict(zip(_QUERY_ARGS, args, strict=False))
        known = {k: kwargs[k] for k in (*_QUERY_ARGS, "hash_key_conditions", "range_key_conditions") if k in kwargs}
        extra = {k: v for k, v in kwargs.items() if k not in known}
        spec = {
            **dict.fromkeys(_QUERY_ARGS),
            "hash_key_conditions": None,
            "range_key_conditions": None,
            **named,
            **known,
            "filter_kwargs": extra,
        }
        with _LOCK:
            candidates = _candidates(self, spec)
        if candidates is None:
            return original(self, *args, **kwargs)
        _NARROWED.table, _NARROWED.items = self, candidates
        try:
            return original(self, *args, **kwargs)
        finally:
            _NARROWED.table, _NARROWED.items = None, None

    return query


def _narrowed_items(original: Callable[[Table], list[Item]]) -> Callable[[Table], list[Item]]:
    @functools.wraps(original)
    def all_items(self: Table) -> list[Item]:
        if getattr(_NARROWED, "table", None) is self:
            return list(_NARROWED.items)
        return original(self)

    return all_items


def _scan_candidates(table: Table, limit: int | None, exclusive_start_key: dict[str, Any] | None) -> list[Item] | None:
    """The items a Scan page of the table can consist of: after the start key, up to ``limit`` or moto's
    page size, and one more (or None when moto's original scan should answer)."""
    order = _scan_order(table)
    first = 0
    if exclusive_start_key is not None:
        key = _key_of(table, exclusive_start_key)
        if key is None or (table.range_key_attr is not None and key[1] is None):
            return None
        try:
            first = bisect.bisect_right(order.entries, _scan_sort(key), key=_sort_key)
        except TypeError:
            return None
    items: list[Item] = []
    size = 0
    for _, key in order.entries[first:]:
        item = table.get_item(*key) if key[1] is not None else table.get_item(key[0])
        if item is None:
            return None  # the order went stale (a write path it does not know): moto answers
        items.append(item)
        size += item.size()
        if (limit is not None and len(items) > limit) or size > RESULT_SIZE_LIMIT:
            break
    return items


def _narrowed_scan(original: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(original)
    def scan(
        self: Table,
        filters: dict[str, Any],
        limit: int | None,
        exclusive_start_key: dict[str, Any] | None,
        filter_expression: Any = None,
        index_name: str | None = None,
        consistent_read: bool = False,
        projection_expression: Any = None,
        segments: tuple[Any, Any] = (None, None),
    ) -> Any:
        args = (filters, limit, exclusive_start_key, filter_expression, index_name, consistent_read)
        # moto applies a FilterExpression after its loop (the page is cut before filtering); legacy ScanFilter
        # conditions, indexes and segments take moto's own scan
        plain = not filters and index_name is None and tuple(segments) == (None, None)
        with _LOCK:
            candidates = _scan_candidates(self, limit, exclusive_start_key) if plain else None
        if candidates is None:
            return original(self, *args, projection_expression, segments)
        _NARROWED.table, _NARROWED.items = self, candidates
        try:
            return original(self, *args, projection_expression, segments)
        finally:
            _NARROWED.table, _NARROWED.items = None, None

    return scan


# ---- keeping the views current --------------------------------------------------------------------


def _after_put(original: Callable[..., Item]) -> Callable[..., Item]:
    @functools.wraps(original)
    def put_item(self: Table, *args: Any, **kwargs: Any) -> Item:
        item = original(self, *args, **kwargs)
        _reindex(self, _primary_key(item))
        return item

    return put_item


def _after_delete(original: Callable[..., Item | None]) -> Callable[..., Item | None]:
    @functools.wraps(original)
    def delete_item(self: Table, hash_key: DynamoType, range_key: DynamoType | None = None) -> Item | None:
        try:
            return original(self, hash_key, range_key)
        finally:
            _reindex(self, (hash_key, range_key))

    return delete_item


def _key_of(table: Table, key: dict[str, Any]) -> PrimaryKey | None:
    try:
        hash_value = DynamoType(key[table.hash_key_attr])
        range_value = DynamoType(key[table.range_key_attr]) if table.range_key_attr else None
    except Exception:
        return None
    return hash_value, range_value


def _after_update(original: Callable[..., Item]) -> Callable[..., Item]:
    @functools.wraps(original)
    def update_item(self: Any, table_name: str, key: dict[str, Any], *args: Any, **kwargs: Any) -> Item:
        try:
            return original(self, table_name, key, *args, **kwargs)
        finally:
            table = self.tables.get(table_name)
            primary = _key_of(table, key) if table is not None else None
            if primary is not None:
                _reindex(table, primary)

    return update_item


@contextlib.contextmanager
def fast_queries() -> Iterator[None]:
    """While the block runs, moto's Query and Scan read only the page they return (plus one key)."""
    backend_class = ddb_models.DynamoDBBackend
    saved = (Table.query, Table.all_items, Table.put_item, Table.delete_item, backend_class.update_item)
    saved_scan = Table.scan
    Table.scan = _narrowed_scan(saved_scan)  # type: ignore[method-assign]
    Table.query = _narrowed_query(saved[0])  # type: ignore[method-assign]
    Table.all_items = _narrowed_items(saved[1])  # type: ignore[method-assign,assignment]
    Table.put_item = _after_put(saved[2])  # type: ignore[method-assign]
    Table.delete_item = _after_delete(saved[3])  # type: ignore[method-assign]
    backend_class.update_item = _after_update(saved[4])  # type: ignore[method-assign]
    try:
        yield
    finally:
        for table in list(_INDEXED):  # without the write hooks the views would go stale
            table.__dict__.pop(_VIEWS, None)
        _INDEXED.clear()
        Table.query, Table.put_item, Table.delete_item = saved[0], saved[2], saved[3]  # type: ignore[method-assign]
        Table.all_items = saved[1]  # type: ignore[method-assign]
        Table.scan = saved_scan  # type: ignore[method-assign]
        backend_class.update_item = saved[4]  # type: ignore[method-assign]
