"""Lambda's own retries of a failed Event invocation, as local mode models them: each function's
EventInvokeConfig (retries, event age, on-failure destination), where an invocation is in its retries, and
the failure record Lambda sends to the destination."""

from __future__ import annotations

import datetime
import json
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from botocore.exceptions import ClientError

from ganger.local.lambda_runtime import FunctionConfig, InvocationOutcome

logger = logging.getLogger("ganger.local.lambda_endpoint")  # where these messages always appeared

LAMBDA_RETRY_DELAYS = (60.0, 120.0)  # Lambda retries a failed Event invocation about 1, then 2 minutes later
DEFAULT_RETRY_ATTEMPTS = 2
DEFAULT_EVENT_AGE_SECONDS = 21600


@dataclass(frozen=True)
class RetryPolicy:
    """A function's EventInvokeConfig: how Lambda retries its failed Event invocations."""

    maximum_retry_attempts: int = DEFAULT_RETRY_ATTEMPTS
    maximum_event_age_seconds: int = DEFAULT_EVENT_AGE_SECONDS
    on_failure: str | None = None

    @classmethod
    def from_api(cls, doc: dict[str, Any]) -> RetryPolicy:
        destination = doc.get("DestinationConfig", {}).get("OnFailure", {}).get("Destination")
        return cls(
            int(doc.get("MaximumRetryAttempts", DEFAULT_RETRY_ATTEMPTS)),
            int(doc.get("MaximumEventAgeInSeconds", DEFAULT_EVENT_AGE_SECONDS)),
            destination or None,
        )


@dataclass(frozen=True)
class AsyncAttempt:
    """Where one Event invocation is in Lambda's retries."""

    retries: int = 0
    first_seen: float = field(default_factory=time.monotonic)


def failure_record(config: FunctionConfig, event: Any, outcome: InvocationOutcome | None, attempt: AsyncAttempt,
                   condition: str) -> dict[str, Any]:  # fmt: skip
    """What Lambda sends to an on-failure destination."""
    return {
        "version": "1.0",
        "timestamp": datetime.datetime.now(datetime.UTC).isoformat(),
        "requestContext": {
            "requestId": outcome.request_id if outcome else "",
            "functionArn": f"{config.arn}:{config.version}",
            "condition": condition,
            "approximateInvokeCount": attempt.retries + 1,
        },
        "requestPayload": event,
        "responseContext": {"statusCode": 200, "executedVersion": config.version, "functionError": "Unhandled"},
        "responsePayload": outcome.error if outcome else {"errorType": "Runtime.Unknown"},
    }


def sqs_destination(sqs_client: Any) -> Callable[[str, dict[str, Any]], None]:
    """Deliver failure records to SQS queues named by their ARNs (the destinations the templates give)."""

    def send(arn: str, record: dict[str, Any]) -> None:
        url = sqs_client.get_queue_url(QueueName=arn.rsplit(":", 1)[-1])["QueueUrl"]
        sqs_client.send_message(QueueUrl=url, MessageBody=json.dumps(record, default=str))

    return send


def read_retry_policy(lambda_client: Any, name: str) -> RetryPolicy:
    """The function's EventInvokeConfig (Lambda's defaults without one)."""
    try:
        return RetryPolicy.from_api(lambda_client.get_function_event_invoke_config(FunctionName=name))
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") != "ResourceNotFoundException":
            raise
        return RetryPolicy()


def next_step(policy: RetryPolicy, attempt: AsyncAttempt, delays: Sequence[float], now: float) -> float | str:
    """The delay before the next retry, or why there is none (``RetriesExhausted``, ``EventAgeExceeded``)."""
    if attempt.retries >= min(policy.maximum_retry_attempts, len(delays)):
        return "RetriesExhausted"
    delay = float(delays[attempt.retries])
    if now + delay - attempt.first_seen > policy.maximum_event_age_seconds:
        return "EventAgeExceeded"
    return delay


Destination = Callable[[str, dict[str, Any]], None]


def give_up(config: FunctionConfig, event: Any, outcome: InvocationOutcome | None, attempt: AsyncAttempt,
            policy: RetryPolicy, condition: str, send: Destination | None) -> None:  # fmt: skip
    """Lambda's end of an Event invocation's retries: its failure record to the on-failure destination."""
    if policy.on_failure is None:
        logger.error("%s: Event invocation failed %d time(s) (%s); no on-failure destination, the event is "
                     "dropped", config.name, attempt.retries + 1, condition)  # fmt: skip
        return
    record = failure_record(config, event, outcome, attempt, condition)
    if send is None:
        logger.error("%s: Event invocation failed (%s); would go to %s", config.name, condition, policy.on_failure)
        return
    try:
        send(policy.on_failure, record)
        logger.error("%s: Event invocation failed (%s); sent to %s", config.name, condition, policy.on_failure)
    except Exception:
        logger.exception("%s: could not send a failed event to %s", config.name, policy.on_failure)
