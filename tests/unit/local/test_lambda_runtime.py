"""Running a handler in-process: environment overlay, context, and the AWS error shape."""

from __future__ import annotations

import json
from typing import Any

from ganger.constants import getenv
from ganger.local.lambda_endpoint import aws_error, invocation_response, parse_function_name
from ganger.local.lambda_runtime import FunctionConfig, InvocationOutcome, LambdaContext, run_function

CONFIG = FunctionConfig(
    name="worker",
    arn="arn:aws:lambda:eu-west-1:123456789012:function:worker",
    handler="pkg.worker.handler",
    timeout_seconds=60,
    memory_mb=512,
    environment={"GANGER_TASKS_TABLE": "tasks-local"},
)


def _resolver(function: Any) -> Any:
    return lambda handler: function


def test_handler_sees_its_environment_only_while_it_runs() -> None:
    def handler(event: Any, context: Any) -> dict[str, Any]:
        return {
            "table": getenv("GANGER_TASKS_TABLE"),
            "region": getenv("AWS_REGION"),
            "name": context.function_name,
        }

    outcome = run_function(CONFIG, {}, resolve=_resolver(handler))

    assert outcome.payload == {"table": "tasks-local", "region": "eu-west-1", "name": "worker"}
    assert getenv("GANGER_TASKS_TABLE") is None


def test_context_counts_down_from_the_timeout() -> None:
    clock = [100.0]
    context = LambdaContext(CONFIG, "req", monotonic=lambda: clock[0])

    start = context.get_remaining_time_in_millis()
    clock[0] += 59.5
    later = context.get_remaining_time_in_millis()
    clock[0] += 10
    after = context.get_remaining_time_in_millis()

    assert (start, later, after) == (60_000, 500, 0)
    assert context.memory_limit_in_mb == 512
    assert context.log_group_name == "/aws/lambda/worker"
    assert context.invoked_function_arn == CONFIG.arn


def test_exception_becomes_an_error_document() -> None:
    def handler(event: Any, context: Any) -> None:
        raise KeyError("missing")

    outcome = run_function(CONFIG, {}, resolve=_resolver(handler), request_id="r-1")

    assert outcome.error is not None
    assert outcome.error_type == "KeyError"
    assert outcome.error["errorMessage"] == "'missing'"
    assert outcome.error["requestId"] == "r-1"
    assert outcome.error["stackTrace"]


def test_function_configuration_is_read_from_the_api_shape() -> None:
    config = FunctionConfig.from_api(
        {
            "FunctionName": "f",
            "FunctionArn": "arn:aws:lambda:us-east-1:1:function:f",
            "Handler": "m.h",
            "Timeout": 9,
            "MemorySize": 1024,
            "Environment": {"Variables": {"A": "1"}},
        }
    )

    assert (config.handler, config.timeout_seconds, config.memory_mb, dict(config.environment)) == (
        "m.h",
        9,
        1024,
        {"A": "1"},
    )


def test_function_names_arns_and_qualifiers_are_split() -> None:
    assert parse_function_name("worker") == ("worker", None)
    assert parse_function_name("worker:live") == ("worker", "live")
    assert parse_function_name("arn%3Aaws%3Alambda%3Aus-east-1%3A1%3Afunction%3Aworker") == ("worker", None)
    assert parse_function_name("arn:aws:lambda:us-east-1:1:function:worker:3") == ("worker", "3")


def test_invocation_response_marks_errors_and_unserialisable_results() -> None:
    failed = invocation_response(InvocationOutcome("r", error={"errorType": "X"}), "$LATEST")
    unserialisable = invocation_response(InvocationOutcome("r", payload={1, 2}), "$LATEST")
    fine = invocation_response(InvocationOutcome("r", payload=[1]), "$LATEST")

    assert ("X-Amz-Function-Error", "Unhandled") in failed.headers
    assert json.loads(unserialisable.body)["errorType"] == "Runtime.MarshalError"
    assert (fine.status, fine.body) == (200, b"[1]")


def test_aws_error_names_the_code_for_botocore() -> None:
    response = aws_error(404, "ResourceNotFoundException", "Function not found: x")

    assert response.status == 404
    assert ("x-amzn-ErrorType", "ResourceNotFoundException") in response.headers
    assert json.loads(response.body)["message"] == "Function not found: x"
