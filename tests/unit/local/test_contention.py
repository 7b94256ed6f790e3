"""The contention model's rules, each from AWS's DynamoDB Developer Guide (section named per test)."""

from __future__ import annotations

from typing import Any

from ganger.local.contention import ContentionModel, ContentionParams, IndexSchema, TableSchema, Write

TASKS = TableSchema("tasks", "task_id", None, (IndexSchema("gf", "labourer_id", "greenfield"),))


def model(**params: Any) -> ContentionModel:
    return ContentionModel({"tasks": TASKS}, ContentionParams(**params))


def update(task_id: str) -> dict[str, Any]:
    return {"Update": {"TableName": "tasks", "Key": {"task_id": {"S": task_id}}, "UpdateExpression": "SET a = :a"}}


def check(task_id: str) -> dict[str, Any]:
    return {"ConditionCheck": {"TableName": "tasks", "Key": {"task_id": {"S": task_id}}, "ConditionExpression": "x"}}


def transact(m: ContentionModel, now: float, *items: dict[str, Any]) -> Any:
    return m.admit("TransactWriteItems", {"TransactItems": list(items)}, now, {})


def test_a_transaction_holding_an_item_cancels_another_naming_it() -> None:
    """'Transaction conflict handling': an item in an ongoing TransactWriteItems cancels a second one."""
    m = model(transact_s=0.015)
    assert transact(m, 0.000, update("counter"), update("a")) is None
    rejected = transact(m, 0.010, update("b"), update("counter"))
    assert rejected is not None and rejected.code == "TransactionCanceledException"
    assert rejected.reasons == ("None", "TransactionConflict")
    assert transact(m, 0.016, update("b"), update("counter")) is None  # the hold ended at 15 ms
    assert m.counts.transaction_conflicts == 1


def test_a_condition_check_holds_its_item_too() -> None:
    """Same section: every item of the transaction, ConditionChecks included, is part of it."""
    m = model()
    assert transact(m, 0.0, update("a"), check("counter")) is None
    rejected = transact(m, 0.005, check("counter"))
    assert rejected is not None and rejected.reasons == ("TransactionConflict",)


def test_a_plain_write_to_a_held_item_fails_and_a_read_succeeds() -> None:
    """Same section: Put/Update/Delete on an item in an ongoing transaction get TransactionConflictException;
    a concurrent GetItem succeeds."""
    m = model()
    assert transact(m, 0.0, update("counter")) is None
    key = {"TableName": "tasks", "Key": {"task_id": {"S": "counter"}}}
    rejected = m.admit("UpdateItem", {**key, "UpdateExpression": "SET a = :a"}, 0.001, {})
    assert rejected is not None and rejected.code == "TransactionConflictException"
    assert m.admit("GetItem", key, 0.001, {}) is None
    assert m.admit("UpdateItem", {**key, "UpdateExpression": "SET a = :a"}, 0.1, {}) is None


def _charge_puts(m: ContentionModel, count: int, now: float, labourer: str = "L") -> None:
    for i in range(count):
        item = {"task_id": {"S": f"t{now}-{i}"}, "labourer_id": {"S": labourer}, "greenfield": {"N": str(i)}}
        write = Write("tasks", {"task_id": item["task_id"]}, put=item)
        m.settle("PutItem", [write], now, {}, {write.ident: item})


def test_a_hot_index_key_throttles_writes_for_a_second() -> None:
    """'Warm throughput': one partition (a key value of a table or index) takes 1,000 write units a second;
    an index that cannot take its writes throttles the table's write."""
    m = model()
    _charge_puts(m, 1000, 0.5)
    new = {"task_id": {"S": "next"}, "labourer_id": {"S": "L"}, "greenfield": {"N": "5"}}
    rejected = m.admit("PutItem", {"TableName": "tasks", "Item": new}, 0.9, {})
    assert rejected is not None and rejected.code == "ThrottlingException"
    other = {**new, "labourer_id": {"S": "other"}}
    assert m.admit("PutItem", {"TableName": "tasks", "Item": other}, 0.9, {}) is None  # another key is cold
    tx = transact(m, 0.9, {"Put": {"TableName": "tasks", "Item": new}})
    assert tx is not None and tx.reasons == ("ThrottlingError",)
    assert m.admit("PutItem", {"TableName": "tasks", "Item": new}, 1.6, {}) is None  # a second later


def test_an_item_outside_the_sparse_index_costs_the_index_nothing() -> None:
    m = model()
    for i in range(1500):
        item = {"task_id": {"S": f"marker{i}"}, "n": {"N": "1"}}
        write = Write("tasks", {"task_id": item["task_id"]}, put=item)
        m.settle("PutItem", [write], 0.1, {}, {write.ident: item})
    new = {"task_id": {"S": "next"}, "labourer_id": {"S": "L"}, "greenfield": {"N": "5"}}
    assert m.admit("PutItem", {"TableName": "tasks", "Item": new}, 0.2, {}) is None


def test_write_units_transactions_twice_and_index_moves_twice() -> None:
    """'Capacity unit consumption for writes': a transactional write costs 2 units per KB; a change that moves an
    item within a GSI (its sort key) is a delete and a put there."""
    m = model()
    old = {"task_id": {"S": "t"}, "labourer_id": {"S": "L"}, "greenfield": {"N": "1"}}
    new = {**old, "greenfield": {"N": "2"}}
    write = Write("tasks", {"task_id": {"S": "t"}})
    m.settle("TransactWriteItems", [write], 0.0, {write.ident: old}, {write.ident: new})
    table_window = m._windows['tasks|{"S": "t"}']
    index_window = m._windows['tasks/gf|{"S": "L"}']
    assert table_window.total == 2
    assert index_window.total == 2


def test_a_batch_leaves_held_items_unprocessed() -> None:
    """BatchWriteItem returns the items it could not write as UnprocessedItems."""
    m = model()
    assert transact(m, 0.0, update("b")) is None
    puts = [{"PutRequest": {"Item": {"task_id": {"S": name}}}} for name in ("a", "b", "c")]
    rejected = m.admit("BatchWriteItem", {"RequestItems": {"tasks": puts}}, 0.001, {})
    assert rejected is not None and rejected.unprocessed == (1,)
