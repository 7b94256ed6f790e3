"""The embedded DynamoDB's indexed Query answers exactly as moto's own query does, on the same data.

Random writes through every path (PutItem, UpdateItem, DeleteItem, BatchWriteItem, transactions
that commit and that are cancelled) interleave with random queries on a GSI, an LSI and a table's
own key, and random scans of both tables (pages cut by Limit and by moto's 1 MB page size); every page
of every query and scan is compared with unpatched moto's answer to the same request.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterator
from typing import Any

import boto3
import pytest
from moto import mock_aws
from moto.dynamodb.models.table import Table

from ganger.local.moto_index import fast_queries
from ganger.local.moto_speed import fast_transactions

LABOURERS = ("alpha", "beta", "gamma")
TASKS = "tasks"
RETRY = "retry"


def _create_tables(client: Any) -> None:
    client.create_table(
        TableName=TASKS,
        BillingMode="PAY_PER_REQUEST",
        AttributeDefinitions=[
            {"AttributeName": "task_id", "AttributeType": "S"},
            {"AttributeName": "labourer_id", "AttributeType": "S"},
            {"AttributeName": "greenfield", "AttributeType": "N"},
        ],
        KeySchema=[{"AttributeName": "task_id", "KeyType": "HASH"}],
        GlobalSecondaryIndexes=[
            {
                "IndexName": "greenfield",
                "KeySchema": [
                    {"AttributeName": "labourer_id", "KeyType": "HASH"},
                    {"AttributeName": "greenfield", "KeyType": "RANGE"},
                ],
                "Projection": {"ProjectionType": "ALL"},
            },
            {
                "IndexName": "by_labourer",
                "KeySchema": [{"AttributeName": "labourer_id", "KeyType": "HASH"}],
                "Projection": {"ProjectionType": "KEYS_ONLY"},
            },
        ],
    )
    client.create_table(
        TableName=RETRY,
        BillingMode="PAY_PER_REQUEST",
        AttributeDefinitions=[
            {"AttributeName": "labourer_id", "AttributeType": "S"},
            {"AttributeName": "task_id", "AttributeType": "S"},
            {"AttributeName": "desired_launch_time", "AttributeType": "N"},
        ],
        KeySchema=[
            {"AttributeName": "labourer_id", "KeyType": "HASH"},
            {"AttributeName": "task_id", "KeyType": "RANGE"},
        ],
        LocalSecondaryIndexes=[
            {
                "IndexName": "launch",
                "KeySchema": [
                    {"AttributeName": "labourer_id", "KeyType": "HASH"},
                    {"AttributeName": "desired_launch_time", "KeyType": "RANGE"},
                ],
                "Projection": {"ProjectionType": "ALL"},
            }
        ],
    )


@pytest.fixture
def client() -> Iterator[Any]:
    with mock_aws(), fast_transactions(), fast_queries():
        dynamodb = boto3.client("dynamodb", region_name="us-east-1")
        _create_tables(dynamodb)
        yield dynamodb


def _unpatched(monkeypatch: pytest.MonkeyPatch, call: Callable[[], Any]) -> Any:
    """The same request answered by moto's own query (the write hooks stay, so the views stay current)."""
    with monkeypatch.context() as m:
        m.setattr(Table, "query", Table.query.__wrapped__)  # type: ignore[attr-defined]
        m.setattr(Table, "all_items", Table.all_items.__wrapped__)  # type: ignore[attr-defined]
        m.setattr(Table, "scan", Table.scan.__wrapped__)  # type: ignore[attr-defined]
        return call()


def _task(rng: random.Random) -> dict[str, Any]:
    item = {"task_id": {"S": f"t{rng.randrange(60):03d}"}, "labourer_id": {"S": rng.choice(LABOURERS)}}
    if rng.random() < 0.9:  # some items lack the range key: they are not in the greenfield GSI
        item["greenfield"] = {"N": str(rng.choice((rng.randrange(50), rng.randrange(50) * 10, 7)))}
    return item


def _retry(rng: random.Random) -> dict[str, Any]:
    return {
        "labourer_id": {"S": rng.choice(LABOURERS)},
        "task_id": {"S": f"t{rng.randrange(40):03d}"},
        "desired_launch_time": {"N": str(rng.randrange(30))},
    }


