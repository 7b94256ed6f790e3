"""API Gateway route resolution and the proxy integration's event and response formats."""

from __future__ import annotations

import base64
import json

import pytest

from ganger.local.api_routes import (
    Route,
    RouteTable,
    build_proxy_event,
    http_response_from_proxy,
    match_resource_path,
)
from ganger.local.http_server import HttpRequest

FUNCTION = "arn:aws:lambda:us-east-1:123456789012:function:api"
URI = f"arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/{FUNCTION}/invocations"


def _route(path: str, method: str = "GET", api: str = "main", stages: tuple[str, ...] = ("prod",)) -> Route:
    return Route(api, api, path, method, "AWS_PROXY", URI, resource_id=path, stages=stages)


@pytest.mark.parametrize(
    ("resource", "path", "params"),
    [
        ("/items", "/items", {}),
        ("/items/{id}", "/items/42", {"id": "42"}),
        ("/items/{id}", "/items", None),
        ("/items/{id}", "/items/42/extra", None),
        ("/{proxy+}", "/a/b/c", {"proxy": "a/b/c"}),
        ("/{proxy+}", "/", None),
        ("/files/{name}", "/files/a%20b", {"name": "a b"}),
        ("/", "/", {}),
    ],
)
def test_resource_paths_match_like_api_gateway(resource: str, path: str, params: dict[str, str] | None) -> None:
    assert match_resource_path(resource, path) == params


def test_literal_beats_parameter_beats_greedy_and_exact_method_beats_any() -> None:
    table = RouteTable(
        [
            _route("/{proxy+}", "ANY"),
            _route("/items/{id}"),
            _route("/items/special"),
            _route("/items/{id}", "ANY"),
        ]
    )

    special = table.resolve("GET", "/prod/items/special")
    by_id = table.resolve("GET", "/prod/items/7")
    other = table.resolve("GET", "/prod/elsewhere")

    assert special is not None and special.route.resource_path == "/items/special"
    assert by_id is not None and (by_id.route.resource_path, by_id.route.http_method) == (
        "/items/{id}",
        "GET",
    )
    assert other is not None and other.route.resource_path == "/{proxy+}"


def test_stage_prefix_is_optional_and_reported() -> None:
    table = RouteTable([_route("/hook", "POST", stages=("v1",))])

    with_stage = table.resolve("POST", "/v1/hook")
    without_stage = table.resolve("POST", "/hook")

    assert with_stage is not None and (with_stage.stage, with_stage.path) == ("v1", "/hook")
    assert without_stage is not None and (without_stage.stage, without_stage.path) == ("v1", "/hook")
    assert table.resolve("GET", "/v1/hook") is None
    assert table.resolve("POST", "/v1/other") is None


def test_function_arn_is_read_from_the_integration_uri() -> None:
    assert _route("/x").function_arn == FUNCTION
    assert Route("a", "a", "/x", "GET", "HTTP_PROXY", "https://example.com", stages=()).function_arn is None


def test_proxy_event_carries_request_details() -> None:
    table = RouteTable([_route("/items/{id}", "POST")])
    match = table.resolve("POST", "/prod/items/9")
    assert match is not None
    request = HttpRequest(
        "POST",
        "/prod/items/9?a=1&a=2&b=",
        (("Content-Type", "application/json"), ("X-Multi", "one"), ("X-Multi", "two")),
        b'{"k": 1}',
        client_ip="127.0.0.1",
    )

    event = build_proxy_event(request, match, request_id="req-1", port=8080, now=1_900_000_000.0)

    assert event["httpMethod"] == "POST"
    assert (event["path"], event["resource"]) == ("/items/9", "/items/{id}")
    assert event["pathParameters"] == {"id": "9"}
    assert event["queryStringParameters"] == {"a": "2", "b": ""}
    assert event["multiValueQueryStringParameters"] == {"a": ["1", "2"], "b": [""]}
    assert event["headers"]["X-Multi"] == "two"
    assert event["multiValueHeaders"]["X-Multi"] == ["one", "two"]
    assert event["headers"]["X-Forwarded-Port"] == "8080"
    assert (event["body"], event["isBase64Encoded"]) == ('{"k": 1}', False)
    context = event["requestContext"]
    assert (context["stage"], context["requestId"], context["path"]) == ("prod", "req-1", "/prod/items/9")
    assert context["identity"]["sourceIp"] == "127.0.0.1"
    assert context["requestTimeEpoch"] == 1_900_000_000_000


def test_binary_request_bodies_are_base64_encoded() -> None:
    match = RouteTable([_route("/up", "PUT")]).resolve("PUT", "/up")
    assert match is not None
    body = b"\xff\xfe\x00binary"

    event = build_proxy_event(HttpRequest("PUT", "/up", (), body), match, request_id="r", port=1)

    assert event["isBase64Encoded"] is True
    assert base64.b64decode(event["body"]) == body
    assert event["queryStringParameters"] is None and event["pathParameters"] is None


def test_proxy_response_becomes_http() -> None:
    response = http_response_from_proxy(
        {
            "statusCode": 404,
            "headers": {"X-One": "1"},
            "multiValueHeaders": {"Set-Cookie": ["a=1", "b=2"]},
            "body": "nope",
        }
    )

    assert response.status == 404
    assert response.body == b"nope"
    assert ("Set-Cookie", "a=1") in response.headers and ("Set-Cookie", "b=2") in response.headers
    assert ("X-One", "1") in response.headers
    assert ("Content-Type", "application/json") in response.headers


def test_base64_proxy_response_is_decoded() -> None:
    response = http_response_from_proxy(
        {"statusCode": 200, "body": base64.b64encode(b"\x00\x01").decode(), "isBase64Encoded": True}
    )

    assert response.body == b"\x00\x01"


@pytest.mark.parametrize("payload", [None, "text", {"body": "no status"}, {"statusCode": 200, "body": {"a": 1}}])
def test_malformed_proxy_response_is_502(payload: object) -> None:
    response = http_response_from_proxy(payload)

    assert response.status == 502
    assert json.loads(response.body) == {"message": "Internal server error"}


def test_an_iam_route_sees_the_signer_of_a_signed_request_and_nothing_of_an_unsigned_one() -> None:
    from ganger.local.api_routes import iam_caller

    signed = HttpRequest("POST", "/prod/results", (("Authorization", SIGNED),), b"")
    unsigned = HttpRequest("POST", "/prod/results", (), b"")

    assert iam_caller(signed) == {
        "accessKey": "testing",
        "caller": "testing",
        "userArn": "arn:aws:iam::123456789012:user/testing",
    }
    assert iam_caller(unsigned) is None


SIGNED = (
    "AWS4-HMAC-SHA256 Credential=testing/20261129/us-east-1/execute-api/aws4_request, "
    "SignedHeaders=host;x-amz-date, Signature=0123abcd"
)
