"""Bad config documents (validation, and a bad edit in the table: the last good config stays) and bad
fleet queue messages (left for the dead-letter queue, never run, nothing stored changed)."""

from __future__ import annotations

import json
import logging
from typing import Any

import pytest

from essentials.orchestrator import Orchestrator
from essentials.scavenger import Scavenger
from ganger.documents import validate
from ganger.errors import ConfigError
from ganger.fleet.worker import parse_body
from ganger.labourer import LABOURERS_DOCUMENT
from tests.corpus.conftest import World

GOOD_LABOURER = {"max_simultaneous_invocations": 5, "duration": 60, "cooldown": 30, "max_attempts": 3}


def labourer(**fields: Any) -> dict[str, Any]:
    return {"labourers": {"w": {**GOOD_LABOURER, **fields}}}


BAD_DOCUMENTS = [
    ("orchestrator-not-object", "sosw_orchestrator_config", [1, 2], "expected a JSON object"),
    ("orchestrator-string", "sosw_orchestrator_config", "{}", "expected a JSON object"),
    ("coefficients-list", "sosw_orchestrator_config", {"invocation_number_coefficient": [1, 0.5]},
     "invocation_number_coefficient"),
    ("coefficient-string", "sosw_orchestrator_config", {"invocation_number_coefficient": {"4": "full"}},
     "invocation_number_coefficient"),
    ("orchestrator-labourers-string", "sosw_orchestrator_config", {"labourers": "all"}, "labourers"),
    ("scavenger-batch-string", "sosw_scavenger_config", {"batch_limit": "many"}, "batch_limit"),
    ("scavenger-topic-number", "sosw_scavenger_config", {"dead_tasks_topic_arn": 5}, "dead_tasks_topic_arn"),
    ("scheduler-rows-string", "sosw_scheduler_config", {"rows_per_step": "lots"}, "rows_per_step"),
    ("scheduler-schemas-list", "sosw_scheduler_config", {"job_schema_variants": ["default"]}, "job_schema_variants"),
    ("scheduler-lease-null", "sosw_scheduler_config", {"lease_seconds": None}, "lease_seconds"),
    ("labourers-not-object", LABOURERS_DOCUMENT, {"labourers": ["w"]}, "labourers"),
    ("labourer-not-object", LABOURERS_DOCUMENT, {"labourers": {"w": 5}}, "labourers.w"),
    ("labourer-max-attempts-zero", LABOURERS_DOCUMENT, labourer(max_attempts=0), "max_attempts"),
    ("labourer-duration-string", LABOURERS_DOCUMENT, labourer(duration="long"), "duration"),
    ("labourer-concurrency-negative", LABOURERS_DOCUMENT, labourer(max_simultaneous_invocations=-1),
     "max_simultaneous_invocations"),
    ("labourer-cooldown-negative", LABOURERS_DOCUMENT, labourer(cooldown=-5), "cooldown"),
    ("labourer-type-unknown", LABOURERS_DOCUMENT, labourer(type="docker"), "type"),
    ("labourer-retry-factor", LABOURERS_DOCUMENT, labourer(retry={"factor": 0.5}), "factor"),
    ("labourer-retry-string", LABOURERS_DOCUMENT, labourer(retry="fast"), "retry"),
    ("labourer-feelings-key", LABOURERS_DOCUMENT,
     labourer(health_metrics={"m": {"details": {"MetricName": "A", "Namespace": "B"}, "feelings": {"9": 1}}}),
     "feelings"),
    ("labourer-metric-name-missing", LABOURERS_DOCUMENT,
     labourer(health_metrics={"m": {"details": {"Namespace": "B"}, "feelings": {"4": 1}}}), "MetricName"),
    ("labourer-comparison-unknown", LABOURERS_DOCUMENT,
     labourer(health_metrics={"m": {"details": {"MetricName": "A", "Namespace": "B"}, "feelings": {"4": 1},
                                    "feeling_comparison_operator": "like"}}), "feeling_comparison_operator"),
]  # fmt: skip


@pytest.mark.parametrize(("name", "value", "names"), [c[1:] for c in BAD_DOCUMENTS], ids=[c[0] for c in BAD_DOCUMENTS])
def test_bad_document_fails_validation_naming_document_and_field(name: str, value: Any, names: str) -> None:
    with pytest.raises(ConfigError) as error:
        validate(name, value)
    message = str(error.value)
    assert name in message and names in message


def _raw_put(world: World, name: str, raw: str) -> None:
    store = world.system.config
    world.system.clients.dynamodb.put_item(TableName=store.table, Item={
        "env": {"S": store.env}, "config_name": {"S": name}, "config_value": {"S": raw}})  # fmt: skip


BAD_EDITS = [
    ("not-json", "{batch_limit: 3", "not valid JSON"),
    ("json-list", "[1]", "expected a JSON object"),
    ("wrong-type", json.dumps({"batch_limit": "many"}), "batch_limit"),
    ("unicode-garbage", json.dumps({"batch_limit": "٣"}), "batch_limit"),
    ("huge", json.dumps({"batch_limit": 7, "dead_tasks_topic_arn": ["x" * 100_000]}), "dead_tasks_topic_arn"),
]


