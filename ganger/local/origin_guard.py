"""Every local server answers only its own callers: no foreign ``Origin``, no foreign ``Host``.

The local servers (moto, the Lambda endpoint, the API front, the fake Bot API) listen on 127.0.0.1, yet a
web page the developer opens can still reach them: a page on ``https://evil.example`` that fetches
``http://127.0.0.1:PORT`` sends ``Origin: https://evil.example`` (and a CORS preflight first for a signed
AWS call), and a page whose name is rebound to 127.0.0.1 (DNS rebinding) sends ``Host: evil.example:PORT``.
boto3, the SDKs, the CLI and ``ganger chat`` send no ``Origin`` and name the address they dialled as ``Host``.

So a request is served only when its ``Host`` is the server's own (``127.0.0.1:PORT`` or
``localhost:PORT``) and it has no ``Origin`` or the server's own; anything else gets a 403 without CORS
headers, so the browser shows the page nothing. Used by ``ganger.local.http_server`` (every server built on
it) and, as WSGI middleware, by ``ganger.local.moto_server``.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from typing import Any

OWN_HOSTNAMES = ("127.0.0.1", "localhost")
REFUSED_STATUS = 403
_CORS_PREFIX = "access-control-"


def own_hosts(port: int) -> frozenset[str]:
    """The ``Host`` values that name this server (a bare name too on port 80, where clients omit it)."""
    hosts = {f"{name}:{port}" for name in OWN_HOSTNAMES}
    if port == 80:
        hosts.update(OWN_HOSTNAMES)
    return frozenset(hosts)


def refusal(host: str | None, origin: str | None, port: int) -> str | None:
    """Why a request to the server on ``port`` must be refused, or None to serve it.

    Args:
        host: The ``Host`` header (repeated headers joined with commas), None when absent.
        origin: The ``Origin`` header, None when absent (CLI, boto3 and SDK calls send none).
        port: The port the server is bound to (not the one the request claims).
    """
    own = own_hosts(port)
    if host is None or host.strip().lower() not in own:
        return f"Host {host!r} is not this server's own (127.0.0.1:{port}): refused"
    if origin is not None and origin.strip().lower() not in {f"http://{name}" for name in own}:
        return f"Origin {origin!r} is not this server's own (http://127.0.0.1:{port}): refused"
    return None


def refusal_body(reason: str) -> bytes:
    """The JSON body of a refusal: the reason, for a developer's client that hits it."""
    return json.dumps({"message": reason}).encode("utf-8")


def without_cors(headers: Iterable[tuple[str, str]]) -> list[tuple[str, str]]:
    """``headers`` less every ``Access-Control-*`` one: no local server grants a cross-origin read."""
    return [(name, value) for name, value in headers if not name.lower().startswith(_CORS_PREFIX)]


class GuardedWsgiApp:
    """WSGI middleware: refuses foreign ``Host``/``Origin`` before ``app`` sees the request, and strips CORS
    headers from whatever ``app`` answers (moto enables CORS for every origin unless told otherwise)."""

    def __init__(self, app: Callable[..., Any]) -> None:
        self._app = app

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        port = int(environ.get("SERVER_PORT") or 0)
        reason = refusal(environ.get("HTTP_HOST"), environ.get("HTTP_ORIGIN"), port)
        if reason is not None:
            body = refusal_body(reason)
            start_response(
                f"{REFUSED_STATUS} Forbidden",
                [("Content-Type", "application/json"), ("Content-Length", str(len(body)))],
            )
            return [body]

        def start_without_cors(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
            return start_response(status, without_cors(headers), exc_info)

        return self._app(environ, start_without_cors)
