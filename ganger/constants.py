"""Environment variable names and the one place that reads them.

An explicit argument beats the environment. The local runtime runs several
functions in one process, so it lays each function's own environment over the
process environment for the duration of an invocation (see ``env_overlay``).
"""

from __future__ import annotations

import contextlib
import contextvars
import os
from collections.abc import Iterator, Mapping

ENV_CONFIG_ENV = "GANGER_CONFIG_ENV"  # the `env` key of the config table; sosw uses "production"
ENV_CONFIG_TABLE = "GANGER_CONFIG_TABLE"
ENV_TASKS_TABLE = "GANGER_TASKS_TABLE"
ENV_RETRY_TABLE = "GANGER_RETRY_TABLE"
ENV_CLOSED_TABLE = "GANGER_CLOSED_TABLE"
ENV_CONFIG_TTL = "GANGER_CONFIG_TTL_SECONDS"
ENV_ENDPOINT_URL = "AWS_ENDPOINT_URL"
ENV_LAMBDA_ENDPOINT_URL = "AWS_ENDPOINT_URL_LAMBDA"
ENV_FUNCTION_NAME = "AWS_LAMBDA_FUNCTION_NAME"
ENV_REGION = "AWS_DEFAULT_REGION"
ENV_DEAD_TASKS_TOPIC = "GANGER_DEAD_TASKS_TOPIC_ARN"
ENV_ORCHESTRATOR_FUNCTION = "GANGER_ORCHESTRATOR_FUNCTION"  # whom the essentials nudge
ENV_SCAVENGER_FUNCTION = "GANGER_SCAVENGER_FUNCTION"  # whom the Scheduler wakes for a delayed job due soon
ENV_MODEL_DIR = "GANGER_MODEL_DIR"  # the processors' model files (default ~/.cache/ganger/models)
ENV_LAMBDA_TASK_ROOT = "LAMBDA_TASK_ROOT"  # where Lambda unpacks the package: models/ ship inside it
ENV_TELEGRAM_TOKEN = "GANGER_TELEGRAM_TOKEN"  # `ganger local`'s real bot token (never on the command line)
ENV_MOTO_DISABLE_GLOBAL_CORS = "MOTO_DISABLE_GLOBAL_CORS"  # moto reads it once, when moto.settings is imported
DEFAULT_MODEL_DIR = "~/.cache/ganger/models"
# `ganger chat`'s user: `ganger local` allows it only with its fake Bot API (config/ ships no allowed user).
LOCAL_CHAT_USER = 123456789

DEFAULT_CONFIG_ENV = "production"
DEFAULT_CONFIG_TABLE = "config"
DEFAULT_TASKS_TABLE = "sosw_tasks"
DEFAULT_RETRY_TABLE = "sosw_retry_tasks"
DEFAULT_CLOSED_TABLE = "sosw_closed_tasks"
DEFAULT_REGION = "us-east-1"
DEFAULT_ORCHESTRATOR_FUNCTION = "sosw_orchestrator"
DEFAULT_SCAVENGER_FUNCTION = "sosw_scavenger"

_overlay: contextvars.ContextVar[Mapping[str, str] | None] = contextvars.ContextVar("ganger_env_overlay", default=None)


def getenv(name: str, default: str | None = None) -> str | None:
    """Read an environment variable, the current function's overlay first."""
    overlay = _overlay.get()
    if overlay is not None and name in overlay:
        return overlay[name]
    return os.environ.get(name, default)


@contextlib.contextmanager
def env_overlay(variables: Mapping[str, str]) -> Iterator[None]:
    """Run a block with ``variables`` laid over the process environment (this context only)."""
    token = _overlay.set(dict(variables))
    try:
        yield
    finally:
        _overlay.reset(token)
