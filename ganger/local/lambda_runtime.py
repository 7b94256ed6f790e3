"""Running one Lambda handler in-process, the way the Lambda runtime would.

Knows nothing of HTTP: the endpoint decides when to run a function, this module runs it with the
function's environment laid over the process environment and a Lambda-like context.
"""

from __future__ import annotations

import importlib
import logging
import time
import traceback
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from ganger.constants import env_overlay
from ganger.local.errors import HandlerNotFound

logger = logging.getLogger(__name__)

LambdaHandler = Callable[[Any, Any], Any]
HandlerResolver = Callable[[str], LambdaHandler]


@dataclass(frozen=True)
class FunctionConfig:
    """What the runtime needs from GetFunctionConfiguration."""

    name: str
    arn: str
    handler: str
    timeout_seconds: int = 3
    memory_mb: int = 128
    version: str = "$LATEST"
    environment: Mapping[str, str] = field(default_factory=dict)

    @classmethod
    def from_api(cls, doc: Mapping[str, Any]) -> FunctionConfig:
        """Build from a GetFunctionConfiguration response."""
        env = (doc.get("Environment") or {}).get("Variables") or {}
        return cls(
            name=str(doc["FunctionName"]),
            arn=str(doc["FunctionArn"]),
            handler=str(doc.get("Handler") or ""),
            timeout_seconds=int(doc.get("Timeout") or 3),
            memory_mb=int(doc.get("MemorySize") or 128),
            version=str(doc.get("Version") or "$LATEST"),
            environment={str(k): str(v) for k, v in env.items()},
        )

    @property
    def region(self) -> str:
        """The region named in the function ARN."""
        parts = self.arn.split(":")
        return parts[3] if len(parts) > 3 else "us-east-1"


class LambdaContext:
    """The attributes and method of the AWS Lambda Python context object that handlers use."""

    def __init__(
        self,
        config: FunctionConfig,
        request_id: str,
        *,
        invoked_arn: str | None = None,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.function_name = config.name
        self.function_version = config.version
        self.invoked_function_arn = invoked_arn or config.arn
        self.memory_limit_in_mb = config.memory_mb
        self.aws_request_id = request_id
        self.log_group_name = f"/aws/lambda/{config.name}"
        self.log_stream_name = f"{time.strftime('%Y/%m/%d')}/[{config.version}]{uuid.uuid4().hex}"
        self.identity = None
        self.client_context = None
        self._monotonic = monotonic
        self._deadline = monotonic() + config.timeout_seconds

    def get_remaining_time_in_millis(self) -> int:
        """Milliseconds left before the function's configured timeout (never negative)."""
        return max(0, int((self._deadline - self._monotonic()) * 1000))


@dataclass(frozen=True)
class InvocationOutcome:
    """The result of one run: either ``payload`` or the AWS-shaped error document."""

    request_id: str
    payload: Any = None
    error: Mapping[str, Any] | None = None
    duration_seconds: float = 0.0

    @property
    def error_type(self) -> str | None:
        """The exception class name when the handler raised."""
        return None if self.error is None else str(self.error.get("errorType"))


def import_handler(handler: str) -> LambdaHandler:
    """Resolve ``package.module.function`` by importing the module in this process."""
    module_name, _, attribute = handler.rpartition(".")
    if not module_name or not attribute:
        raise HandlerNotFound(handler, "expected 'module.function'")
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise HandlerNotFound(handler, f"module {module_name!r} does not import: {exc}") from exc
    function: Callable[[Any, Any], Any] | None = getattr(module, attribute, None)
    if not callable(function):
        raise HandlerNotFound(handler, f"{module_name!r} has no callable {attribute!r}")
    return function


def runtime_environment(config: FunctionConfig) -> dict[str, str]:
    """Reserved variables the Lambda runtime sets, with the function's own variables over them."""
    reserved = {
        "AWS_LAMBDA_FUNCTION_NAME": config.name,
        "AWS_LAMBDA_FUNCTION_VERSION": config.version,
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(config.memory_mb),
        "AWS_LAMBDA_LOG_GROUP_NAME": f"/aws/lambda/{config.name}",
        "AWS_REGION": config.region,
        "AWS_DEFAULT_REGION": config.region,
    }
    return {**reserved, **config.environment}


def error_document(exc: BaseException) -> dict[str, Any]:
    """The body Lambda returns for an unhandled exception."""
    error_type = "Runtime.HandlerNotFound" if isinstance(exc, HandlerNotFound) else type(exc).__name__
    return {
        "errorMessage": str(exc),
        "errorType": error_type,
        "requestId": "",
        "stackTrace": [line.rstrip("\n") for line in traceback.format_tb(exc.__traceback__)],
    }


def run_function(
    config: FunctionConfig,
    event: Any,
    *,
    resolve: HandlerResolver = import_handler,
    invoked_arn: str | None = None,
    request_id: str | None = None,
) -> InvocationOutcome:
    """Run the function's handler in the calling thread under its environment overlay.

    The overlay is a contextvar, so it only covers this thread: callers run this inside the thread
    that owns the invocation.
    """
    request_id = request_id or str(uuid.uuid4())
    started = time.monotonic()
    context = LambdaContext(config, request_id, invoked_arn=invoked_arn)
    with env_overlay(runtime_environment(config)):
        try:
            payload = resolve(config.handler)(event, context)
        except Exception as exc:
            logger.exception("function %s (request %s) raised %s", config.name, request_id, type(exc).__name__)
            doc = {**error_document(exc), "requestId": request_id}
            return InvocationOutcome(request_id, error=doc, duration_seconds=time.monotonic() - started)
    duration = time.monotonic() - started
    if duration > config.timeout_seconds:
        logger.warning(
            "function %s ran %.1fs, over its %ss timeout (not enforced locally)",
            config.name,
            duration,
            config.timeout_seconds,
        )
    return InvocationOutcome(request_id, payload=payload, duration_seconds=duration)