@pytest.mark.parametrize(("raw", "names"), [c[1:] for c in BAD_EDITS], ids=[c[0] for c in BAD_EDITS])
def test_bad_edit_in_the_table_keeps_the_last_good_config(world: World, raw: str, names: str) -> None:
    name = "sosw_scavenger_config"
    previous = world.system.config.get(name)
    scavenger = Scavenger(clients=world.system.clients, function_name="sosw_scavenger", clock=world.clock)
    world.system.config.put(name, {"batch_limit": 123})
    try:
        assert scavenger.config.batch_limit == 123
        _raw_put(world, name, raw)
        assert scavenger.config.batch_limit == 123, "the last good config is kept"
        error = scavenger._config.last_error  # type: ignore[union-attr]
        assert error is not None and name in str(error) and names in str(error)
        result = scavenger({}, None)  # the Lambda still runs on its last good config
        assert "example_worker" in result["labourers"]
    finally:
        world.system.config.put(name, previous.value if previous else {})


def test_bad_labourers_edit_keeps_the_last_good_labourers(world: World) -> None:
    good = world.system.config.get(LABOURERS_DOCUMENT)
    assert good is not None
    orchestrator = Orchestrator(clients=world.system.clients, function_name="sosw_orchestrator", clock=world.clock)
    assert "example_worker" in orchestrator.labourers()
    _raw_put(world, LABOURERS_DOCUMENT, json.dumps({"labourers": {"example_worker": {"max_attempts": -1}}}))
    try:
        assert orchestrator.labourers()["example_worker"].max_attempts == 3
        error = orchestrator._labourers.last_error  # type: ignore[union-attr]
        assert error is not None and LABOURERS_DOCUMENT in str(error) and "max_attempts" in str(error)
    finally:
        world.system.config.put(LABOURERS_DOCUMENT, good.value)


def test_cold_start_with_a_bad_document_fails_clearly(world: World) -> None:
    name = "sosw_orchestrator_config"
    previous = world.system.config.get(name)
    _raw_put(world, name, json.dumps({"invocation_number_coefficient": "all"}))
    try:
        with pytest.raises(ConfigError, match=r"sosw_orchestrator_config.*invocation_number_coefficient"):
            Orchestrator(clients=world.system.clients, function_name="sosw_orchestrator", clock=world.clock)({}, None)
    finally:
        world.system.config.put(name, previous.value if previous else {})


BAD_MESSAGES = [
    ("not-json", "{task"),
    ("empty", ""),
    ("json-list", "[]"),
    ("json-string", '"seed-1"'),
    ("json-null", "null"),
    ("empty-object", "{}"),
    ("task-id-number", json.dumps({"task_id": 5})),
    ("task-id-null", json.dumps({"task_id": None})),
    ("task-id-list", json.dumps({"task_id": ["seed-1"]})),
    ("huge", json.dumps({"blob": "x" * 200_000})),
    ("unicode-no-task", json.dumps({"задача": "🍼"})),
    ("nested-task", json.dumps({"task": {"task_id": "seed-1"}})),
]


@pytest.mark.parametrize("body", [c[1] for c in BAD_MESSAGES], ids=[c[0] for c in BAD_MESSAGES])
def test_bad_fleet_message_is_left_for_the_dead_letter_queue(
    world: World, unchanged: Any, body: str, caplog: pytest.LogCaptureFixture
) -> None:
    assert parse_body(body) is None
    message = {"MessageId": "m-1", "ReceiptHandle": "r-1", "Body": body}
    with caplog.at_level(logging.ERROR, logger="ganger.fleet.worker"):
        assert world.fleet.handle(message) == "invalid"
    assert "is not a task" in caplog.text and "m-1" in caplog.text


STALE_MESSAGES = [
    ("unknown-task", lambda live: {"task_id": "no-such-task"}, "no longer live"),
    ("injection-task", lambda live: {"task_id": "x' OR '1'='1"}, "no longer live"),
    ("unicode-task", lambda live: {"task_id": "задача-🍼"}, "no longer live"),
    ("closed-task", lambda live: {"task_id": "seed-0"}, "no longer live"),
    ("queued-task", lambda live: {"task_id": "seed-2"}, "back in the queue"),
    ("forged-token", lambda live: {"task_id": live["task_id"], "invocation_token": "forged"}, "superseded"),
]


@pytest.mark.parametrize(("make", "why"), [c[1:] for c in STALE_MESSAGES], ids=[c[0] for c in STALE_MESSAGES])
def test_message_for_a_task_it_does_not_own_is_dropped_not_run(world: World, unchanged: Any, make: Any,
                                                                  why: str) -> None:  # fmt: skip
    assert world.fleet.not_owned_reason(make(world.live_task)).find(why) >= 0
    sqs = world.system.clients.sqs
    sqs.send_message(QueueUrl=world.queue_url, MessageBody=json.dumps(make(world.live_task)))
    received = sqs.receive_message(QueueUrl=world.queue_url, MaxNumberOfMessages=1)["Messages"][0]
    assert world.fleet.handle(received) == "dropped"
    attributes = sqs.get_queue_attributes(QueueUrl=world.queue_url, AttributeNames=["All"])["Attributes"]
    assert attributes["ApproximateNumberOfMessages"] == "0" == attributes["ApproximateNumberOfMessagesNotVisible"]
