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

import contextlib
import functools
import threading
from collections.abc import Callable, Iterator
from typing import Any

import moto.dynamodb.models as ddb_models
from moto.dynamodb.models.dynamo_type import DynamoType, Item
from moto.dynamodb.models.table import Table

from ganger.local.moto_views import (
    INDEXED,
    LOCK,
    VIEWS,
    key_of,
    primary_key,
    query_candidates,
    reindex,
    scan_candidates,
)

_NARROWED = threading.local()  # this thread's query: the table whose items are narrowed, and to what


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
        with LOCK:
            candidates = query_candidates(self, spec)
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
        with LOCK:
            candidates = scan_candidates(self, limit, exclusive_start_key) if plain else None
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
        reindex(self, primary_key(item))
        return item

    return put_item


def _after_delete(original: Callable[..., Item | None]) -> Callable[..., Item | None]:
    @functools.wraps(original)
    def delete_item(self: Table, hash_key: DynamoType, range_key: DynamoType | None = None) -> Item | None:
        try:
            return original(self, hash_key, range_key)
        finally:
            reindex(self, (hash_key, range_key))

    return delete_item


def _after_update(original: Callable[..., Item]) -> Callable[..., Item]:
    @functools.wraps(original)
    def update_item(self: Any, table_name: str, key: dict[str, Any], *args: Any, **kwargs: Any) -> Item:
        try:
            return original(self, table_name, key, *args, **kwargs)
        finally:
            table = self.tables.get(table_name)
            primary = key_of(table, key) if table is not None else None
            if primary is not None:
                reindex(table, primary)

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
        for table in list(INDEXED):  # without the write hooks the views would go stale
            table.__dict__.pop(VIEWS, None)
        INDEXED.clear()
        Table.query, Table.put_item, Table.delete_item = saved[0], saved[2], saved[3]  # type: ignore[method-assign]
        Table.all_items = saved[1]  # type: ignore[method-assign]
        Table.scan = saved_scan  # type: ignore[method-assign]
        backend_class.update_item = saved[4]  # type: ignore[method-assign]
