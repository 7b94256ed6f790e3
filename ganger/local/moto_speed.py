"""Make in-process moto's TransactWriteItems cost O(items in the transaction), not O(table size).

moto backs up every table a transaction touches with ``copy.deepcopy(table)`` before applying it,
so each transaction copies the whole tasks table: a 10,000-task run would spend hours copying.
This patch keeps moto's own transaction code and outcome, but snapshots only the items the
transaction names and restores those when moto cancels it. It changes the emulator's speed, not
what any API call returns, and it counts no calls: it lives below botocore.
"""

from __future__ import annotations

import contextlib
import copy
from collections.abc import Iterator
from typing import Any

import moto.dynamodb.models as ddb_models
from moto.dynamodb.models.table import Table


class _TablesByReference:
    """Stands in for the ``copy`` module inside moto's DynamoDB models: tables are not copied."""

    @staticmethod
    def deepcopy(value: Any, memo: Any = None) -> Any:
        return value if isinstance(value, Table) else copy.deepcopy(value, memo)

    def __getattr__(self, name: str) -> Any:
        return getattr(copy, name)


def _key_of(backend: Any, op_type: str, op: dict[str, Any]) -> dict[str, Any] | None:
    if op_type != "Put":
        return op.get("Key")
    table = backend.tables.get(op.get("TableName"))
    if table is None:
        return None
    attrs = op.get("Item", {})
    key = {table.hash_key_attr: attrs.get(table.hash_key_attr)}
    if table.range_key_attr is not None:
        key[table.range_key_attr] = attrs.get(table.range_key_attr)
    return key


def _snapshot(backend: Any, transact_items: list[dict[str, Any]]) -> list[tuple[str, dict[str, Any], Any]]:
    saved = []
    for item in transact_items:
        op_type, op = next(iter(item.items()))
        table_name = op.get("TableName")
        key = _key_of(backend, op_type, op)
        if table_name not in backend.tables or key is None:
            continue
        try:
            current = backend.get_item(table_name, key)
        except Exception:  # a malformed key: moto's own code raises the right error below
            continue
        saved.append((table_name, key, copy.deepcopy(current.to_json()["Attributes"]) if current else None))
    return saved


def _restore(backend: Any, saved: list[tuple[str, dict[str, Any], Any]]) -> None:
    for table_name, key, attrs in reversed(saved):
        if attrs is None:
            with contextlib.suppress(Exception):
                backend.delete_item(table_name, key)
        else:
            backend.put_item(table_name, attrs)


@contextlib.contextmanager
def fast_transactions() -> Iterator[None]:
    """While the block runs, moto's transactions snapshot items instead of whole tables."""
    backend_class = ddb_models.DynamoDBBackend
    original = backend_class.transact_write_items
    module = vars(ddb_models)  # moto imports `copy` there; it does not export it
    original_copy = module["copy"]

    def transact_write_items(self: Any, transact_items: list[dict[str, Any]]) -> None:
        saved = _snapshot(self, transact_items)
        try:
            return original(self, transact_items)
        except Exception:
            _restore(self, saved)
            raise

    module["copy"] = _TablesByReference()
    backend_class.transact_write_items = transact_write_items  # type: ignore[method-assign]
    try:
        yield
    finally:
        backend_class.transact_write_items = original  # type: ignore[method-assign]
        module["copy"] = original_copy
