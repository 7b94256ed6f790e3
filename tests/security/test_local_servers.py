"""No web page can use a local server: a foreign ``Origin`` or ``Host`` is refused by every one of them.

Each server is started as local mode starts it (127.0.0.1, a free port) and stopped by the test. The
requests are what a browser sends: a CORS preflight from ``https://evil.example`` before a signed AWS call,
the call itself, a DNS-rebound page's own name as ``Host``, and a cross-site ``text/plain`` POST to the fake
Bot API's ``/chat/send``. The normal clients (boto3, ``ganger chat``'s JSON) still work.
"""

from __future__ import annotations

import http.client
import json
import uuid
from collections.abc import Iterator
from urllib.parse import urlsplit

import pytest

from ganger.local.api_front import ApiFront
from ganger.local.lambda_endpoint import LocalLambdaEndpoint
from ganger.local.moto_server import EmbeddedAws
from ganger.local.telegram_fake import FakeTelegram

EVIL = "https://evil.example"
TOKEN = "4242424242:AAH-fake-token-for-origin-tests_01234"
PREFLIGHT = {
    "Origin": EVIL,
    "Access-Control-Request-Method": "POST",
    "Access-Control-Request-Headers": "authorization,content-type,x-amz-target",
}
SIGNED_BY_ANYONE = (
    "AWS4-HMAC-SHA256 Credential=testing/20250101/us-east-1/secretsmanager/aws4_request, "
    "SignedHeaders=host;x-amz-target, Signature=0000"
)
GET_SECRET = {"Content-Type": "application/x-amz-json-1.1", "X-Amz-Target": "secretsmanager.GetSecretValue"}


def call(url: str, method: str, path: str, headers: dict[str, str], body: bytes = b"") -> http.client.HTTPResponse:
    """One raw request (http.client sends our ``Host`` when given one); the response, body read."""
    parts = urlsplit(url)
    connection = http.client.HTTPConnection(parts.hostname or "127.0.0.1", parts.port, timeout=10)
    try:
        connection.request(method, path, body=body or None, headers=headers)
        response = connection.getresponse()
        response.body = response.read()  # type: ignore[attr-defined]
        return response
    finally:
        connection.close()


def cors_headers(response: http.client.HTTPResponse) -> list[str]:
    return [name for name, _ in response.getheaders() if name.lower().startswith("access-control-")]


@pytest.fixture(scope="module")
def aws() -> Iterator[EmbeddedAws]:
    server = EmbeddedAws()
    server.start()
    yield server
    server.stop()


@pytest.fixture
def endpoint(aws: EmbeddedAws) -> Iterator[LocalLambdaEndpoint]:
    server = LocalLambdaEndpoint(aws.client("lambda"), max_concurrency=1)
    server.start()
    yield server
    server.stop()


@pytest.fixture
def api(aws: EmbeddedAws, endpoint: LocalLambdaEndpoint) -> Iterator[ApiFront]:
    server = ApiFront(aws.client("apigateway"), aws.client("lambda", endpoint_url=endpoint.url))
    server.start()
    yield server
    server.stop()


@pytest.fixture
def telegram() -> Iterator[FakeTelegram]:
    server = FakeTelegram(TOKEN)
    server.start()
    yield server
    server.stop()


# (server under test, a path it serves) for every local server
SERVERS: dict[str, tuple[str, str]] = {
    "moto": ("aws", "/"),
    "lambda endpoint": ("endpoint", "/2015-03-31/functions/"),
    "api front": ("api", "/prod/webhook"),
    "fake bot api": ("telegram", f"/bot{TOKEN}/getMe"),
}


def url_of(request: pytest.FixtureRequest, fixture: str) -> str:
    """The base URL of the server that ``fixture`` started."""
    server = request.getfixturevalue(fixture)
    if isinstance(server, EmbeddedAws):
        return server.endpoint_url
    if isinstance(server, FakeTelegram):
        return server.api_root
    return str(server.url)


