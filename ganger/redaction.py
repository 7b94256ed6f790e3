"""Secrets never reach a log: every record is redacted as it is made, whichever logger or handler sees it.

python-telegram-bot logs the Bot API URL (which holds the token) at DEBUG, httpx logs request URLs at
INFO, botocore logs response bodies (a secret's ``SecretString``, an SSM SecureString's ``Value``) at
DEBUG. A filter on one logger misses records of its children and of other libraries, and a handler
filter misses handlers added later (Lambda's, Powertools', pytest's), so the redaction sits in the
log record factory: a record is clean before any logger, filter or handler gets it.
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Callable
from typing import Any

MASK = "***"
# A token in a Bot API URL (``.../bot<token>/sendMessage``, ``.../file/bot<token>/...``), any length.
_TOKEN_IN_URL = re.compile(r"/(file/)?bot\d+(?::|%3[Aa])[A-Za-z0-9_-]+")
# A Telegram bot token anywhere else: <bot id>:<35 characters> (the colon maybe URL-encoded).
_BOT_TOKEN = re.compile(r"\d{5,}(?::|%3[Aa])[A-Za-z0-9_-]{20,}")
# botocore's "Response body" of secretsmanager:GetSecretValue and ssm:GetParameter: a JSON string value
# up to its closing quote (quotes inside it are escaped, once in JSON and twice in the body's repr).
_SECRET_STRING = re.compile(r'("SecretString"\s*:\s*")(.*?)(?<!\\)("\s*[,}])', re.DOTALL)
_SECURE_VALUE = re.compile(r'("Value"\s*:\s*")(.*?)(?<!\\)("\s*[,}])', re.DOTALL)

_lock = threading.Lock()
_known: set[str] = set()
_installed: list[Callable[..., logging.LogRecord]] = []


def remember(*secrets: str) -> None:
    """Values to mask wherever they appear (the webhook secret has no recognisable shape)."""
    with _lock:
        _known.update(s for s in secrets if len(s) >= 8)


def redact(text: str) -> str:
    text = _TOKEN_IN_URL.sub(lambda m: f"/{m.group(1) or ''}bot{MASK}", text)
    text = _BOT_TOKEN.sub(MASK, text)
    if "SecretString" in text:
        text = _SECRET_STRING.sub(rf"\1{MASK}\3", text)
    if "SecureString" in text:
        text = _SECURE_VALUE.sub(rf"\1{MASK}\3", text)
    for secret in sorted(_known, key=len, reverse=True):
        if secret in text:
            text = text.replace(secret, MASK)
    return text


def _redact_record(record: logging.LogRecord) -> None:
    if record.exc_info:
        # The traceback is kept as redacted text only: a formatter that formats ``exc_info`` itself
        # (Powertools', Lambda's JSON log format) would print the exception's message unredacted. The
        # standard Formatter prints ``exc_text`` when ``exc_info`` is empty.
        if not record.exc_text:
            record.exc_text = redact(logging.Formatter().formatException(record.exc_info))
        record.exc_info = None
    if record.stack_info:
        record.stack_info = redact(record.stack_info)
    try:
        message = record.getMessage()
    except (TypeError, ValueError):  # a malformed call; logging reports it when the record is handled
        return
    # Always freeze the message: an argument may be changed after the call (python-telegram-bot logs a
    # dict, then puts the file URL with the token into it), and handlers format later.
    record.msg, record.args = redact(message), None


def install() -> None:
    """Redact every log record from now on (idempotent; wraps whatever record factory is set)."""
    with _lock:
        if _installed:
            return
        previous = logging.getLogRecordFactory()

        def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
            record = previous(*args, **kwargs)
            _redact_record(record)
            return record

        _installed.append(previous)
        logging.setLogRecordFactory(factory)
