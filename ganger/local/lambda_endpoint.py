"""A local Lambda API endpoint that runs deployed functions in this process.

moto stores Lambda functions but cannot run them without Docker. boto3 reaches this endpoint
through ``AWS_ENDPOINT_URL_LAMBDA`` (as with ``sam local start-lambda``): ``Invoke`` runs the
handler named by the function's configuration in moto; every other Lambda API call is proxied
verbatim to moto.
"""

from __future__ import annotations

import http.client
import json
import logging
import re
import threading
import uuid
from collections import Counter, deque
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote, urlsplit

from botocore.exceptions import ClientError

from ganger.local.errors import FunctionNotFound
from ganger.local.http_server import LOOPBACK, BackgroundHttpServer, HttpRequest, HttpResponse
from ganger.local.lambda_runtime import (
    FunctionConfig,
    HandlerResolver,
    InvocationOutcome,
    import_handler,
    run_function,
)

logger = logging.getLogger(__name__)

_INVOKE_PATH = re.compile(r"^/2015-03-31/functions/(?P<name>[^/]+)/invocations/?$")
_PROXY_SKIP_HEADERS = frozenset({"host", "connection", "keep-alive", "transfer-encoding", "content-length"})

REQUEST_RESPONSE = "RequestResponse"
EVENT = "Event"
DRY_RUN = "DryRun"


@dataclass(frozen=True)
class InvocationRecord:
    """One finished invocation, for tests and the demo's report."""

    function_name: str
    invocation_type: str
    request_id: str
    event: Any
    payload: Any
    error_type: str | None
    duration_seconds: float


@dataclass(frozen=True)
class EndpointStats:
    """Counters at one moment."""

    invocations: dict[str, int] = field(default_factory=dict)
    errors: dict[str, int] = field(default_factory=dict)
    in_flight: int = 0
    queued: int = 0


def parse_function_name(raw: str) -> tuple[str, str | None]:
    """Split a FunctionName (name, ``name:qualifier``, full or partial ARN) into name and qualifier."""
    value = unquote(raw)
    if ":function:" in value:
        value = value.split(":function:", 1)[1]
    name, _, qualifier = value.partition(":")
    return name, qualifier or None


def aws_error(status: int, code: str, message: str) -> HttpResponse:
    """An error in the REST-JSON shape botocore turns into ``ClientError`` with ``code``."""
    body = json.dumps({"Type": "User", "message": message, "Message": message})
    return HttpResponse.json(status, body, (("x-amzn-ErrorType", code), ("x-amzn-RequestId", str(uuid.uuid4()))))


def invocation_response(outcome: InvocationOutcome, version: str) -> HttpResponse:
    """The HTTP answer to a RequestResponse invocation, function errors as AWS reports them."""
    headers: tuple[tuple[str, str], ...] = (
        ("X-Amz-Executed-Version", version),
        ("x-amzn-RequestId", outcome.request_id),
    )
    if outcome.error is not None:
        return HttpResponse.json(200, json.dumps(outcome.error), (*headers, ("X-Amz-Function-Error", "Unhandled")))
    try:
        body = json.dumps(outcome.payload)
    except (TypeError, ValueError) as exc:
        error = {
            "errorMessage": f"Unable to marshal response: {exc}",
            "errorType": "Runtime.MarshalError",
            "requestId": outcome.request_id,
            "stackTrace": [],
        }
        return HttpResponse.json(200, json.dumps(error), (*headers, ("X-Amz-Function-Error", "Unhandled")))
    return HttpResponse.json(200, body, headers)