@pytest.mark.parametrize("name", SERVERS)
def test_a_preflight_from_a_foreign_origin_is_refused(request: pytest.FixtureRequest, name: str) -> None:
    fixture, path = SERVERS[name]
    url = url_of(request, fixture)
    answer = call(url, "OPTIONS", path, PREFLIGHT)
    assert answer.status == 403, f"{name} answered a preflight from {EVIL} with {answer.status}"
    assert cors_headers(answer) == [], f"{name} granted CORS to {EVIL}"
    assert b"Origin" in answer.body  # refused for its origin (not, say, as an unknown route)


@pytest.mark.parametrize("name", SERVERS)
def test_a_request_from_a_foreign_origin_is_refused(request: pytest.FixtureRequest, name: str) -> None:
    fixture, path = SERVERS[name]
    url = url_of(request, fixture)
    answer = call(url, "POST", path, {"Origin": EVIL, "Content-Type": "text/plain"}, b"{}")
    assert answer.status == 403, f"{name} served a request from {EVIL} with {answer.status}"
    assert cors_headers(answer) == []
    assert b"Origin" in answer.body  # says why


@pytest.mark.parametrize("name", SERVERS)
@pytest.mark.parametrize("host", ["evil.example", "evil.example:{port}", "127.0.0.1.evil.example:{port}", "[::1]:1"])
def test_a_foreign_host_is_refused(request: pytest.FixtureRequest, name: str, host: str) -> None:
    fixture, path = SERVERS[name]
    url = url_of(request, fixture)
    answer = call(url, "GET", path, {"Host": host.format(port=urlsplit(url).port)})
    assert answer.status == 403, f"{name} served Host {host!r} with {answer.status}"
    assert b"Host" in answer.body


@pytest.mark.parametrize("name", SERVERS)
@pytest.mark.parametrize("own", ["127.0.0.1", "localhost"])
def test_the_servers_own_host_and_origin_are_served(request: pytest.FixtureRequest, name: str, own: str) -> None:
    fixture, path = SERVERS[name]
    url = url_of(request, fixture)
    port = urlsplit(url).port
    answer = call(url, "GET", path, {"Host": f"{own}:{port}", "Origin": f"http://{own}:{port}"})
    assert answer.status != 403 or b"refused" not in answer.body, f"{name} refused its own {own}:{port}"


def test_a_web_page_cannot_read_a_secret_from_the_embedded_aws(aws: EmbeddedAws) -> None:
    """The probe of the issue: GetSecretValue with any signature, from a page's origin, returned the token."""
    name = f"origin-test-{uuid.uuid4().hex[:8]}"
    secrets = aws.client("secretsmanager")
    secrets.create_secret(Name=name, SecretString=json.dumps({"token": TOKEN}))
    body = json.dumps({"SecretId": name}).encode()
    headers = {**GET_SECRET, "Authorization": SIGNED_BY_ANYONE}

    from_page = call(aws.endpoint_url, "POST", "/", {**headers, "Origin": EVIL}, body)
    rebound = call(
        aws.endpoint_url, "POST", "/", {**headers, "Host": f"evil.example:{urlsplit(aws.endpoint_url).port}"}, body
    )

    for answer in (from_page, rebound):
        assert answer.status == 403
        assert TOKEN.encode() not in answer.body
        assert cors_headers(answer) == []
    # boto3 (no Origin, its own Host) still reads it, and moto's answer grants no CORS
    assert json.loads(secrets.get_secret_value(SecretId=name)["SecretString"]) == {"token": TOKEN}
    direct = call(aws.endpoint_url, "POST", "/", headers, body)
    assert direct.status == 200 and cors_headers(direct) == []


def test_chat_send_takes_only_json(telegram: FakeTelegram) -> None:
    """A cross-site form or ``text/plain`` POST (no preflight) cannot speak as a user; ganger chat's JSON can."""

    def send(content_type: str) -> http.client.HTTPResponse:
        body = json.dumps({"user_id": 42, "text": "/up"}).encode()
        return call(telegram.api_root, "POST", "/chat/send", {"Content-Type": content_type}, body)

    for content_type in ("text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x"):
        answer = send(content_type)
        assert answer.status == 415, f"/chat/send took {content_type}"
        assert b"application/json" in answer.body
    assert telegram.sent == []
    # JSON is served (and fails only because no webhook is set in this test)
    answer = send("application/json")
    assert answer.status == 400 and b"no webhook is set" in answer.body
