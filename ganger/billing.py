"""The billable units of AWS requests, the way DynamoDB, Lambda and SQS charge them.

A benchmark meters every request it makes (``Meter.record``) and ``ganger cost`` prices the totals.
DynamoDB on-demand: a write is 1 unit per KB of the item, 2 in a transaction (ConditionCheck included);
every index whose key the item carries costs a write too (projection ALL: the whole item): a put adds
the entry, a delete removes it, an update that changes an index key deletes and re-puts it (2), any
other update of an indexed item rewrites it (1). Reads: 1 unit per 4 KB read strongly consistently,
half that eventually consistently (every index query); a COUNT query pays for the items it counted.
"""

from __future__ import annotations

import json
import math
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from ganger import constants

MARKER_PREFIX = "_ganger_"  # job markers, queue counters and slot counters: in no index
# Index key attributes per table (yaml/tables.yaml): the tasks GSI, the retry LSI, the closed GSI.
INDEX_KEYS: dict[str, tuple[tuple[str, ...], ...]] = {
    constants.DEFAULT_TASKS_TABLE: (("labourer_id", "greenfield"),),
    constants.DEFAULT_RETRY_TABLE: (("labourer_id", "desired_launch_time"),),
    constants.DEFAULT_CLOSED_TABLE: (("labourer_id_task_status", "closed_at"),),
}
TASK_ROW_KB = 1.0  # an update or delete does not send the item: a task row is taken as <= 1 KB


def item_kb(item: dict[str, Any]) -> float:
    """An item's size as DynamoDB counts it (attribute names plus values), in KB."""
    return sum(len(name.encode()) + _value_bytes(value) for name, value in item.items()) / 1024


def _value_bytes(value: dict[str, Any]) -> int:
    ((kind, inner),) = value.items()
    if kind in ("S", "B"):
        return len(inner.encode() if isinstance(inner, str) else inner)
    if kind == "N":
        return len(str(inner).lstrip("-").replace(".", "")) // 2 + 2
    if kind in ("M",):
        return 3 + sum(len(k.encode()) + _value_bytes(v) + 1 for k, v in inner.items())
    if kind == "L":
        return 3 + sum(_value_bytes(v) + 1 for v in inner)
    return len(json.dumps(inner))


@dataclass
class Units:
    """Billable units, summed."""

    table_write_units: float = 0.0
    index_write_units: float = 0.0
    read_units: float = 0.0
    lambda_requests: Counter[str] = field(default_factory=Counter)  # by function name
    sqs_requests: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        return {
            "dynamodb_table_write_units": round(self.table_write_units, 3),
            "dynamodb_index_write_units": round(self.index_write_units, 3),
            "dynamodb_read_units": round(self.read_units, 3),
            "lambda_requests": dict(self.lambda_requests),
            "sqs_requests": self.sqs_requests,
        }


class Meter:
    """Units of each request; ``tables`` maps a table name to its role (tasks, retry, closed)."""

    def __init__(self, index_keys: dict[str, tuple[tuple[str, ...], ...]] | None = None) -> None:
        self.index_keys = index_keys if index_keys is not None else INDEX_KEYS
        self.units = Units()

    def record(self, service: str, operation: str, params: dict[str, Any], response: dict[str, Any]) -> None:
        if service == "dynamodb":
            self._dynamodb(operation, params, response)
        elif service == "lambda" and operation == "Invoke":
            self.units.lambda_requests[str(params.get("FunctionName", "")).split(":")[-1]] += 1
        elif service == "sqs" and operation in ("SendMessage", "SendMessageBatch", "ReceiveMessage",
                                                "DeleteMessage", "DeleteMessageBatch"):  # fmt: skip
            self.units.sqs_requests += 1

    # ---- DynamoDB --------------------------------------------------------------------------------

    def _dynamodb(self, operation: str, params: dict[str, Any], response: dict[str, Any]) -> None:
        if operation == "PutItem":
            self._put(params["TableName"], params["Item"], 1)
        elif operation == "UpdateItem":
            self._update(params, 1)
        elif operation == "DeleteItem":
            self._delete(params["TableName"], params["Key"], 1)
        elif operation == "BatchWriteItem":
            for table, requests in params["RequestItems"].items():
                for request in requests:
                    if "PutRequest" in request:
                        self._put(table, request["PutRequest"]["Item"], 1)
                    else:
                        self._delete(table, request["DeleteRequest"]["Key"], 1)
        elif operation == "TransactWriteItems":
            for entry in params["TransactItems"]:
                self._transact_item(entry)
        elif operation in ("GetItem", "BatchGetItem", "Query", "Scan"):
            self._read(operation, params, response)

    def _transact_item(self, entry: dict[str, Any]) -> None:
        ((kind, body),) = entry.items()
        if kind == "Put":
            self._put(body["TableName"], body["Item"], 2)
        elif kind == "Update":
            self._update(body, 2)
        elif kind == "Delete":
            self._delete(body["TableName"], body["Key"], 2)
        else:  # ConditionCheck: billed as a transactional write of the item
            self.units.table_write_units += 2 * math.ceil(TASK_ROW_KB)

    def _indexes(self, table: str) -> tuple[tuple[str, ...], ...]:
        return self.index_keys.get(table, ())

    @staticmethod
    def _is_marker(key: dict[str, Any]) -> bool:
        return str(key.get("task_id", {}).get("S", "")).startswith(MARKER_PREFIX)

    def _put(self, table: str, item: dict[str, Any], factor: int) -> None:
        kb = math.ceil(max(item_kb(item), 0.001))
        self.units.table_write_units += factor * kb
        self.units.index_write_units += kb * sum(1 for keys in self._indexes(table) if all(k in item for k in keys))

    def _update(self, params: dict[str, Any], factor: int) -> None:
        self.units.table_write_units += factor * math.ceil(TASK_ROW_KB)
        if self._is_marker(params["Key"]):
            return
        expression = str(params.get("UpdateExpression", ""))
        names = params.get("ExpressionAttributeNames", {})
        for keys in self._indexes(params["TableName"]):
            changes_key = any(k in expression or f"#{k}" in expression or k in names.values() for k in keys)
            self.units.index_write_units += (2 if changes_key else 1) * math.ceil(TASK_ROW_KB)

    def _delete(self, table: str, key: dict[str, Any], factor: int) -> None:
        self.units.table_write_units += factor * math.ceil(TASK_ROW_KB)
        if not self._is_marker(key):
            self.units.index_write_units += len(self._indexes(table)) * math.ceil(TASK_ROW_KB)

    def _read(self, operation: str, params: dict[str, Any], response: dict[str, Any]) -> None:
        if operation == "BatchGetItem":
            for table, request in params["RequestItems"].items():
                items = response.get("Responses", {}).get(table, [])
                kb = sum(item_kb(i) for i in items) or 0.001
                self.units.read_units += math.ceil(kb / 4) * (1.0 if request.get("ConsistentRead") else 0.5)
            return
        if operation == "GetItem":
            items = [response["Item"]] if response.get("Item") else []
        else:
            items = response.get("Items", [])
        if params.get("Select") == "COUNT":
            kb = int(response.get("ScannedCount", response.get("Count", 0))) * TASK_ROW_KB
        else:
            kb = sum(item_kb(i) for i in items)
        self.units.read_units += math.ceil(max(kb, 0.001) / 4) * (1.0 if params.get("ConsistentRead") else 0.5)
