"""The contending embedded DynamoDB through boto3, and handlers that overlap in simulated time."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError
from moto import mock_aws

from benchmarks.simtime import Sim
from ganger.local.contention import ContentionModel
from ganger.local.moto_contention import contending

TABLE = "items"


@pytest.fixture
def ddb() -> Iterator[Any]:
    with mock_aws():
        client = boto3.client("dynamodb", region_name="us-east-1", config=Config(retries={"total_max_attempts": 1}))
        client.create_table(
            TableName=TABLE,
            KeySchema=[{"AttributeName": "k", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "k", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
        )
        yield client


def add(key: str, n: int = 1) -> dict[str, Any]:
    return {"Update": {"TableName": TABLE, "Key": {"k": {"S": key}}, "UpdateExpression": "ADD n :n",
                       "ExpressionAttributeValues": {":n": {"N": str(n)}}}}  # fmt: skip


def test_aws_error_shapes_reach_boto3(ddb: Any) -> None:
    now = [0.0]
    with contending(ContentionModel({}), clock=lambda: now[0]) as model:
        ddb.transact_write_items(TransactItems=[add("counter"), add("a")])
        now[0] = 0.005
        with pytest.raises(ClientError) as cancelled:
            ddb.transact_write_items(TransactItems=[add("b"), add("counter")])
        assert cancelled.value.response["Error"]["Code"] == "TransactionCanceledException"
        reasons = [r["Code"] for r in cancelled.value.response["CancellationReasons"]]
        assert reasons == ["None", "TransactionConflict"]
        with pytest.raises(ClientError) as rejected:
            ddb.update_item(TableName=TABLE, Key={"k": {"S": "counter"}}, UpdateExpression="ADD n :one",
                            ExpressionAttributeValues={":one": {"N": "1"}})  # fmt: skip
        assert rejected.value.response["Error"]["Code"] == "TransactionConflictException"
        assert ddb.get_item(TableName=TABLE, Key={"k": {"S": "counter"}})["Item"]["n"] == {"N": "1"}
        now[0] = 0.020  # the first transaction's hold is over
        ddb.transact_write_items(TransactItems=[add("b"), add("counter")])
    assert ddb.get_item(TableName=TABLE, Key={"k": {"S": "counter"}})["Item"]["n"] == {"N": "2"}
    assert ddb.get_item(TableName=TABLE, Key={"k": {"S": "b"}})["Item"]["n"] == {"N": "1"}  # nothing half-done
    assert model.counts.transaction_conflicts == 1 and model.counts.write_conflicts == 1


def test_a_hot_key_is_throttled_through_boto3(ddb: Any) -> None:
    now = [0.0]
    with contending(ContentionModel({}), clock=lambda: now[0]) as model:
        for i in range(1000):
            now[0] = i / 2000
            ddb.update_item(TableName=TABLE, Key={"k": {"S": "hot"}}, UpdateExpression="ADD n :one",
                            ExpressionAttributeValues={":one": {"N": "1"}})  # fmt: skip
        with pytest.raises(ClientError) as throttled:
            ddb.put_item(TableName=TABLE, Item={"k": {"S": "hot"}})
        assert throttled.value.response["Error"]["Code"] == "ThrottlingException"
        ddb.put_item(TableName=TABLE, Item={"k": {"S": "cold"}})
    assert model.counts.throttles == 1


def test_overlapping_handlers_conflict_whichever_started_first(ddb: Any) -> None:
    """A handler that began first but reaches its transaction later still meets the other's hold."""
    sim = Sim(0.0)
    outcomes: dict[str, str] = {}

    def handler(name: str, reads_first: int) -> Any:
        def run() -> None:
            for _ in range(reads_first):  # 3 ms each
                ddb.get_item(TableName=TABLE, Key={"k": {"S": "counter"}})
            try:
                ddb.transact_write_items(TransactItems=[add(name), add("counter")])
                outcomes[name] = f"ok at {sim.now:.3f}"
            except ClientError as exc:
                outcomes[name] = exc.response["Error"]["Code"]

        return run

    with contending(ContentionModel({}), sim.clock, sim.elapse):
        sim.spawn("early", handler("early", reads_first=2), at=0.000)  # its transaction starts at 6 ms
        sim.spawn("late", handler("late", reads_first=0), at=0.001)  # holds the counter from 1 ms to 16 ms
        while sim.step():
            pass
    assert outcomes == {"late": "ok at 0.016", "early": "TransactionCanceledException"}
    assert not sim.errors


def test_handlers_apart_in_time_do_not_conflict(ddb: Any) -> None:
    sim = Sim(0.0)
    done: list[str] = []

    def handler(name: str) -> Any:
        def run() -> None:
            ddb.transact_write_items(TransactItems=[add(name), add("counter")])
            done.append(name)

        return run

    with contending(ContentionModel({}), sim.clock, sim.elapse):
        sim.spawn("a", handler("a"), at=0.0)
        sim.spawn("b", handler("b"), at=0.0151)
        while sim.step():
            pass
    assert done == ["a", "b"] and not sim.errors
