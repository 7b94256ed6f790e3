"""Every local server binds loopback, and stop() leaves no thread or port behind."""

from __future__ import annotations

import http.client
import socket
import threading
import time
from typing import Any
from urllib.parse import urlsplit

import pytest

from ganger.local.api_front import ApiFront
from ganger.local.http_server import BackgroundHttpServer, HttpRequest, HttpResponse
from ganger.local.lambda_endpoint import LocalLambdaEndpoint
from ganger.local.moto_server import EmbeddedAws
from ganger.local.telegram_fake import FakeTelegram


def _port_is_free(port: int) -> bool:
    """True when a new server (SO_REUSEADDR, as http.server sets it) could listen on ``port``."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def _threads() -> set[threading.Thread]:
    return set(threading.enumerate())


def test_embedded_aws_serves_dynamodb_streams_and_releases_its_port() -> None:
    before = _threads()
    aws = EmbeddedAws()
    aws.start()
    host, port = urlsplit(aws.endpoint_url).hostname, urlsplit(aws.endpoint_url).port
    dynamodb = aws.client("dynamodb")
    dynamodb.create_table(
        TableName="things",
        KeySchema=[{"AttributeName": "k", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "k", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
        StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_IMAGE"},
    )
    streams = aws.client("dynamodbstreams").list_streams(TableName="things")["Streams"]
    aws.reset()
    aws.stop()

    assert host == "127.0.0.1"
    assert len(streams) == 1
    assert port is not None and _port_is_free(port)
    assert not [t for t in _threads() - before if t.is_alive()]  # request threads too


def _echo(request: HttpRequest) -> HttpResponse:
    return HttpResponse(200, request.body)


@pytest.mark.parametrize(
    "factory",
    [
        lambda: BackgroundHttpServer(_echo),
        lambda: LocalLambdaEndpoint(object(), proxy_url="http://127.0.0.1:9"),
        lambda: ApiFront(_NoApis(), object()),
        lambda: FakeTelegram("1:t"),
    ],
    ids=["http", "lambda", "api", "telegram"],
)
def test_stop_closes_idle_keep_alive_connections_and_joins_threads(factory: Any) -> None:
    before = _threads()
    server = factory()
    server.start()
    url = urlsplit(server.url if hasattr(server, "url") else server.api_root)
    connection = http.client.HTTPConnection(url.hostname or "", url.port, timeout=5)
    connection.request("GET", "/anything")
    connection.getresponse().read()  # the connection stays open (HTTP/1.1 keep-alive)

    started = time.monotonic()
    server.stop()
    connection.close()

    assert url.hostname == "127.0.0.1"
    assert time.monotonic() - started < 2
    assert url.port is not None and _port_is_free(url.port)
    assert not [t for t in _threads() - before if t.is_alive()]


class _NoApis:
    """An apigateway client with nothing deployed."""

    def get_paginator(self, name: str) -> Any:
        return self

    def paginate(self, **kwargs: Any) -> list[dict[str, Any]]:
        return [{"items": []}]
