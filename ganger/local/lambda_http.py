"""The Lambda Invoke API's HTTP shapes, as the local endpoint speaks them: function names, errors, answers."""

from __future__ import annotations

import json
import uuid
from urllib.parse import unquote

from ganger.local.http_server import HttpResponse
from ganger.local.lambda_runtime import InvocationOutcome


def parse_function_name(raw: str) -> tuple[str, str | None]:
    """Split a FunctionName (name, ``name:qualifier``, full or partial ARN) into name and qualifier."""
    value = unquote(raw)
    if ":function:" in value:
        value = value.split(":function:", 1)[1]
    name, _, qualifier = value.partition(":")
    return name, qualifier or None


def aws_error(status: int, code: str, message: str) -> HttpResponse:
    """An error in the REST-JSON shape botocore turns into ``ClientError`` with ``code``."""
    body = json.dumps({"Type": "User", "message": message, "Message": message})
    return HttpResponse.json(status, body, (("x-amzn-ErrorType", code), ("x-amzn-RequestId", str(uuid.uuid4()))))


def invocation_response(outcome: InvocationOutcome, version: str) -> HttpResponse:
    """The HTTP answer to a RequestResponse invocation, function errors as AWS reports them."""
    headers: tuple[tuple[str, str], ...] = (
        ("X-Amz-Executed-Version", version),
        ("x-amzn-RequestId", outcome.request_id),
    )
    if outcome.error is not None:
        return HttpResponse.json(200, json.dumps(outcome.error), (*headers, ("X-Amz-Function-Error", "Unhandled")))
    try:
        body = json.dumps(outcome.payload)
    except (TypeError, ValueError) as exc:
        error = {
            "errorMessage": f"Unable to marshal response: {exc}",
            "errorType": "Runtime.MarshalError",
            "requestId": outcome.request_id,
            "stackTrace": [],
        }
        return HttpResponse.json(200, json.dumps(error), (*headers, ("X-Amz-Function-Error", "Unhandled")))
    return HttpResponse.json(200, body, headers)
