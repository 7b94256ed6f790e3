"""The sorted keys behind ``moto_index``: per table and per index, the items' keys in moto's own order.

A ``View`` (the table itself, or one index) groups the keys by partition key and sorts each group as
moto's query code sorts it; a ``ScanOrder`` keeps the table's keys in moto's scan order. Both are
built on first use and kept current through ``reindex`` by the write paths ``moto_index`` patches.
``query_candidates`` and ``scan_candidates`` pick from them the few items a page can consist of, or say
(None) that moto's original code should answer. Callers hold ``LOCK``.
"""

from __future__ import annotations

import bisect
import threading
import weakref
from dataclasses import dataclass, field
from typing import Any

from moto.dynamodb.models.dynamo_type import DynamoType, Item
from moto.dynamodb.models.table import RESULT_SIZE_LIMIT, GlobalSecondaryIndex, Table

VIEWS = "_ganger_query_views"
_MAX_ITEM_BYTES = 400 * 1024
PrimaryKey = tuple[DynamoType, DynamoType | None]
Entry = tuple[tuple[Any, ...], PrimaryKey]
_UNSUPPORTED = object()
LOCK = threading.RLock()  # local mode's moto server answers on several threads
INDEXED: weakref.WeakSet[Table] = weakref.WeakSet()  # tables holding views: dropped when the patch ends


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
                self.groups.setdefault(partition, []).append((sort, primary_key(item)))
                self.placed[primary_key(item)] = (partition, sort)
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
            key = primary_key(item)
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


def primary_key(item: Item) -> PrimaryKey:
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
    views: dict[Any, View | ScanOrder | None] | None = table.__dict__.get(VIEWS)
    if views is None:
        views = {}
        table.__dict__[VIEWS] = views
    return views


def _view(table: Table, index_name: str | None) -> View | None:
    views = _views(table)
    if index_name not in views:
        view = _view_for(table, index_name)
        if view is not None:
            view.build(table.all_items())
        views[index_name] = view
        INDEXED.add(table)
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
        INDEXED.add(table)
    return order


def reindex(table: Table, key: PrimaryKey) -> None:
    views = table.__dict__.get(VIEWS)
    if not views:
        return
    item = table.get_item(key[0], key[1]) if table.range_key_attr is None or key[1] is not None else None
    with LOCK:
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


def query_candidates(table: Table, query: dict[str, Any]) -> list[Item] | None:
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


def scan_candidates(table: Table, limit: int | None, exclusive_start_key: dict[str, Any] | None) -> list[Item] | None:
    """The items a Scan page of the table can consist of: after the start key, up to ``limit`` or moto's
    page size, and one more (or None when moto's original scan should answer)."""
    order = _scan_order(table)
    first = 0
    if exclusive_start_key is not None:
        key = key_of(table, exclusive_start_key)
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


def key_of(table: Table, key: dict[str, Any]) -> PrimaryKey | None:
    try:
        hash_value = DynamoType(key[table.hash_key_attr])
        range_value = DynamoType(key[table.range_key_attr]) if table.range_key_attr else None
    except Exception:
        return None
    return hash_value, range_value
