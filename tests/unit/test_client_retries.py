"""Every AWS client ganger builds retries throttling itself (botocore's standard mode, one config)."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import Any

import pytest
from botocore.awsrequest import AWSResponse

from ganger.cli.endpoints import service_client
from ganger.cli.target import resolve_target
from ganger.clients import AwsClients

THROTTLE_BODY = b'{"__type": "com.amazonaws.dynamodb.v20120810#ThrottlingException", "message": "Rate exceeded"}'


class _Response:
    def __init__(self, body: bytes) -> None:
        self._body = body

    def stream(self, **kwargs: Any) -> Any:
        yield self._body


def throttled_twice(client: Any) -> list[int]:
    """Answer the client's first two requests with a throttle, then an empty table list; return the count."""
    sent: list[int] = []

    def before_send(request: Any, **kwargs: Any) -> AWSResponse:
        sent.append(1)
        if len(sent) <= 2:
            headers = {"x-amzn-ErrorType": "ThrottlingException", "Content-Type": "application/x-amz-json-1.0"}
            return AWSResponse(request.url, 400, headers, _Response(THROTTLE_BODY))  # type: ignore[arg-type]
        body = b'{"TableNames": ["sosw_tasks"]}'
        return AWSResponse(request.url, 200, {"Content-Type": "application/x-amz-json-1.0"}, _Response(body))  # type: ignore[arg-type]

    client.meta.events.register_first("before-send.dynamodb", before_send)
    return sent


def _target() -> Any:
    args = argparse.Namespace(region="us-east-1", endpoint_url="http://127.0.0.1:9", lambda_endpoint_url=None,
                              local=False)  # fmt: skip
    return resolve_target(args)


CLIENTS: dict[str, Callable[[], Any]] = {
    "AwsClients (every Lambda)": lambda: AwsClients(region="us-east-1").dynamodb,
    "the CLI's target": lambda: _target().clients().dynamodb,
    "the CLI's other services": lambda: service_client(_target(), "dynamodb"),
}


@pytest.mark.parametrize("make", list(CLIENTS.values()), ids=list(CLIENTS))
def test_a_throttled_call_is_sent_again_and_succeeds(make: Callable[[], Any], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("botocore.retries.standard.ExponentialBackoff.delay_amount", lambda self, context: 0)
    client = make()
    sent = throttled_twice(client)
    assert client.list_tables()["TableNames"] == ["sosw_tasks"]
    assert len(sent) == 3
    assert client.meta.config.retries["mode"] == "standard"
