"""In-process Lambda for tests and benchmarks: boto3 `Invoke` calls run registered handlers here.

moto cannot run Lambda code without Docker, so this routes the Lambda Invoke API (and only it) to
Python handlers in this process, at botocore's ``_make_api_call``: callers keep using the real boto3
API. ``Event`` invocations are queued and run by ``drain()``, as Lambda runs them later;
``RequestResponse`` ones run at once. A handler's exception becomes ``FunctionError: Unhandled``.
"""

from __future__ import annotations

import contextlib
import io
import json
import logging
import time
import traceback
import uuid
from collections import Counter, deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import botocore.client
from botocore.response import StreamingBody

logger = logging.getLogger(__name__)
Handler = Callable[[Any, Any], Any]


@dataclass
class InvocationContext:
    """The parts of Lambda's context object that handlers use."""

    function_name: str
    timeout_seconds: float = 900.0
    memory_limit_in_mb: int = 128
    function_version: str = "$LATEST"
    aws_request_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    started: float = field(default_factory=time.monotonic)

    @property
    def invoked_function_arn(self) -> str:
        return f"arn:aws:lambda:us-east-1:123456789012:function:{self.function_name}"

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self.timeout_seconds - (time.monotonic() - self.started)) * 1000))


@dataclass
class FunctionError:
    function: str
    event: Any
    error: str


def _function_name(name_or_arn: str) -> str:
    return name_or_arn.split(":function:")[-1].split(":")[0]


class InProcessLambda:
    """A registry of handlers by function name, and the patch that routes Invoke to them."""

    def __init__(self) -> None:
        self.functions: dict[str, tuple[Handler, float]] = {}
        self.queue: deque[tuple[str, Any]] = deque()
        self.invocations: Counter[str] = Counter()
        self.errors: list[FunctionError] = []
        self.before_invoke: Callable[[str, Any], None] | None = None

    def register(self, name: str, handler: Handler, timeout_seconds: float = 900.0) -> None:
        self.functions[name] = (handler, timeout_seconds)

    def run(self, name: str, event: Any) -> Any:
        """Run a handler now, as one invocation. Raises what the handler raises."""
        handler, timeout = self.functions[name]
        self.invocations[name] += 1
        if self.before_invoke is not None:
            self.before_invoke(name, event)
        return handler(event, InvocationContext(name, timeout))

    def drain(self, max_invocations: int = 1_000_000) -> int:
        """Run queued Event invocations (and those they cause) until none is left. Returns how many ran."""
        ran = 0
        while self.queue and ran < max_invocations:
            name, event = self.queue.popleft()
            ran += 1
            try:
                self.run(name, event)
            except Exception as exc:  # an async invocation's error goes to the function's log, as on Lambda
                logger.warning("function %s failed: %s", name, exc)
                self.errors.append(FunctionError(name, event, f"{type(exc).__name__}: {exc}"))
        return ran

    def _invoke(self, params: dict[str, Any]) -> dict[str, Any]:
        name = _function_name(params["FunctionName"])
        if name not in self.functions:
            raise botocore.exceptions.ClientError(
                {"Error": {"Code": "ResourceNotFoundException", "Message": f"Function not found: {name}"}}, "Invoke"
            )
        raw = params.get("Payload", b"{}")
        event = json.loads(raw.read() if hasattr(raw, "read") else raw or b"{}")
        if params.get("InvocationType", "RequestResponse") == "Event":
            self.queue.append((name, event))
            return {"StatusCode": 202, "Payload": StreamingBody(io.BytesIO(b""), 0)}
        try:
            body = json.dumps(self.run(name, event), default=str).encode()
            return {"StatusCode": 200, "Payload": StreamingBody(io.BytesIO(body), len(body))}
        except Exception as exc:
            error = {"errorMessage": str(exc), "errorType": type(exc).__name__,
                     "stackTrace": traceback.format_tb(exc.__traceback__)}  # fmt: skip
            body = json.dumps(error).encode()
            return {
                "StatusCode": 200,
                "FunctionError": "Unhandled",
                "Payload": StreamingBody(io.BytesIO(body), len(body)),
            }

    @contextlib.contextmanager
    def installed(self) -> Iterator[InProcessLambda]:
        """Route every boto3 Lambda Invoke in this process here while the block runs."""
        with invokes_routed_to(lambda params: self._invoke(params)):  # looked up per call: tests replace it
            yield self


@contextlib.contextmanager
def invokes_routed_to(invoke: Callable[[dict[str, Any]], dict[str, Any]]) -> Iterator[None]:
    """While the block runs, every boto3 Lambda ``Invoke`` in this process is answered by ``invoke(params)``
    (botocore's ``_make_api_call``); every other call goes where it would."""
    original = botocore.client.BaseClient._make_api_call

    def _make_api_call(client: Any, operation_name: str, api_params: dict[str, Any]) -> Any:
        if operation_name == "Invoke" and client.meta.service_model.service_name == "lambda":
            return invoke(api_params)
        return original(client, operation_name, api_params)

    botocore.client.BaseClient._make_api_call = _make_api_call
    try:
        yield
    finally:
        botocore.client.BaseClient._make_api_call = original
