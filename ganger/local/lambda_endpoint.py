"""A local Lambda API endpoint that runs deployed functions in this process.

moto stores Lambda functions but cannot run them without Docker. boto3 reaches this endpoint
through ``AWS_ENDPOINT_URL_LAMBDA`` (as with ``sam local start-lambda``): ``Invoke`` runs the
handler named by the function's configuration in moto; every other Lambda API call is proxied
verbatim to moto.

An ``Event`` invocation whose handler raises is retried as Lambda does: 1 minute, then 2 minutes
later (``retry_delays``), up to the function's ``MaximumRetryAttempts`` (its EventInvokeConfig in
moto; 2 without one) and within its ``MaximumEventAgeInSeconds``. Then the event goes to the
on-failure destination, if the function has one, in the record shape Lambda sends.
"""

from __future__ import annotations

import http.client
import json
import logging
import re
import threading
import time
import uuid
from collections import Counter, deque
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from botocore.exceptions import ClientError

from ganger.local.async_retries import (
    LAMBDA_RETRY_DELAYS,
    AsyncAttempt,
    RetryPolicy,
    give_up,
    next_step,
    read_retry_policy,
    sqs_destination,
)
from ganger.local.errors import FunctionNotFound
from ganger.local.http_server import LOOPBACK, BackgroundHttpServer, HttpRequest, HttpResponse
from ganger.local.lambda_http import aws_error, invocation_response, parse_function_name
from ganger.local.lambda_runtime import (
    FunctionConfig,
    HandlerResolver,
    InvocationOutcome,
    import_handler,
    run_function,
)

__all__ = [
    "LAMBDA_RETRY_DELAYS",
    "InvocationRecord",
    "LocalLambdaEndpoint",
    "RetryPolicy",
    "aws_error",
    "invocation_response",
    "parse_function_name",
    "sqs_destination",
]
logger = logging.getLogger(__name__)

_INVOKE_PATH = re.compile(r"^/2015-03-31/functions/(?P<name>[^/]+)/invocations/?$")
# Host and Origin are checked here (origin_guard); the proxied call is the endpoint's own, to moto's address.
_PROXY_SKIP_HEADERS = frozenset({"host", "origin", "connection", "keep-alive", "transfer-encoding", "content-length"})

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
    retries: dict[str, int] = field(default_factory=dict)
    retrying: int = 0
    to_destination: dict[str, int] = field(default_factory=dict)


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
        retry_delays: Seconds before Lambda's first and second retry of a failed Event invocation.
        send_to_destination: Delivers a failure record to a destination ARN (an SQS queue in moto);
            without it the record is only logged.
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
        retry_delays: tuple[float, ...] = LAMBDA_RETRY_DELAYS,
        send_to_destination: Callable[[str, dict[str, Any]], None] | None = None,
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
        self._retry_delays = retry_delays
        self._send_to_destination = send_to_destination
        self._policies: dict[str, RetryPolicy] = {}
        self._timers: set[threading.Timer] = set()
        self._retries: Counter[str] = Counter()
        self._to_destination: Counter[str] = Counter()

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
        """Stop taking requests and pending retries, then let queued Event invocations finish and join the workers."""
        self._server.stop()
        with self._state:
            timers, self._timers = list(self._timers), set()
        for timer in timers:
            timer.cancel()
        if self._executor is not None:
            self._executor.shutdown(wait=True)
            self._executor = None

    def refresh(self) -> None:
        """Forget cached function configurations (after a redeploy)."""
        with self._configs_lock:
            self._configs.clear()
            self._policies.clear()

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
            return EndpointStats(
                dict(self._invocations), dict(self._errors), self._in_flight, self._queued,
                dict(self._retries), len(self._timers), dict(self._to_destination),
            )  # fmt: skip

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

    def _submit(self, config: FunctionConfig, event: Any, request_id: str, attempt: AsyncAttempt | None = None) -> None:
        if self._executor is None:
            raise RuntimeError("LocalLambdaEndpoint is not started")
        with self._state:
            self._queued += 1
        self._executor.submit(self._run_queued, config, event, request_id, attempt or AsyncAttempt())

    def _run_queued(self, config: FunctionConfig, event: Any, request_id: str, attempt: AsyncAttempt) -> None:
        with self._state:
            self._queued -= 1
        outcome: InvocationOutcome | None = None
        try:
            outcome = self._run(config, event, EVENT, request_id)
        except Exception:
            # The executor would keep this in a future nobody reads.
            logger.exception("Event invocation %s of %s failed in the runtime", request_id, config.name)
        if outcome is None or outcome.error is not None:
            self._after_failure(config, event, outcome, attempt)

    # Lambda's own retries of a failed Event invocation

    def retry_policy(self, name: str) -> RetryPolicy:
        """The function's EventInvokeConfig in moto (Lambda's defaults without one), read once."""
        with self._configs_lock:
            cached = self._policies.get(name)
        if cached is not None:
            return cached
        policy = read_retry_policy(self._lambda, name)
        with self._configs_lock:
            self._policies[name] = policy
        return policy

    def _after_failure(
        self, config: FunctionConfig, event: Any, outcome: InvocationOutcome | None, attempt: AsyncAttempt
    ) -> None:
        try:
            policy = self.retry_policy(config.name)
        except Exception:
            logger.exception("could not read the EventInvokeConfig of %s; not retrying", config.name)
            return
        step = next_step(policy, attempt, self._retry_delays, time.monotonic())
        if isinstance(step, float):
            self._retry_later(config, event, AsyncAttempt(attempt.retries + 1, attempt.first_seen), step)
            return
        with self._state:
            self._to_destination[config.name] += 1
        give_up(config, event, outcome, attempt, policy, step, self._send_to_destination)

    def _retry_later(self, config: FunctionConfig, event: Any, attempt: AsyncAttempt, delay: float) -> None:
        logger.warning(
            "emulating Lambda's async retry: %s failed, retry %d in %.0f s", config.name, attempt.retries, delay
        )

        def fire() -> None:
            with self._state:
                self._timers.discard(timer)
                self._retries[config.name] += 1
            try:
                self._submit(config, event, str(uuid.uuid4()), attempt)
            except RuntimeError:
                logger.warning("retry of %s dropped: the endpoint stopped", config.name)

        timer = threading.Timer(delay, fire)
        timer.daemon = True
        with self._state:
            self._timers.add(timer)
        timer.start()

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
