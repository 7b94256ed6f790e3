"""The local Lambda endpoint, driven by boto3 as handlers and the clock drive it."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from botocore.exceptions import ClientError

from ganger.local.lambda_endpoint import InvocationRecord, LocalLambdaEndpoint
from ganger.local.moto_server import EmbeddedAws
from tests.functional.local import handlers

CreateFunction = Callable[..., dict[str, Any]]
MODULE = "tests.functional.local.handlers"


@pytest.fixture
def lam(fresh_aws: EmbeddedAws, endpoint: LocalLambdaEndpoint) -> Any:
    return fresh_aws.client("lambda", endpoint_url=endpoint.url)


def test_request_response_runs_handler_with_env_overlay_and_context(
    lam: Any, create_function: CreateFunction, endpoint: LocalLambdaEndpoint
) -> None:
    arn = create_function("echo", f"{MODULE}.echo", env={"GREETING": "hello"})["FunctionArn"]

    response = lam.invoke(FunctionName="echo", Payload=json.dumps({"n": 1}))
    result = json.loads(response["Payload"].read())

    assert response["StatusCode"] == 200
    assert "FunctionError" not in response
    assert result["event"] == {"n": 1}
    assert result["greeting"] == "hello"
    assert result["function_env_name"] == "echo"
    assert result["function_name"] == "echo"
    assert result["memory"] == 256
    assert result["arn"] == arn
    assert 25_000 < result["remaining_ms"] <= 30_000
    assert endpoint.stats().invocations == {"echo": 1}


def test_overlay_does_not_leak_into_the_process_environment(lam: Any, create_function: CreateFunction) -> None:
    create_function("echo", f"{MODULE}.echo", env={"GREETING": "hello"})
    lam.invoke(FunctionName="echo", Payload=b"{}")

    from ganger.constants import getenv

    assert getenv("GREETING") is None


def test_function_can_be_named_by_arn(lam: Any, create_function: CreateFunction) -> None:
    arn = create_function("echo", f"{MODULE}.echo")["FunctionArn"]

    response = lam.invoke(FunctionName=arn, Payload=b'{"by": "arn"}')

    assert json.loads(response["Payload"].read())["event"] == {"by": "arn"}


def test_handler_exception_is_an_unhandled_function_error(
    lam: Any, create_function: CreateFunction, endpoint: LocalLambdaEndpoint
) -> None:
    create_function("boom", f"{MODULE}.boom")

    response = lam.invoke(FunctionName="boom", Payload=b"{}")
    error = json.loads(response["Payload"].read())

    assert response["StatusCode"] == 200
    assert response["FunctionError"] == "Unhandled"
    assert error["errorType"] == "ValueError"
    assert error["errorMessage"] == "the handler broke"
    assert any("boom" in line for line in error["stackTrace"])
    assert endpoint.stats().errors == {"boom": 1}


def test_missing_handler_module_is_a_function_error(lam: Any, create_function: CreateFunction) -> None:
    create_function("ghost", "no_such_module.handler")

    response = lam.invoke(FunctionName="ghost", Payload=b"{}")

    assert response["FunctionError"] == "Unhandled"
    assert json.loads(response["Payload"].read())["errorType"] == "Runtime.HandlerNotFound"


def test_unknown_function_raises_resource_not_found(lam: Any) -> None:
    with pytest.raises(ClientError) as caught:
        lam.invoke(FunctionName="nobody", Payload=b"{}")

    assert caught.value.response["Error"]["Code"] == "ResourceNotFoundException"
    assert caught.value.response["ResponseMetadata"]["HTTPStatusCode"] == 404
    assert isinstance(caught.value, lam.exceptions.ResourceNotFoundException)


def test_event_invocations_return_202_and_run_in_the_background(
    lam: Any, create_function: CreateFunction, endpoint: LocalLambdaEndpoint
) -> None:
    handlers.received.clear()
    create_function("record", f"{MODULE}.record", env={"GREETING": "async"})
    seen: list[InvocationRecord] = []
    endpoint.add_listener(seen.append)

    statuses = [
        lam.invoke(FunctionName="record", InvocationType="Event", Payload=json.dumps({"i": i, "sleep": 0.05}))[
            "StatusCode"
        ]
        for i in range(5)
    ]

    assert statuses == [202] * 5
    assert endpoint.wait_idle(timeout=10)
    assert sorted(item["event"]["i"] for item in handlers.received) == [0, 1, 2, 3, 4]
    assert {item["greeting"] for item in handlers.received} == {"async"}
    assert len(seen) == 5 and {r.invocation_type for r in seen} == {"Event"}
    stats = endpoint.stats()
    assert stats.invocations == {"record": 5} and stats.in_flight == 0 and stats.queued == 0


def test_dry_run_does_not_run_the_handler(
    lam: Any, create_function: CreateFunction, endpoint: LocalLambdaEndpoint
) -> None:
    create_function("echo", f"{MODULE}.echo")

    response = lam.invoke(FunctionName="echo", InvocationType="DryRun")

    assert response["StatusCode"] == 204
    assert endpoint.stats().invocations == {}


def test_other_lambda_calls_are_proxied_to_moto(lam: Any, create_function: CreateFunction) -> None:
    create_function("echo", f"{MODULE}.echo", env={"GREETING": "hi"})

    function = lam.get_function(FunctionName="echo")
    names = [f["FunctionName"] for f in lam.list_functions()["Functions"]]

    assert function["Configuration"]["Handler"] == f"{MODULE}.echo"
    assert names == ["echo"]


def test_refresh_picks_up_a_changed_configuration(
    lam: Any, create_function: CreateFunction, endpoint: LocalLambdaEndpoint
) -> None:
    create_function("echo", f"{MODULE}.echo", env={"GREETING": "before"})
    first = json.loads(lam.invoke(FunctionName="echo")["Payload"].read())["greeting"]
    lam.update_function_configuration(FunctionName="echo", Environment={"Variables": {"GREETING": "after"}})

    cached = json.loads(lam.invoke(FunctionName="echo")["Payload"].read())["greeting"]
    endpoint.refresh()
    refreshed = json.loads(lam.invoke(FunctionName="echo")["Payload"].read())["greeting"]

    assert (first, cached, refreshed) == ("before", "before", "after")
