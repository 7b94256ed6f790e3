"""The embedded DynamoDB's responses are byte for byte what moto's own serialiser writes.

Random items of every attribute type (nested maps and lists, sets, binary, empty strings) go
through moto's models as a request would (``DynamoType``, then ``dynamo_to_dict`` as moto's
DynamoDB responses do) and are serialised for the operations that return items, once by moto's
own code and once with ``fast_responses``; the response bodies must be equal strings. A boto3
round trip then reads back through the patched server exactly what it wrote.
"""

from __future__ import annotations

import base64
import random
from collections.abc import Callable
from typing import Any

import boto3
import pytest
from moto import mock_aws
from moto.core.serialize import JSONSerializer, XFormedAttributePicker
from moto.core.utils import get_service_model
from moto.dynamodb.models.dynamo_type import DynamoType
from moto.dynamodb.models.utilities import dynamo_to_dict

from ganger.local.moto_serialize import fast_responses

SCALARS: dict[str, Callable[[random.Random], Any]] = {
    "S": lambda rng: rng.choice(("", "a", "task#7", "ünïcode ✓", '"quoted" \\ slash', "x" * rng.randrange(40))),
    "N": lambda rng: rng.choice(("0", "-1", "3.25", "1e10", str(rng.randrange(10**12)))),
    "BOOL": lambda rng: rng.random() < 0.5,
    "NULL": lambda rng: True,
    "B": lambda rng: base64.b64encode(rng.randbytes(rng.randrange(1, 9))).decode(),
}


def _value(rng: random.Random, depth: int = 0) -> dict[str, Any]:
    kind = rng.choice(("S", "S", "N", "N", "BOOL", "NULL", "B", "SS", "NS", "BS", "M", "L") if depth < 3 else "SN")
    if kind in SCALARS:
        return {kind: SCALARS[kind](rng)}
    if kind in ("SS", "NS", "BS"):
        make = SCALARS[kind[0]]
        return {kind: sorted({make(rng) for _ in range(rng.randrange(1, 4))})}
    if kind == "M":
        return {"M": {f"k{i}": _value(rng, depth + 1) for i in range(rng.randrange(0, 4))}}
    return {"L": [_value(rng, depth + 1) for _ in range(rng.randrange(0, 4))]}


def _item(rng: random.Random, binary: bool) -> dict[str, Any]:
    item = {"task_id": {"S": f"t{rng.randrange(1000)}"}}
    for i in range(rng.randrange(0, 8)):
        value = _value(rng)
        while not binary and any(b in repr(value) for b in ("'B'", "'BS'")):
            value = _value(rng)
        item[f"a{i}"] = value
    return item


def _as_moto_returns(item: dict[str, Any]) -> dict[str, Any]:
    """An item as moto's DynamoDB responses hand it to the serialiser."""
    return dynamo_to_dict({name: DynamoType(value) for name, value in item.items()})  # type: ignore[no-any-return]


def _results(rng: random.Random, binary: bool) -> list[tuple[str, dict[str, Any]]]:
    def items(n: int) -> list[dict[str, Any]]:
        return [_as_moto_returns(_item(rng, binary)) for _ in range(n)]

    page = items(rng.randrange(0, 6))
    return [
        ("GetItem", {"Item": items(1)[0]}),
        ("GetItem", {}),
        ("Query", {"Count": len(page), "ScannedCount": len(page), "Items": page, "LastEvaluatedKey": items(1)[0]}),
        ("Scan", {"Count": len(page), "ScannedCount": len(page), "Items": page}),
        ("BatchGetItem", {"Responses": {"tasks": items(3), "closed": items(2)}, "UnprocessedKeys": {}}),
        ("UpdateItem", {"Attributes": items(1)[0]}),
        ("PutItem", {"Attributes": items(1)[0]}),
        ("TransactGetItems", {"Responses": [{"Item": i} for i in items(2)]}),
    ]


def _body(operation: str, result: dict[str, Any]) -> str:
    model = get_service_model("dynamodb").operation_model(operation)
    serializer = JSONSerializer(operation_model=model, value_picker=XFormedAttributePicker())
    body = serializer.serialize(result)["body"]
    assert isinstance(body, str)
    return body


@pytest.mark.parametrize("binary", [False, True], ids=["plain", "with-binary"])
def test_every_response_body_equals_moto_own(binary: bool) -> None:
    rng = random.Random(16)
    compared = 0
    for _ in range(150):
        for operation, result in _results(rng, binary):
            expected = _body(operation, result)
            with fast_responses():
                assert _body(operation, result) == expected, operation
            compared += 1
    assert compared == 1200


def test_other_services_and_shapes_are_left_to_moto() -> None:
    """An AttributeValue of another service, or a value the patch does not know, takes moto's path."""
    model = get_service_model("dynamodb").operation_model("GetItem")
    odd = {"Item": {"a": {"S": "x", "Unknown": "y"}, "b": {"N": 5}}}  # not what moto's models produce
    expected = JSONSerializer(operation_model=model, value_picker=XFormedAttributePicker()).serialize(odd)["body"]
    with fast_responses():
        assert _body("GetItem", odd) == expected


def test_a_boto3_round_trip_reads_back_what_it_wrote() -> None:
    rng = random.Random(7)
    written = [_item(rng, binary=True) for _ in range(40)]
    written = list({i["task_id"]["S"]: i for i in written}.values())
    with mock_aws(), fast_responses():
        client = boto3.client("dynamodb", region_name="us-east-1")
        client.create_table(
            TableName="tasks",
            BillingMode="PAY_PER_REQUEST",
            AttributeDefinitions=[{"AttributeName": "task_id", "AttributeType": "S"}],
            KeySchema=[{"AttributeName": "task_id", "KeyType": "HASH"}],
        )
        for item in written:
            client.put_item(TableName="tasks", Item=_decoded(item))  # boto3 base64-encodes bytes itself
        read = [client.get_item(TableName="tasks", Key={"task_id": i["task_id"]})["Item"] for i in written]
    assert [_decoded(i) for i in read] == [_decoded(i) for i in written]


def _decoded(value: Any) -> Any:
    """Binary values as bytes, as boto3 takes and returns them (the generated items hold them base64-encoded)."""
    if isinstance(value, dict):
        return {k: _binary(k, v) if k in ("B", "BS") else _decoded(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_decoded(v) for v in value]
    return value


def _binary(kind: str, value: Any) -> Any:
    def one(v: Any) -> bytes:
        return v if isinstance(v, bytes) else base64.b64decode(v)

    return one(value) if kind == "B" else sorted(one(v) for v in value)
