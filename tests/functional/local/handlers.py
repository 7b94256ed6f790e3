"""Lambda handlers the local endpoint runs in these tests (named by ``Handler`` in moto)."""

from __future__ import annotations

import base64
import json
import threading
import time
from typing import Any

from ganger.constants import getenv

received: list[Any] = []
received_lock = threading.Lock()


def echo(event: Any, context: Any) -> dict[str, Any]:
    """Return what the function saw: event, its environment and its context."""
    return {
        "event": event,
        "greeting": getenv("GREETING"),
        "function_env_name": getenv("AWS_LAMBDA_FUNCTION_NAME"),
        "function_name": context.function_name,
        "memory": context.memory_limit_in_mb,
        "arn": context.invoked_function_arn,
        "remaining_ms": context.get_remaining_time_in_millis(),
        "request_id": context.aws_request_id,
    }


def boom(event: Any, context: Any) -> None:
    """Fail the way a buggy handler does."""
    raise ValueError("the handler broke")


def record(event: Any, context: Any) -> None:
    """Remember the event (for Event invocations, which return nothing)."""
    time.sleep(float(event.get("sleep", 0)) if isinstance(event, dict) else 0)
    with received_lock:
        received.append({"event": event, "greeting": getenv("GREETING")})


def api(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """An API Gateway proxy handler that echoes the request."""
    if event.get("path", "").endswith("/crash"):
        raise RuntimeError("crash requested")
    if event.get("path", "").endswith("/binary"):
        body = base64.b64decode(event["body"]) if event.get("isBase64Encoded") else b""
        return {
            "statusCode": 200,
            "headers": {"Content-Type": "application/octet-stream"},
            "body": base64.b64encode(body[::-1]).decode(),
            "isBase64Encoded": True,
        }
    return {
        "statusCode": 201,
        "headers": {"Content-Type": "application/json", "X-Handled-By": context.function_name},
        "multiValueHeaders": {"Set-Cookie": ["a=1", "b=2"]},
        "body": json.dumps(
            {
                "method": event["httpMethod"],
                "path": event["path"],
                "resource": event["resource"],
                "pathParameters": event["pathParameters"],
                "query": event["queryStringParameters"],
                "multiQuery": event["multiValueQueryStringParameters"],
                "stage": event["requestContext"]["stage"],
                "sourceIp": event["requestContext"]["identity"]["sourceIp"],
                "body": event["body"],
                "custom_header": event["headers"].get("X-Custom"),
            }
        ),
    }


flaky_runs: dict[str, list[float]] = {}


def flaky(event: Any, context: Any) -> str:
    """Fail the first ``fail_times`` runs of the event named ``key``, then succeed; remember when each ran."""
    with received_lock:
        runs = flaky_runs.setdefault(event["key"], [])
        runs.append(time.monotonic())
        if len(runs) <= int(event.get("fail_times", 0)):
            raise RuntimeError(f"run {len(runs)} of {event['key']} fails on purpose")
    return "done"
