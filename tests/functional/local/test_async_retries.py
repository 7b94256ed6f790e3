"""Local mode retries a failed Event invocation as Lambda does: later, a bounded number of times, then
to the function's on-failure destination."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from ganger.local.lambda_endpoint import LocalLambdaEndpoint, sqs_destination
from ganger.local.moto_server import EmbeddedAws
from tests.functional.local import handlers

CreateFunction = Callable[..., dict[str, Any]]
FLAKY = "tests.functional.local.handlers.flaky"
DELAYS = (0.3, 0.6)  # Lambda's 1 and 2 minutes, scaled down


@pytest.fixture
def retrying(fresh_aws: EmbeddedAws) -> Iterator[LocalLambdaEndpoint]:
    server = LocalLambdaEndpoint(fresh_aws.client("lambda"), max_concurrency=2, retry_delays=DELAYS,
                                 send_to_destination=sqs_destination(fresh_aws.client("sqs")))  # fmt: skip
    server.start()
    yield server
    server.stop()


def _invoke_event(aws: EmbeddedAws, endpoint: LocalLambdaEndpoint, event: dict[str, Any]) -> None:
    lam = aws.client("lambda", endpoint_url=endpoint.url)
    assert lam.invoke(FunctionName="flaky", InvocationType="Event", Payload=json.dumps(event))["StatusCode"] == 202


def _wait_for(condition: Callable[[], bool], timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def test_a_failed_event_runs_again_later_twice_by_default(
    fresh_aws: EmbeddedAws, retrying: LocalLambdaEndpoint, create_function: CreateFunction
) -> None:
    create_function("flaky", FLAKY)
    _invoke_event(fresh_aws, retrying, {"key": "twice", "fail_times": 2})
    _wait_for(lambda: len(handlers.flaky_runs.get("twice", [])) == 3 and retrying.wait_idle(0))
    runs = handlers.flaky_runs["twice"]
    assert runs[1] - runs[0] >= DELAYS[0] and runs[2] - runs[1] >= DELAYS[1]
    stats = retrying.stats()
    assert stats.retries == {"flaky": 2} and stats.errors == {"flaky": 2} and stats.to_destination == {}


@pytest.mark.parametrize("retries", [0, 1])
def test_after_maximum_retry_attempts_the_event_goes_to_the_on_failure_queue(
    fresh_aws: EmbeddedAws, retrying: LocalLambdaEndpoint, create_function: CreateFunction, retries: int
) -> None:
    create_function("flaky", FLAKY)
    sqs = fresh_aws.client("sqs")
    queue = sqs.create_queue(QueueName="flaky-failures")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    fresh_aws.client("lambda").put_function_event_invoke_config(
        FunctionName="flaky", MaximumRetryAttempts=retries, DestinationConfig={"OnFailure": {"Destination": arn}}
    )
    key = f"never-{retries}"
    _invoke_event(fresh_aws, retrying, {"key": key, "fail_times": 99})
    _wait_for(lambda: retrying.stats().to_destination == {"flaky": 1})
    assert len(handlers.flaky_runs[key]) == retries + 1
    messages = sqs.receive_message(QueueUrl=queue, WaitTimeSeconds=1)["Messages"]
    record = json.loads(messages[0]["Body"])
    assert record["requestContext"]["condition"] == "RetriesExhausted"
    assert record["requestContext"]["approximateInvokeCount"] == retries + 1
    assert record["requestPayload"] == {"key": key, "fail_times": 99}
    assert "fails on purpose" in record["responsePayload"]["errorMessage"]
