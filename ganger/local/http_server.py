"""A loopback HTTP server on its own thread that turns requests into calls of one function.

Every local component (Lambda endpoint, API front, fake Telegram) is a function from an
``HttpRequest`` to an ``HttpResponse``; this module owns the sockets and threads so that each
component stays testable without them and ``stop()`` leaves no thread or port behind. A request with
a foreign ``Host`` or ``Origin`` never reaches the component (``ganger.local.origin_guard``).
"""

from __future__ import annotations

import logging
import re
import socket
import socketserver
import sys
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from ganger.local.origin_guard import REFUSED_STATUS, refusal, refusal_body, without_cors

logger = logging.getLogger(__name__)

LOOPBACK = "127.0.0.1"


@dataclass(frozen=True)
class HttpRequest:
    """One request as received, headers in arrival order with their original names."""

    method: str
    target: str
    headers: tuple[tuple[str, str], ...]
    body: bytes
    client_ip: str = LOOPBACK

    @property
    def path(self) -> str:
        """The path part of the request target, still percent-encoded."""
        return urlsplit(self.target).path

    @property
    def query(self) -> str:
        """The raw query string (without ``?``)."""
        return urlsplit(self.target).query

    def query_params(self) -> dict[str, list[str]]:
        """Query parameters, every value kept."""
        return parse_qs(self.query, keep_blank_values=True)

    def header(self, name: str, default: str | None = None) -> str | None:
        """The last value of a header, matched case-insensitively."""
        wanted = name.lower()
        found = default
        for key, value in self.headers:
            if key.lower() == wanted:
                found = value
        return found


@dataclass(frozen=True)
class HttpResponse:
    """What a component answers; ``Content-Length`` is added by the server."""

    status: int
    body: bytes = b""
    headers: tuple[tuple[str, str], ...] = field(default_factory=tuple)

    @classmethod
    def json(cls, status: int, text: str, headers: tuple[tuple[str, str], ...] = ()) -> HttpResponse:
        """A JSON response from already serialised text."""
        return cls(status, text.encode("utf-8"), (("Content-Type", "application/json"), *headers))


Handler = Callable[[HttpRequest], HttpResponse]

_BOT_TOKEN = re.compile(r"\d{3,}:[A-Za-z0-9_-]{3,}")


def redact(text: str) -> str:
    """Hide Telegram bot tokens (they appear in Bot API and webhook paths) before logging."""
    return _BOT_TOKEN.sub("<token>", text)


_HOP_BY_HOP = frozenset({"connection", "keep-alive", "transfer-encoding", "content-length"})


class ConnectionTrackingMixin(socketserver.ThreadingMixIn):
    """Joins request threads on close and can end idle keep-alive connections, so stop() is clean.

    Mix in before a ``socketserver`` server class; call ``end_idle_connections()`` after
    ``shutdown()`` and before ``server_close()``.
    """

    daemon_threads = False
    block_on_close = True

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self._connections: set[socket.socket] = set()
        self._connections_lock = threading.Lock()
        super().__init__(*args, **kwargs)

    def process_request(self, request: Any, client_address: Any) -> None:
        with self._connections_lock:
            self._connections.add(request)
        super().process_request(request, client_address)

    def shutdown_request(self, request: Any) -> None:
        with self._connections_lock:
            self._connections.discard(request)
        super().shutdown_request(request)  # type: ignore[misc]

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client that hangs up (a long poll cut short by a stopping worker) is routine, not a traceback."""
        if isinstance(sys.exc_info()[1], (ConnectionResetError, BrokenPipeError)):
            return
        super().handle_error(request, client_address)  # type: ignore[misc]

    def end_idle_connections(self) -> None:
        """Stop reading on every open connection so keep-alive handler threads can finish."""
        with self._connections_lock:
            open_connections = list(self._connections)
        for sock in open_connections:
            try:
                sock.shutdown(socket.SHUT_RD)
            except OSError:
                logger.debug("connection already closed")


class _Server(ConnectionTrackingMixin, ThreadingHTTPServer):
    """The HTTP server behind ``BackgroundHttpServer``."""

    def __init__(self, address: tuple[str, int], handle: Handler) -> None:
        super().__init__(address, _RequestHandler)
        self.handle_request_fn = handle


class _RequestHandler(BaseHTTPRequestHandler):
    """Adapts ``http.server`` to the ``Handler`` function of the owning server."""

    protocol_version = "HTTP/1.1"
    server: _Server

    def _serve(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        request = HttpRequest(
            method=self.command,
            target=self.path,
            headers=tuple(self.headers.items()),
            body=body,
            client_ip=str(self.client_address[0]),
        )
        reason = refusal(self._joined("Host"), self._joined("Origin"), int(self.server.server_address[1]))
        if reason is not None:
            logger.warning("refused %s %s: %s", self.command, redact(request.path), reason)
            self._write(HttpResponse(REFUSED_STATUS, refusal_body(reason), (("Content-Type", "application/json"),)))
            return
        try:
            response = self.server.handle_request_fn(request)
        except Exception:
            logger.exception("local HTTP handler failed for %s %s", self.command, request.path)
            response = HttpResponse.json(500, '{"message": "Internal server error"}')
        self._write(response)

    def _joined(self, name: str) -> str | None:
        """Every value of a header, joined with commas as WSGI does; None when absent."""
        values = self.headers.get_all(name)
        return ",".join(values) if values else None

    def _write(self, response: HttpResponse) -> None:
        self.send_response(response.status)
        for name, value in without_cors(response.headers):
            if name.lower() not in _HOP_BY_HOP:
                self.send_header(name, value)
        self.send_header("Content-Length", str(len(response.body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(response.body)

    do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = do_HEAD = do_OPTIONS = _serve

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        logger.debug("%s %s -> %s", self.command, redact(self.path), code)

    def log_message(self, format: str, *args: Any) -> None:
        logger.debug("%s: %s", self.client_address[0], redact(format % args))


class BackgroundHttpServer:
    """Serves ``handle`` on 127.0.0.1 (port 0 = ephemeral) from a background thread."""

    def __init__(self, handle: Handler, *, host: str = LOOPBACK, port: int = 0, name: str = "http") -> None:
        self._handle = handle
        self._host = host
        self._port = port
        self._name = name
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        """The bound port; only known after ``start()``."""
        if self._server is None:
            raise RuntimeError(f"{self._name} server is not started")
        return int(self._server.server_address[1])

    @property
    def url(self) -> str:
        """Base URL without a trailing slash."""
        return f"http://{self._host}:{self.port}"

    def start(self) -> None:
        """Bind the socket and start serving."""
        if self._server is not None:
            raise RuntimeError(f"{self._name} server already started")
        self._server = _Server((self._host, self._port), self._handle)
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.1}, name=f"ganger-{self._name}"
        )
        self._thread.start()
        logger.info("%s server listening on %s", self._name, self.url)

    def stop(self) -> None:
        """Stop accepting, end idle connections, join every thread and close the port."""
        server, thread = self._server, self._thread
        if server is None or thread is None:
            return
        server.shutdown()
        thread.join()
        server.end_idle_connections()
        server.server_close()
        self._server = None
        self._thread = None
        logger.info("%s server stopped", self._name)
