"""The embedded AWS: a moto server on 127.0.0.1 and boto3 clients that reach it.

moto's ``ThreadedMotoServer`` neither closes its listening socket nor joins its request threads on
``stop()``, so this module runs the same WSGI application (``moto.server`` exports it) with a
werkzeug server that does both. The application is wrapped in ``origin_guard.GuardedWsgiApp``: a web
page the developer opens cannot read the embedded AWS (its secrets hold the bot token in local mode).
"""

from __future__ import annotations

import logging
import threading
import urllib.request
from typing import Any

import boto3
from botocore.config import Config
from moto.moto_server.werkzeug_app import DomainDispatcherApplication, MotoRequestHandler, create_backend_app
from werkzeug.serving import BaseWSGIServer

import ganger.local.moto_cfn  # noqa: F401  (moto's CloudFormation learns AWS::Lambda::EventInvokeConfig)
from ganger.clients import CLIENT_CONFIG
from ganger.constants import DEFAULT_REGION
from ganger.local.http_server import LOOPBACK, ConnectionTrackingMixin
from ganger.local.origin_guard import GuardedWsgiApp

logger = logging.getLogger(__name__)

FAKE_ACCESS_KEY = "testing"
FAKE_SECRET_KEY = "testing"

# ganger's one client config (standard retry mode), with fewer attempts against the local emulator; and
# DynamoDB Streams (and DynamoDB) clients would otherwise try account-ID based endpoints.
_CLIENT_CONFIG = CLIENT_CONFIG.merge(
    Config(account_id_endpoint_mode="disabled", retries={"max_attempts": 2, "mode": "standard"})
)


def fake_session(region: str = DEFAULT_REGION) -> boto3.session.Session:
    """A boto3 session with fake credentials, independent of the process environment."""
    return boto3.session.Session(
        aws_access_key_id=FAKE_ACCESS_KEY,
        aws_secret_access_key=FAKE_SECRET_KEY,
        aws_session_token=FAKE_ACCESS_KEY,
        region_name=region,
    )


class _MotoServer(ConnectionTrackingMixin, BaseWSGIServer):
    """werkzeug's threaded WSGI server, but one whose stop() joins its request threads."""

    multithread = True


_DYNAMODB_TARGET = "DynamoDB_20120810."  # DynamoDB's own API (DynamoDB Streams' targets start "DynamoDBStreams")


class _OneDynamoDbRequestAtATime:
    """moto's DynamoDB backend is not thread-safe: a transaction that fails restores its snapshot over
    writes other requests made meanwhile, losing them. Serving one DynamoDB request at a time makes each
    call atomic, as on AWS. Other services are left concurrent (SQS long polls must not block the rest).

    A DynamoDB request goes straight to moto's DynamoDB application: moto's dispatcher would find the
    same one, but it lists moto's package folder on disk (two ``listdir`` and a few hundred ``stat``)
    for every request to do so."""

    def __init__(self, app: DomainDispatcherApplication) -> None:
        self._app = app
        self._lock = threading.Lock()
        self._dynamodb: Any = None

    def __call__(self, environ: Any, start_response: Any) -> Any:
        target = str(environ.get("HTTP_X_AMZ_TARGET", ""))
        if not target.startswith("DynamoDB"):
            return self._app(environ, start_response)
        with self._lock:
            if not target.startswith(_DYNAMODB_TARGET):
                return list(self._app(environ, start_response))
            if self._dynamodb is None:
                self._dynamodb = self._app.get_application(environ)
            return list(self._dynamodb(environ, start_response))


class EmbeddedAws:
    """A moto server bound to loopback, plus a factory for clients pointed at it."""

    def __init__(self, *, host: str = LOOPBACK, port: int = 0, region: str = DEFAULT_REGION) -> None:
        self._host = host
        self._port = port
        self.region = region
        self._server: _MotoServer | None = None
        self._thread: threading.Thread | None = None
        self._session: boto3.session.Session | None = None
        self._session_lock = threading.Lock()  # boto3 sessions are not thread-safe

    @property
    def endpoint_url(self) -> str:
        """``http://127.0.0.1:PORT`` of the running server."""
        if self._server is None:
            raise RuntimeError("EmbeddedAws is not started")
        return f"http://{self._host}:{self._server.server_port}"

    def start(self) -> None:
        """Bind the port and serve moto on a background thread."""
        if self._server is not None:
            raise RuntimeError("EmbeddedAws already started")
        app = GuardedWsgiApp(_OneDynamoDbRequestAtATime(DomainDispatcherApplication(create_backend_app)))
        self._server = _MotoServer(self._host, self._port, app, handler=MotoRequestHandler)
        self._thread = threading.Thread(target=self._server.serve_forever, name="ganger-moto")
        self._thread.start()
        logger.info("moto server listening on %s", self.endpoint_url)

    def stop(self) -> None:
        """Stop serving and release the port."""
        server, thread = self._server, self._thread
        if server is None or thread is None:
            return
        server.shutdown()
        thread.join()
        server.end_idle_connections()
        server.server_close()
        self._server = None
        self._thread = None
        logger.info("moto server stopped")

    def reset(self) -> None:
        """Forget every resource moto holds (moto's state is per process, shared by all servers)."""
        request = urllib.request.Request(f"{self.endpoint_url}/moto-api/reset", method="POST")
        with urllib.request.urlopen(request, timeout=10) as response:
            response.read()

    def client(self, service: str, *, endpoint_url: str | None = None) -> Any:
        """A boto3 client for ``service`` with fake credentials, against moto unless told otherwise.

        Args:
            service: boto3 service name, e.g. ``"dynamodb"``.
            endpoint_url: Another endpoint, e.g. the local Lambda endpoint for ``"lambda"``.
        """
        with self._session_lock:
            if self._session is None:
                self._session = fake_session(self.region)
            return self._session.client(service, endpoint_url=endpoint_url or self.endpoint_url, config=_CLIENT_CONFIG)