class LocalLambdaEndpoint:
    """Serves the Lambda API on 127.0.0.1: runs ``Invoke`` in-process, proxies the rest to moto.

    Args:
        lambda_client: A boto3 Lambda client pointed at moto (not at this endpoint); used for
            GetFunctionConfiguration. Its endpoint URL is where other calls are proxied.
        host: Interface to bind.
        port: Port to bind; 0 picks a free one.
        max_concurrency: Threads running ``Event`` invocations; further ones queue, never drop.
        resolve: Turns a ``Handler`` string into a callable (default: import it).
        proxy_url: Where non-Invoke calls go; defaults to ``lambda_client``'s endpoint.
    """

    def __init__(
        self,
        lambda_client: Any,
        *,
        host: str = LOOPBACK,
        port: int = 0,
        max_concurrency: int = 8,
        resolve: HandlerResolver = import_handler,
        proxy_url: str | None = None,
        record_limit: int = 10_000,
    ) -> None:
        self._lambda = lambda_client
        self._proxy_url = proxy_url
        self._max_concurrency = max_concurrency
        self._resolve = resolve
        self._server = BackgroundHttpServer(self.handle, host=host, port=port, name="lambda")
        self._executor: ThreadPoolExecutor | None = None
        self._configs: dict[tuple[str, str | None], FunctionConfig] = {}
        self._configs_lock = threading.Lock()
        self._state = threading.Condition()
        self._queued = 0
        self._in_flight = 0
        self._invocations: Counter[str] = Counter()
        self._errors: Counter[str] = Counter()
        self._records: deque[InvocationRecord] = deque(maxlen=record_limit)
        self._listeners: list[Callable[[InvocationRecord], None]] = []

    # lifecycle

    @property
    def url(self) -> str:
        """The value for ``AWS_ENDPOINT_URL_LAMBDA``."""
        return self._server.url

    def start(self) -> None:
        """Start the worker pool and the HTTP server."""
        self._executor = ThreadPoolExecutor(self._max_concurrency, thread_name_prefix="ganger-lambda-event")
        self._server.start()

    def stop(self) -> None:
        """Stop taking requests, then let queued Event invocations finish and join the workers."""
        self._server.stop()
        if self._executor is not None:
            self._executor.shutdown(wait=True)
            self._executor = None

    def refresh(self) -> None:
        """Forget cached function configurations (after a redeploy)."""
        with self._configs_lock:
            self._configs.clear()

    # observability

    def add_listener(self, listener: Callable[[InvocationRecord], None]) -> None:
        """Call ``listener`` after every invocation (from the thread that ran it)."""
        self._listeners.append(listener)

    @property
    def records(self) -> list[InvocationRecord]:
        """Finished invocations, oldest first."""
        with self._state:
            return list(self._records)

    def stats(self) -> EndpointStats:
        """A snapshot of the counters."""
        with self._state:
            return EndpointStats(dict(self._invocations), dict(self._errors), self._in_flight, self._queued)

    def wait_idle(self, timeout: float | None = None) -> bool:
        """Wait until nothing is queued or running; False if ``timeout`` passed first."""
        with self._state:
            return self._state.wait_for(lambda: self._queued == 0 and self._in_flight == 0, timeout)

    # request handling

    def handle(self, request: HttpRequest) -> HttpResponse:
        """Answer one Lambda API request."""
        match = _INVOKE_PATH.match(request.path)
        if request.method != "POST" or match is None:
            return self._proxy(request)
        name, qualifier = parse_function_name(match.group("name"))
        qualifier = next(iter(request.query_params().get("Qualifier", [])), qualifier)
        invocation_type = request.header("X-Amz-Invocation-Type") or REQUEST_RESPONSE
        if invocation_type not in (REQUEST_RESPONSE, EVENT, DRY_RUN):
            return aws_error(400, "InvalidParameterValueException", f"Invalid InvocationType: {invocation_type}")
        try:
            event = json.loads(request.body) if request.body.strip() else {}
        except ValueError:
            return aws_error(400, "InvalidRequestContentException", "Could not parse request body into json")
        try:
            config = self.function_config(name, qualifier)
        except FunctionNotFound as exc:
            return aws_error(404, "ResourceNotFoundException", str(exc))
        return self._dispatch(config, invocation_type, event)

    def function_config(self, name: str, qualifier: str | None = None) -> FunctionConfig:
        """The deployed configuration of a function, read from moto once and cached."""
        key = (name, qualifier)
        with self._configs_lock:
            cached = self._configs.get(key)
        if cached is not None:
            return cached
        kwargs = {"FunctionName": name, **({"Qualifier": qualifier} if qualifier else {})}
        try:
            doc = self._lambda.get_function_configuration(**kwargs)
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") == "ResourceNotFoundException":
                raise FunctionNotFound(name) from exc
            raise
        config = FunctionConfig.from_api(doc)
        with self._configs_lock:
            self._configs[key] = config
        return config

    def _dispatch(self, config: FunctionConfig, invocation_type: str, event: Any) -> HttpResponse:
        request_id = str(uuid.uuid4())
        if invocation_type == DRY_RUN:
            return HttpResponse(204, headers=(("x-amzn-RequestId", request_id),))
        if invocation_type == EVENT:
            self._submit(config, event, request_id)
            return HttpResponse(202, headers=(("x-amzn-RequestId", request_id),))
        outcome = self._run(config, event, REQUEST_RESPONSE, request_id)
        return invocation_response(outcome, config.version)

    def _submit(self, config: FunctionConfig, event: Any, request_id: str) -> None:
        if self._executor is None:
            raise RuntimeError("LocalLambdaEndpoint is not started")
        with self._state:
            self._queued += 1
        self._executor.submit(self._run_queued, config, event, request_id)

    def _run_queued(self, config: FunctionConfig, event: Any, request_id: str) -> None:
        with self._state:
            self._queued -= 1
        try:
            self._run(config, event, EVENT, request_id)
        except Exception:
            # The executor would keep this in a future nobody reads.
            logger.exception("Event invocation %s of %s failed in the runtime", request_id, config.name)

    def _run(self, config: FunctionConfig, event: Any, invocation_type: str, request_id: str) -> InvocationOutcome:
        with self._state:
            self._in_flight += 1
        outcome: InvocationOutcome | None = None
        try:
            outcome = run_function(config, event, resolve=self._resolve, request_id=request_id)
            return outcome
        finally:
            self._finish(config, event, invocation_type, request_id, outcome)

    def _finish(
        self,
        config: FunctionConfig,
        event: Any,
        invocation_type: str,
        request_id: str,
        outcome: InvocationOutcome | None,
    ) -> None:
        error_type = "Runtime.Unknown" if outcome is None else outcome.error_type
        record = InvocationRecord(
            function_name=config.name,
            invocation_type=invocation_type,
            request_id=request_id,
            event=event,
            payload=None if outcome is None else outcome.payload,
            error_type=error_type,
            duration_seconds=0.0 if outcome is None else outcome.duration_seconds,
        )
        for listener in list(self._listeners):
            try:
                listener(record)
            except Exception:
                logger.exception("invocation listener failed for %s", config.name)
        with self._state:
            self._invocations[config.name] += 1
            if error_type is not None:
                self._errors[config.name] += 1
            self._records.append(record)
            self._in_flight -= 1
            self._state.notify_all()
        logger.info(
            "invoked %s (%s) request %s in %.3fs%s",
            config.name,
            invocation_type,
            request_id,
            record.duration_seconds,
            f", error {error_type}" if error_type else "",
        )

    def _proxy(self, request: HttpRequest) -> HttpResponse:
        """Forward any other Lambda API call to moto unchanged."""
        target = urlsplit(self._proxy_url or self._lambda.meta.endpoint_url)
        headers = {k: v for k, v in request.headers if k.lower() not in _PROXY_SKIP_HEADERS}
        connection = http.client.HTTPConnection(target.hostname or LOOPBACK, target.port or 80, timeout=60)
        try:
            connection.request(request.method, request.target, body=request.body or None, headers=headers)
            response = connection.getresponse()
            body = response.read()
            return HttpResponse(response.status, body, tuple(response.getheaders()))
        finally:
            connection.close()
