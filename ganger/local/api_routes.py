"""API Gateway (REST, v1) routing and the Lambda proxy integration's wire format, without I/O.

Routes come from the API definitions in moto; ``RouteTable.resolve`` picks the most specific
resource for a request path as API Gateway does (literal segments beat ``{param}``, which beats
``{proxy+}``); ``build_proxy_event`` and ``http_response_from_proxy`` translate both ways.
"""

from __future__ import annotations

import base64
import binascii
import fnmatch
import re
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, unquote

from ganger.local.http_server import HttpRequest, HttpResponse

_LAMBDA_URI = re.compile(r"^arn:aws[\w-]*:apigateway:[^:]+:lambda:path/[^/]+/functions/(?P<arn>arn:[^/]+)/invocations$")
_INTERNAL_ERROR = '{"message": "Internal server error"}'
_MISSING_TOKEN = '{"message":"Missing Authentication Token"}'
_SIGV4 = re.compile(r"^AWS4-HMAC-SHA256 Credential=(?P<key>[^/,\s]+)/")
DEFAULT_STAGE = "local"


@dataclass(frozen=True)
class Route:
    """One method on one resource of one REST API."""

    api_id: str
    api_name: str
    resource_path: str
    http_method: str
    integration_type: str | None
    integration_uri: str | None
    resource_id: str = ""
    stages: tuple[str, ...] = ()
    binary_media_types: tuple[str, ...] = ()
    authorization_type: str = "NONE"

    @property
    def function_arn(self) -> str | None:
        """The Lambda function an AWS_PROXY integration calls, if any."""
        if self.integration_type != "AWS_PROXY" or not self.integration_uri:
            return None
        match = _LAMBDA_URI.match(self.integration_uri)
        return match.group("arn") if match else None

    @property
    def default_stage(self) -> str:
        """The stage assumed when a request path names none."""
        return self.stages[0] if self.stages else DEFAULT_STAGE


@dataclass(frozen=True)
class RouteMatch:
    """A route chosen for a request, with the stage and path it was reached by."""

    route: Route
    stage: str
    path: str
    path_parameters: dict[str, str]


def _segments(path: str) -> list[str]:
    return [segment for segment in path.split("/") if segment]


def match_resource_path(resource_path: str, path: str) -> dict[str, str] | None:
    """Path parameters if ``path`` matches ``resource_path`` (``/a/{id}/{proxy+}``), else None."""
    pattern, actual = _segments(resource_path), _segments(path)
    params: dict[str, str] = {}
    for index, part in enumerate(pattern):
        if part.startswith("{") and part.endswith("+}"):
            rest = actual[index:]
            if not rest:
                return None
            params[part[1:-2]] = unquote("/".join(rest))
            return params
        if index >= len(actual):
            return None
        if part.startswith("{") and part.endswith("}"):
            params[part[1:-1]] = unquote(actual[index])
        elif part != actual[index]:
            return None
    return params if len(actual) == len(pattern) else None


def _specificity(route: Route, method: str) -> tuple[tuple[int, ...], int]:
    kinds = tuple(2 if s.endswith("+}") else 1 if s.startswith("{") else 0 for s in _segments(route.resource_path))
    return kinds, 0 if route.http_method == method else 1


class RouteTable:
    """Resolves ``/{stage}/{path}`` or ``/{path}`` to a route.

    A first segment that names a stage of some API is taken as the stage (and the rest must match
    a route of an API deployed to it); otherwise the whole path is matched and the route's first
    stage is assumed. Among matches, literal segments beat ``{param}`` beats ``{proxy+}``, then
    an exact method beats ``ANY``, then API names break ties.
    """

    def __init__(self, routes: Sequence[Route]) -> None:
        self.routes = tuple(routes)
        self._stages = {stage for route in self.routes for stage in route.stages}

    def resolve(self, method: str, path: str) -> RouteMatch | None:
        """The most specific route for ``method`` and ``path``, or None."""
        segments = _segments(path)
        if segments and segments[0] in self._stages:
            stage, rest = segments[0], "/" + "/".join(segments[1:])
            found = self._best(method, rest, [r for r in self.routes if stage in r.stages])
            return None if found is None else RouteMatch(found[0], stage, rest, found[1])
        found = self._best(method, path, list(self.routes))
        if found is None:
            return None
        return RouteMatch(found[0], found[0].default_stage, path, found[1])

    @staticmethod
    def _best(method: str, path: str, routes: Sequence[Route]) -> tuple[Route, dict[str, str]] | None:
        candidates = []
        for route in routes:
            if route.http_method not in (method, "ANY"):
                continue
            params = match_resource_path(route.resource_path, path)
            if params is not None:
                candidates.append((_specificity(route, method), route.api_name, route, params))
        if not candidates:
            return None
        _, _, route, params = min(candidates, key=lambda c: (c[0], c[1]))
        return route, params


def _is_binary(content_type: str | None, body: bytes, binary_types: Sequence[str]) -> bool:
    media = (content_type or "").split(";")[0].strip().lower()
    if media and any(fnmatch.fnmatch(media, pattern.lower()) for pattern in binary_types):
        return True
    try:
        body.decode("utf-8")
    except UnicodeDecodeError:
        return True
    return False


