"""REST APIs defined in moto, called over HTTP through the API front and the local Lambda endpoint."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from ganger.local.api_front import ApiFront
from ganger.local.lambda_endpoint import LocalLambdaEndpoint
from ganger.local.moto_server import EmbeddedAws

MODULE = "tests.functional.local.handlers"


def _lambda_uri(function_arn: str) -> str:
    return f"arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/{function_arn}/invocations"


def _add_route(apigw: Any, api_id: str, parent_id: str, part: str, method: str, uri: str) -> str:
    resource_id: str = apigw.create_resource(restApiId=api_id, parentId=parent_id, pathPart=part)["id"]
    apigw.put_method(restApiId=api_id, resourceId=resource_id, httpMethod=method, authorizationType="NONE")
    apigw.put_integration(
        restApiId=api_id,
        resourceId=resource_id,
        httpMethod=method,
        type="AWS_PROXY",
        integrationHttpMethod="POST",
        uri=uri,
    )
    return resource_id


@pytest.fixture
def front(
    fresh_aws: EmbeddedAws, endpoint: LocalLambdaEndpoint, create_function: Callable[..., dict[str, Any]]
) -> Iterator[ApiFront]:
    arn = create_function("api", f"{MODULE}.api")["FunctionArn"]
    apigw = fresh_aws.client("apigateway")
    api_id = apigw.create_rest_api(name="ganger")["id"]
    root = apigw.get_resources(restApiId=api_id)["items"][0]["id"]
    items = _add_route(apigw, api_id, root, "items", "GET", _lambda_uri(arn))
    _add_route(apigw, api_id, items, "{id}", "POST", _lambda_uri(arn))
    _add_route(apigw, api_id, root, "{proxy+}", "ANY", _lambda_uri(arn))
    apigw.create_deployment(restApiId=api_id, stageName="prod")
    server = ApiFront(apigw, fresh_aws.client("lambda", endpoint_url=endpoint.url))
    server.start()
    yield server
    server.stop()


def _call(url: str, method: str = "GET", body: bytes | None = None, headers: dict[str, str] | None = None) -> Any:
    request = urllib.request.Request(url, data=body, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), error.read()


def test_post_with_path_parameter_reaches_the_lambda_as_a_proxy_event(front: ApiFront) -> None:
    status, headers, body = _call(
        front.url_for("items/42?tag=a&tag=b&q=x", stage="prod"),
        "POST",
        b'{"name": "widget"}',
        {"Content-Type": "application/json", "X-Custom": "yes"},
    )
    seen = json.loads(body)

    assert status == 201
    assert headers["X-Handled-By"] == "api"
    assert seen["method"] == "POST"
    assert seen["path"] == "/items/42"
    assert seen["resource"] == "/items/{id}"
    assert seen["pathParameters"] == {"id": "42"}
    assert seen["query"] == {"tag": "b", "q": "x"}
    assert seen["multiQuery"] == {"tag": ["a", "b"], "q": ["x"]}
    assert seen["stage"] == "prod"
    assert seen["sourceIp"] == "127.0.0.1"
    assert seen["body"] == '{"name": "widget"}'
    assert seen["custom_header"] == "yes"


def test_multi_value_response_headers_are_all_sent(front: ApiFront) -> None:
    request = urllib.request.Request(front.url_for("items", stage="prod"))
    with urllib.request.urlopen(request, timeout=10) as response:
        cookies = response.headers.get_all("Set-Cookie")

    assert cookies == ["a=1", "b=2"]


def test_path_without_stage_uses_the_apis_stage(front: ApiFront) -> None:
    status, _, body = _call(front.url_for("anything/deep/below"))

    assert status == 201
    assert json.loads(body)["pathParameters"] == {"proxy": "anything/deep/below"}
    assert json.loads(body)["stage"] == "prod"


def test_binary_bodies_travel_base64_encoded_both_ways(front: ApiFront) -> None:
    payload = bytes(range(256))

    status, headers, body = _call(
        front.url_for("binary", stage="prod"), "PUT", payload, {"Content-Type": "application/octet-stream"}
    )

    assert status == 200
    assert headers["Content-Type"] == "application/octet-stream"
    assert body == payload[::-1]


def test_function_error_answers_502_internal_server_error(front: ApiFront) -> None:
    status, _, body = _call(front.url_for("crash", stage="prod"))

    assert status == 502
    assert json.loads(body) == {"message": "Internal server error"}


def test_unknown_route_answers_403_missing_authentication_token(front: ApiFront) -> None:
    status, _, body = _call(front.url_for("", stage="prod"))

    assert status == 403
    assert json.loads(body) == {"message": "Missing Authentication Token"}


def test_refresh_loads_routes_added_after_start(
    fresh_aws: EmbeddedAws, front: ApiFront, create_function: Callable[..., dict[str, Any]]
) -> None:
    arn = create_function("later", f"{MODULE}.api")["FunctionArn"]
    apigw = fresh_aws.client("apigateway")
    api_id = apigw.create_rest_api(name="later")["id"]
    root = apigw.get_resources(restApiId=api_id)["items"][0]["id"]
    _add_route(apigw, api_id, root, "late", "GET", _lambda_uri(arn))
    apigw.create_deployment(restApiId=api_id, stageName="v2")

    before = _call(front.url_for("late", stage="v2"))[1]["X-Handled-By"]  # the first API's {proxy+}
    front.refresh()
    after = _call(front.url_for("late", stage="v2"))[1]["X-Handled-By"]

    assert (before, after) == ("api", "later")