def _write(client: Any, rng: random.Random) -> None:
    kind = rng.randrange(7)
    task = _task(rng)
    key = {"task_id": task["task_id"]}
    if kind == 0:
        client.put_item(TableName=TASKS, Item=task)
    elif kind == 1:
        client.update_item(
            TableName=TASKS,
            Key=key,
            UpdateExpression="SET greenfield = :g, labourer_id = :l",
            ExpressionAttributeValues={":g": {"N": str(rng.randrange(500))}, ":l": task["labourer_id"]},
        )
    elif kind == 2:
        client.update_item(TableName=TASKS, Key=key, UpdateExpression="REMOVE greenfield")
    elif kind == 3:
        client.delete_item(TableName=TASKS, Key=key)
    elif kind == 4:
        retry = _retry(rng)
        requests = [{"PutRequest": {"Item": retry}}, {"DeleteRequest": {"Key": {"task_id": task["task_id"]}}}]
        client.batch_write_item(RequestItems={RETRY: requests[:1], TASKS: requests[1:]})
    else:
        _transact(client, rng, task, cancel=kind == 6)


def _transact(client: Any, rng: random.Random, task: dict[str, Any], cancel: bool) -> None:
    retry = _retry(rng)
    items = [
        {"Put": {"TableName": RETRY, "Item": retry}},
        {
            "Update": {
                "TableName": TASKS,
                "Key": {"task_id": task["task_id"]},
                "UpdateExpression": "SET greenfield = :g",
                "ExpressionAttributeValues": {":g": {"N": str(rng.randrange(500))}},
            }
        },
    ]
    if cancel:  # fails its condition: moto cancels the whole transaction and rolls back
        items.append(
            {
                "ConditionCheck": {
                    "TableName": RETRY,
                    "Key": {"labourer_id": {"S": "nobody"}, "task_id": {"S": "none"}},
                    "ConditionExpression": "attribute_exists(task_id)",
                }
            }
        )
    try:
        client.transact_write_items(TransactItems=items)
    except client.exceptions.TransactionCanceledException:
        assert cancel


def _query_request(rng: random.Random) -> dict[str, Any]:
    labourer = {":l": {"S": rng.choice(LABOURERS)}}
    low, high = sorted((rng.randrange(60), rng.randrange(60)))
    conditions = {
        "none": ("", {}),
        "lt": (" AND #r < :a", {":a": {"N": str(high)}}),
        "le": (" AND #r <= :a", {":a": {"N": str(high)}}),
        "gt": (" AND #r > :a", {":a": {"N": str(low)}}),
        "ge": (" AND #r >= :a", {":a": {"N": str(low)}}),
        "eq": (" AND #r = :a", {":a": {"N": "7"}}),
        "between": (" AND #r BETWEEN :a AND :b", {":a": {"N": str(low)}, ":b": {"N": str(high * 10)}}),
    }
    table, index, range_attr = rng.choice(
        ((TASKS, "greenfield", "greenfield"), (RETRY, "launch", "desired_launch_time"), (RETRY, None, "task_id"))
    )
    condition, values = conditions[rng.choice(list(conditions))]
    if range_attr == "task_id":
        condition, values = rng.choice((("", {}), (" AND #r > :a", {":a": {"S": f"t{low:03d}"}})))
    request: dict[str, Any] = {
        "TableName": table,
        "KeyConditionExpression": "labourer_id = :l" + condition,
        "ExpressionAttributeValues": {**labourer, **values},
        "ScanIndexForward": rng.random() < 0.6,
    }
    if condition:
        request["ExpressionAttributeNames"] = {"#r": range_attr}
    if index:
        request["IndexName"] = index
    if rng.random() < 0.8:
        request["Limit"] = rng.randrange(1, 12)
    return request


def _pages(client: Any, request: dict[str, Any]) -> list[dict[str, Any]]:
    pages = []
    while True:
        page = client.query(**request)
        pages.append({k: page.get(k) for k in ("Items", "Count", "ScannedCount", "LastEvaluatedKey")})
        if "LastEvaluatedKey" not in page or len(pages) > 100:
            return pages
        request = {**request, "ExclusiveStartKey": page["LastEvaluatedKey"]}


