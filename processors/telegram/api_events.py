"""API Gateway (REST, Lambda proxy integration) events and responses, as typed values."""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class ApiRequest:
    method: str
    path: str
    headers: Mapping[str, str] = field(default_factory=dict)
    query: Mapping[str, str] = field(default_factory=dict)
    body: bytes = b""
    caller_arn: str = ""  # set by API Gateway for an IAM-authorized (SigV4-signed) request only

    @classmethod
    def from_event(cls, event: Any) -> ApiRequest:
        if not isinstance(event, Mapping):
            return cls("", "")
        raw = event.get("body") or ""
        if event.get("isBase64Encoded"):
            try:
                body = base64.b64decode(raw)
            except (binascii.Error, ValueError):
                body = b""
        else:
            body = raw.encode() if isinstance(raw, str) else b""
        path = str(event.get("resource") or event.get("path") or "")
        identity = (event.get("requestContext") or {}).get("identity") or {}
        return cls(
            str(event.get("httpMethod") or "").upper(),
            path,
            dict(event.get("headers") or {}),
            dict(event.get("queryStringParameters") or {}),
            body,
            str(identity.get("userArn") or "") if isinstance(identity, Mapping) else "",
        )

    def route(self) -> str:
        """The last path segment: ``webhook`` for ``/prod/webhook`` or ``/webhook``."""
        return self.path.rstrip("/").rsplit("/", 1)[-1]

    def json(self) -> Any:
        """The body as JSON; ValueError when it is not."""
        return json.loads(self.body.decode("utf-8"))


def response(status: int, body: Mapping[str, Any]) -> dict[str, Any]:
    return {"statusCode": status, "headers": {"Content-Type": "application/json"}, "body": json.dumps(body)}