LOCAL_ACCOUNT = "123456789012"
# Every signed caller of the local API front, as it names them (``iam_caller``): local mode has no IAM roles.
LOCAL_CALLERS = f"arn:aws:iam::{LOCAL_ACCOUNT}:user/*"


def iam_caller(request: HttpRequest, account: str = LOCAL_ACCOUNT) -> dict[str, str] | None:
    """The identity API Gateway gives an AWS_IAM route's signed request; None when it is not signed.
    Locally the signature's form is checked, not its value (moto's credentials are not secret)."""
    found = _SIGV4.match(request.header("Authorization") or "")
    if not found:
        return None
    key = found.group("key")
    return {"accessKey": key, "caller": key, "userArn": f"arn:aws:iam::{account}:user/{key}"}


def build_proxy_event(
    request: HttpRequest,
    match: RouteMatch,
    *,
    request_id: str,
    port: int,
    now: float | None = None,
    identity: dict[str, str] | None = None,
) -> dict[str, Any]:
    """The API Gateway (REST) Lambda proxy event for ``request``."""
    headers = _with_forwarding(request, port)
    multi_headers: dict[str, list[str]] = {}
    for name, value in headers:
        multi_headers.setdefault(name, []).append(value)
    query = parse_qs(request.query, keep_blank_values=True)
    binary = bool(request.body) and _is_binary(
        request.header("Content-Type"), request.body, match.route.binary_media_types
    )
    body: str | None = None
    if request.body:
        body = base64.b64encode(request.body).decode("ascii") if binary else request.body.decode("utf-8")
    epoch = time.time() if now is None else now
    return {
        "resource": match.route.resource_path,
        "path": match.path,
        "httpMethod": request.method,
        "headers": {name: values[-1] for name, values in multi_headers.items()},
        "multiValueHeaders": multi_headers,
        "queryStringParameters": {k: v[-1] for k, v in query.items()} or None,
        "multiValueQueryStringParameters": query or None,
        "pathParameters": match.path_parameters or None,
        "stageVariables": None,
        "requestContext": _request_context(request, match, request_id, epoch, identity or {}),
        "body": body,
        "isBase64Encoded": binary,
    }


def _with_forwarding(request: HttpRequest, port: int) -> list[tuple[str, str]]:
    """Request headers plus the X-Forwarded-* headers API Gateway adds."""
    headers = list(request.headers)
    present = {name.lower() for name, _ in headers}
    extra = {"X-Forwarded-For": request.client_ip, "X-Forwarded-Port": str(port), "X-Forwarded-Proto": "http"}
    headers.extend((name, value) for name, value in extra.items() if name.lower() not in present)
    return headers


def _request_context(
    request: HttpRequest, match: RouteMatch, request_id: str, epoch: float, identity: dict[str, str]
) -> dict[str, Any]:
    route = match.route
    return {
        "accountId": "123456789012",
        "apiId": route.api_id,
        "resourceId": route.resource_id,
        "resourcePath": route.resource_path,
        "httpMethod": request.method,
        "path": f"/{match.stage}{match.path}",
        "protocol": "HTTP/1.1",
        "stage": match.stage,
        "requestId": request_id,
        "extendedRequestId": request_id,
        "requestTime": time.strftime("%d/%b/%Y:%H:%M:%S +0000", time.gmtime(epoch)),
        "requestTimeEpoch": int(epoch * 1000),
        "domainName": request.header("Host") or "127.0.0.1",
        "identity": {"sourceIp": request.client_ip, "userAgent": request.header("User-Agent"), **identity},
    }


def internal_error(status: int = 502) -> HttpResponse:
    """API Gateway's answer when the integration fails or answers malformed."""
    return HttpResponse.json(status, _INTERNAL_ERROR)


def missing_route() -> HttpResponse:
    """API Gateway's answer for a path or method no resource defines."""
    return HttpResponse.json(403, _MISSING_TOKEN, (("x-amzn-ErrorType", "MissingAuthenticationTokenException"),))


def http_response_from_proxy(payload: Any) -> HttpResponse:
    """Translate a proxy integration result; anything malformed becomes 502, as in API Gateway."""
    if not isinstance(payload, Mapping) or "statusCode" not in payload:
        return internal_error()
    body = payload.get("body")
    if body is not None and not isinstance(body, str):
        return internal_error()
    try:
        status = int(payload["statusCode"])
        data = base64.b64decode(body or "", validate=True) if payload.get("isBase64Encoded") else (body or "").encode()
    except (TypeError, ValueError, binascii.Error):
        return internal_error()
    headers = _response_headers(payload.get("headers"), payload.get("multiValueHeaders"))
    if not any(name.lower() == "content-type" for name, _ in headers):
        headers.append(("Content-Type", "application/json"))
    return HttpResponse(status, data, tuple(headers))


def _response_headers(single: Any, multi: Any) -> list[tuple[str, str]]:
    headers: list[tuple[str, str]] = []
    names: set[str] = set()
    for name, values in (multi or {}).items():
        headers.extend((str(name), str(value)) for value in values)
        names.add(str(name).lower())
    for name, value in (single or {}).items():
        if str(name).lower() not in names:
            headers.append((str(name), str(value)))
    return headers
