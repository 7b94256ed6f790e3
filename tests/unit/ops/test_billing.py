"""Billable units of requests: index writes and transactional writes counted as DynamoDB charges them."""

from __future__ import annotations

from typing import Any

from ganger.billing import Meter

TASK = {"task_id": {"S": "j-1"}, "labourer_id": {"S": "w"}, "greenfield": {"N": "1000000001"},
        "created_at": {"N": "1800000000"}, "payload": {"S": "{}"}}  # fmt: skip


def units(operation: str, params: dict[str, Any], response: dict[str, Any] | None = None) -> dict[str, Any]:
    meter = Meter()
    meter.record("dynamodb", operation, params, response or {})
    return meter.units.to_dict()


def test_a_new_task_writes_the_table_and_the_greenfield_index() -> None:
    got = units("BatchWriteItem", {"RequestItems": {"sosw_tasks": [{"PutRequest": {"Item": TASK}}] * 25}})
    assert got["dynamodb_table_write_units"] == 25
    assert got["dynamodb_index_write_units"] == 25


def test_a_claim_in_a_transaction_costs_double_and_moves_the_index_entry() -> None:
    claim = {"Update": {"TableName": "sosw_tasks", "Key": {"task_id": {"S": "j-1"}},
                        "UpdateExpression": "SET greenfield = :inv ADD attempts :one"}}  # fmt: skip
    counter = {"Update": {"TableName": "sosw_tasks", "Key": {"task_id": {"S": "_ganger_slots#w"}},
                          "UpdateExpression": "ADD free_slots :minus"}}  # fmt: skip
    got = units("TransactWriteItems", {"TransactItems": [claim, counter]})
    assert got["dynamodb_table_write_units"] == 2 + 2  # both transactional
    assert got["dynamodb_index_write_units"] == 2  # the claim deletes and re-puts its index entry; the counter none


def test_archiving_deletes_one_index_entry_and_puts_another() -> None:
    closed = dict(TASK, labourer_id_task_status={"S": "w_1"}, closed_at={"N": "1800000001"})
    archive = [
        {"Delete": {"TableName": "sosw_tasks", "Key": {"task_id": {"S": "j-1"}}}},
        {"Put": {"TableName": "sosw_closed_tasks", "Item": closed}},
        {"ConditionCheck": {"TableName": "sosw_tasks", "Key": {"task_id": {"S": "_ganger_slots#w"}}}},
    ]
    got = units("TransactWriteItems", {"TransactItems": archive})
    assert got["dynamodb_table_write_units"] == 6
    assert got["dynamodb_index_write_units"] == 2


def test_reads_are_half_price_when_eventually_consistent() -> None:
    items = {"Items": [TASK] * 4}
    assert units("Query", {"TableName": "sosw_tasks", "IndexName": "x"}, items)["dynamodb_read_units"] == 0.5
    consistent = {"Item": TASK}
    got = units("GetItem", {"TableName": "sosw_tasks", "ConsistentRead": True}, consistent)
    assert got["dynamodb_read_units"] == 1