def test_every_page_equals_unpatched_moto_under_random_writes(client: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    rng = random.Random(16)
    compared = 0
    for _ in range(400):
        _write(client, rng)
        request = _query_request(rng)
        patched = _pages(client, request)
        assert patched == _unpatched(monkeypatch, lambda request=request: _pages(client, request)), request
        compared += len(patched)
    assert compared > 400


def test_a_query_hands_moto_only_its_page(client: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """A page of 10 from a partition of 2,000 items: moto sorts at most 11 of them."""

    def item(i: int) -> dict[str, Any]:
        return {"task_id": {"S": f"t{i}"}, "labourer_id": {"S": "alpha"}, "greenfield": {"N": str(i)}}

    for n in range(0, 2000, 25):
        client.batch_write_item(RequestItems={TASKS: [{"PutRequest": {"Item": item(i)}} for i in range(n, n + 25)]})
    seen: list[int] = []
    original = Table.sorted_items

    def sorted_items(self: Table, hash_attrs: Any, range_attrs: Any, items: list[Any]) -> Any:
        seen.append(len(items))
        return original(self, hash_attrs, range_attrs, items)

    monkeypatch.setattr(Table, "sorted_items", sorted_items)
    request = {
        "TableName": TASKS,
        "IndexName": "greenfield",
        "KeyConditionExpression": "labourer_id = :l AND greenfield < :g",
        "ExpressionAttributeValues": {":l": {"S": "alpha"}, ":g": {"N": "1500"}},
        "Limit": 10,
    }
    page = client.query(**request)
    assert [item["greenfield"]["N"] for item in page["Items"]] == [str(i) for i in range(10)]
    assert page["LastEvaluatedKey"]["greenfield"] == {"N": "9"}
    assert seen == [11]


def _scan_pages(client: Any, request: dict[str, Any]) -> list[dict[str, Any]]:
    pages = []
    while True:
        page = client.scan(**request)
        pages.append({k: page.get(k) for k in ("Items", "Count", "ScannedCount", "LastEvaluatedKey")})
        if "LastEvaluatedKey" not in page or len(pages) > 200:
            return pages
        request = {**request, "ExclusiveStartKey": page["LastEvaluatedKey"]}


def _scan_request(rng: random.Random) -> dict[str, Any]:
    request: dict[str, Any] = {"TableName": rng.choice((TASKS, RETRY))}
    if rng.random() < 0.7:
        request["Limit"] = rng.randrange(1, 15)
    if rng.random() < 0.3:
        request["ProjectionExpression"] = "task_id"
    if rng.random() < 0.3:
        request["FilterExpression"] = "attribute_exists(greenfield) OR desired_launch_time < :d"
        request["ExpressionAttributeValues"] = {":d": {"N": str(rng.randrange(30))}}
    return request


def test_every_scan_page_equals_unpatched_moto_under_random_writes(
    client: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    rng = random.Random(61)
    compared = 0
    for _ in range(300):
        _write(client, rng)
        request = _scan_request(rng)
        patched = _scan_pages(client, request)
        assert patched == _unpatched(monkeypatch, lambda request=request: _scan_pages(client, request)), request
        compared += len(patched)
    assert compared > 300


def test_scan_pages_cut_by_size_equal_unpatched_moto(client: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """Items of 100 to 300 KB: moto's 1 MB page size, not Limit, ends each page."""
    rng = random.Random(5)
    for i in range(40):
        big = {
            "task_id": {"S": f"t{i:03d}"},
            "labourer_id": {"S": "alpha"},
            "blob": {"S": "x" * rng.randrange(100_000, 300_000)},
        }
        client.put_item(TableName=TASKS, Item=big)
    for request in (
        {"TableName": TASKS},
        {"TableName": TASKS, "Limit": 7},
        {"TableName": TASKS, "ProjectionExpression": "task_id"},
    ):
        patched = _scan_pages(client, request)
        assert len(patched) > 5
        assert patched == _unpatched(monkeypatch, lambda request=request: _scan_pages(client, request)), request


def test_a_scan_page_hands_moto_only_its_items(client: Any) -> None:
    """A page of 10 from a table of 2,000 items: moto's scan loop sees 11 of them."""
    for n in range(0, 2000, 25):
        requests = [{"PutRequest": {"Item": {"task_id": {"S": f"t{i:04d}"}}}} for i in range(n, n + 25)]
        client.batch_write_item(RequestItems={TASKS: requests})
    seen: list[int] = []
    original = Table.all_items

    def all_items(self: Table) -> Any:
        items = original(self)
        seen.append(len(items))
        return items

    Table.all_items = all_items  # type: ignore[method-assign]
    try:
        first = client.scan(TableName=TASKS, Limit=10)
        second = client.scan(TableName=TASKS, Limit=10, ExclusiveStartKey=first["LastEvaluatedKey"])
    finally:
        Table.all_items = original  # type: ignore[method-assign]
    assert [i["task_id"]["S"] for i in second["Items"]] == [f"t{i:04d}" for i in range(10, 20)]
    assert seen == [2000, 11, 11]  # the first scan builds the table's scan order, once
