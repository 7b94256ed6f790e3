"""All the embedded DynamoDB's speed patches together answer every call exactly as unpatched moto does.

One random workload (conditional puts, updates with SET/ADD/REMOVE and conditions, deletes,
transactions that commit and that are cancelled, queries on the table and a GSI, reads, scans,
malformed requests) is replayed twice from the same seed: on plain moto and under ``fast_moto()``.
Every answer (the response, or the error code and message) and the tables' final contents must be
equal.
"""

from __future__ import annotations

import random
from typing import Any

import boto3
import botocore.exceptions
from moto import mock_aws

from ganger.local.moto_fast import fast_moto

TASKS = "tasks"
LABOURERS = ("alpha", "beta")


def _create(client: Any) -> None:
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
            }
        ],
    )


def _key(rng: random.Random) -> dict[str, Any]:
    return {"task_id": {"S": f"t{rng.randrange(30):02d}"}}


def _item(rng: random.Random) -> dict[str, Any]:
    item = {
        **_key(rng),
        "labourer_id": {"S": rng.choice(LABOURERS)},
        "greenfield": {"N": str(rng.randrange(100))},
        "payload": {"M": {"n": {"N": str(rng.randrange(9))}, "tags": {"SS": ["a", rng.choice("bcd")]}}},
        "attempts": {"N": str(rng.randrange(3))},
    }
    if rng.random() < 0.3:
        item["blob"] = {"B": rng.randbytes(4)}
    return item


def _condition(rng: random.Random) -> dict[str, Any]:
    choice = rng.randrange(5)
    if choice == 0:
        return {}
    if choice == 1:
        return {"ConditionExpression": "attribute_not_exists(task_id)"}
    if choice == 2:
        return {"ConditionExpression": "attribute_exists(task_id)"}
    if choice == 3:
        return {
            "ConditionExpression": "greenfield < :g AND #a <= :a",
            "ExpressionAttributeNames": {"#a": "attempts"},
            "ExpressionAttributeValues": {":g": {"N": str(rng.randrange(100))}, ":a": {"N": "1"}},
        }
    return {"ConditionExpression": "labourer_id = :l", "ExpressionAttributeValues": {":l": {"S": "alpha"}}}


def _update(rng: random.Random) -> dict[str, Any]:
    condition = _condition(rng)
    values = dict(condition.get("ExpressionAttributeValues", {}))
    names = dict(condition.get("ExpressionAttributeNames", {}))
    choice = rng.randrange(4)
    if choice == 0:
        expression = "SET greenfield = :ng, labourer_id = :nl"
        values.update({":ng": {"N": str(rng.randrange(100))}, ":nl": {"S": rng.choice(LABOURERS)}})
    elif choice == 1:
        expression, names["#t"] = "ADD #t :one", "attempts"
        values[":one"] = {"N": "1"}
    elif choice == 2:
        expression = "REMOVE greenfield"
    else:
        expression = "SET payload.n = :n"  # fails when the item has no payload
        values[":n"] = {"N": "7"}
    update: dict[str, Any] = {**condition, "UpdateExpression": expression}
    if values:
        update["ExpressionAttributeValues"] = values
    if names:
        update["ExpressionAttributeNames"] = names
    return update


def _call(client: Any, rng: random.Random) -> tuple[str, dict[str, Any]]:
    kind = rng.randrange(9)
    if kind == 0:
        return "put_item", {"TableName": TASKS, "Item": _item(rng), **_condition(rng), "ReturnValues": "ALL_OLD"}
    if kind == 1:
        return "update_item", {"TableName": TASKS, "Key": _key(rng), **_update(rng), "ReturnValues": "ALL_NEW"}
    if kind == 2:
        return "delete_item", {"TableName": TASKS, "Key": _key(rng), **_condition(rng)}
    if kind == 3:
        items = [
            {"Put": {"TableName": TASKS, "Item": _item(rng), **_condition(rng)}},
            {"Update": {"TableName": TASKS, "Key": _key(rng), **_update(rng)}},
            {"Delete": {"TableName": TASKS, "Key": _key(rng), **_condition(rng)}},
        ]
        keys = {str(i[next(iter(i))].get("Key", i[next(iter(i))].get("Item", {})).get("task_id")) for i in items}
        if len(keys) < len(items):  # one item named twice: moto rejects it, both ways
            items = items[:1]
        return "transact_write_items", {"TransactItems": items}
    if kind == 4:
        request = {
            "TableName": TASKS,
            "IndexName": "greenfield",
            "KeyConditionExpression": "labourer_id = :l AND greenfield < :g",
            "ExpressionAttributeValues": {":l": {"S": rng.choice(LABOURERS)}, ":g": {"N": str(rng.randrange(100))}},
            "Limit": rng.randrange(1, 6),
            "ScanIndexForward": rng.random() < 0.5,
        }
        return "query", request
    if kind == 5:
        return "get_item", {"TableName": TASKS, "Key": _key(rng)}
    if kind == 6:
        return "scan", {"TableName": TASKS, "Limit": rng.randrange(1, 10)}
    if kind == 7:
        return "batch_get_item", {"RequestItems": {TASKS: {"Keys": [_key(rng)]}}}
    malformed = {"UpdateExpression": "SET #x = :v", "ExpressionAttributeNames": {"#x": "a"}}  # :v undefined
    return "update_item", {"TableName": TASKS, "Key": _key(rng), **malformed}


def _replay(seed: int, calls: int) -> list[Any]:
    rng = random.Random(seed)
    client = boto3.client("dynamodb", region_name="us-east-1")
    _create(client)
    answers: list[Any] = []
    for _ in range(calls):
        operation, request = _call(client, rng)
        try:
            response = getattr(client, operation)(**request)
            response.pop("ResponseMetadata", None)
            answers.append((operation, response))
        except botocore.exceptions.ClientError as exc:
            error = exc.response["Error"]
            reasons = exc.response.get("CancellationReasons")
            answers.append((operation, "error", error.get("Code"), error.get("Message"), reasons))
    answers.append(client.scan(TableName=TASKS)["Items"])
    return answers


def test_a_random_workload_answers_exactly_as_on_unpatched_moto() -> None:
    with mock_aws():
        expected = _replay(seed=16, calls=600)
    with mock_aws(), fast_moto():
        answered = _replay(seed=16, calls=600)
    assert len(answered) == len(expected)
    for number, (got, want) in enumerate(zip(answered, expected, strict=True)):
        assert got == want, f"call {number}"
    errors = [a for a in expected[:-1] if len(a) > 2]
    assert 50 < len(errors) < 500  # the workload exercises both answers
