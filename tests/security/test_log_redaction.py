"""Issue 25, finding 12: a formatter that formats the exception itself (Powertools', Lambda's JSON log
format) sees no secret: once the redacted ``exc_text`` is made, the record keeps no ``exc_info``."""

from __future__ import annotations

import io
import logging
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from aws_lambda_powertools.logging.formatter import LambdaPowertoolsFormatter

from ganger import redaction

TOKEN = "4242424242:AAH-fake-token-for-redaction_0123456789"
SECRET_PART = TOKEN.split(":", 1)[1]


@pytest.fixture
def json_log() -> Iterator[tuple[logging.Logger, io.StringIO]]:
    """A logger whose only handler formats records as Powertools does (exc_info read by the formatter)."""
    redaction.install()
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(LambdaPowertoolsFormatter())
    logger = logging.getLogger("tests.security.redaction")
    logger.addHandler(handler)
    logger.propagate = False
    logger.setLevel(logging.DEBUG)
    try:
        yield logger, stream
    finally:
        logger.removeHandler(handler)
        logger.propagate = True


def _fail_with_the_token() -> None:
    try:
        raise KeyError(f"https://api.telegram.org/bot{TOKEN}/getMe")
    except KeyError as exc:
        raise RuntimeError(f"the call with {TOKEN} failed") from exc


def test_a_json_formatter_that_formats_the_exception_itself_sees_no_token(
    json_log: tuple[logging.Logger, io.StringIO],
) -> None:
    logger, stream = json_log
    try:
        _fail_with_the_token()
    except RuntimeError:
        logger.exception("reply failed")

    logged = stream.getvalue()
    assert '"message":"reply failed"' in logged  # the record was written
    assert SECRET_PART not in logged


def test_the_redacted_traceback_is_kept_for_the_standard_formatter() -> None:
    redaction.install()
    try:
        _fail_with_the_token()
    except RuntimeError:
        record = logging.getLogger("tests.security.redaction").makeRecord(
            "x", logging.ERROR, __file__, 1, "reply failed", None, sys.exc_info()
        )
    assert record.exc_info is None
    formatted = logging.Formatter().format(record)
    assert "Traceback" in formatted and "RuntimeError: the call with *** failed" in formatted
    assert "KeyError: 'https://api.telegram.org/bot***/getMe'" in formatted
    assert SECRET_PART not in formatted


def test_stack_info_is_redacted(tmp_path: Path) -> None:
    """A stack's source lines could hold a secret too: the record's stack_info is redacted as made."""
    redaction.install()
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)  # the standard Formatter prints stack_info
    logger = logging.getLogger("tests.security.redaction.stack")
    logger.addHandler(handler)
    logger.propagate = False
    source = tmp_path / "leaky_module.py"
    source.write_text(f"def log(logger):\n    logger.warning('hello', stack_info=True)  # {TOKEN}\n")
    namespace: dict[str, object] = {}
    exec(compile(source.read_text(), str(source), "exec"), namespace)
    try:
        namespace["log"](logger)  # type: ignore[operator]
    finally:
        logger.removeHandler(handler)
    assert "leaky_module.py" in stream.getvalue()
    assert SECRET_PART not in stream.getvalue()
