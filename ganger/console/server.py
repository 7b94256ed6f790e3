"""The console's HTTP server: the standard library's ThreadingHTTPServer on 127.0.0.1, one thread per request.

No framework: the console serves a handful of server-rendered pages and one JSON endpoint to one operator, so
``http.server`` is enough and adds no dependency; ``ConsoleApp`` holds everything but the socket.
"""

from __future__ import annotations

import logging
import threading
import urllib.parse
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from ganger.console.app import ConsoleApp, Request, Response

logger = logging.getLogger(__name__)
HOST = "127.0.0.1"
MAX_BODY = 1 << 20  # a config document's form is far smaller


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"

    def do_GET(self) -> None:
        self._serve("GET", {})

    def do_HEAD(self) -> None:
        self._serve("HEAD", {})

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        if length > MAX_BODY:
            self._send(Response(413, b"too large", "text/plain"))
            return
        body = self.rfile.read(length).decode("utf-8", "replace")
        form = {k: v[-1] for k, v in urllib.parse.parse_qs(body, keep_blank_values=True).items()}
        self._serve("POST", form)

    def do_PUT(self) -> None:
        self._serve("PUT", {})

    def do_DELETE(self) -> None:
        self._serve("DELETE", {})

    def do_OPTIONS(self) -> None:  # a CORS preflight: answered without any Access-Control-* header
        self._serve("OPTIONS", {})

    def _serve(self, method: str, form: dict[str, str]) -> None:
        path = urllib.parse.unquote(urllib.parse.urlsplit(self.path).path)
        headers = {k.lower(): v for k, v in self.headers.items()}
        self._send(self.server.app.handle(Request(method, path, headers, form)), body=method != "HEAD")

    def _send(self, response: Response, body: bool = True) -> None:
        self.send_response(response.status)
        self.send_header("Content-Type", response.content_type)
        self.send_header("Content-Length", str(len(response.body)))
        for name, value in response.headers.items():
            self.send_header(name, value)
        self.end_headers()
        if body:
            self.wfile.write(response.body)

    def log_message(self, format: str, *args: Any) -> None:
        logger.debug("console %s - %s", self.address_string(), format % args)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    app: ConsoleApp  # set once bound: the app's Guard needs the port

    def __init__(self, port: int) -> None:
        super().__init__((HOST, port), _Handler)


class ConsoleServer:
    """Serves ``app`` on 127.0.0.1:``port`` (0: a free port) in a background thread until ``stop``."""

    def __init__(self, server: _Server) -> None:
        self.app = server.app
        self._server = server
        self._thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.port}/"

    def start(self) -> ConsoleServer:
        self._thread = threading.Thread(target=self._server.serve_forever, name="ganger-console", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=10)


def bind(port: int, make_app: Callable[[int], ConsoleApp]) -> ConsoleServer:
    """Bind first (so a port of 0 is known), then build the app for the bound port."""
    server = _Server(port)
    server.app = make_app(int(server.server_address[1]))
    return ConsoleServer(server)
