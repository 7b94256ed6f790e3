"""A link to CloudWatch Logs Insights, pre-filled with a task's id over its worker's log group, for the task page
on AWS (a local endpoint has no CloudWatch console to link to).

The console's URL format is not documented; it is a JSURL-like object (``~(key~value)``, strings prefixed with
``'``, their percent signs turned into ``*``), JavaScript-``escape``d, put after ``?queryDetail=``, then
URI-encoded with ``%`` turned into ``$``.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote, urlsplit

_ESCAPE_SAFE = "@*_+-./"
LOOKBACK_SECONDS = 7 * 86400  # the task's attempts may be days old: the query covers a week


def on_aws(dynamodb: Any) -> bool:
    """True when the client talks to AWS itself (its endpoint is an ``amazonaws.com`` host)."""
    host = urlsplit(str(getattr(dynamodb.meta, "endpoint_url", "") or "")).hostname or ""
    return host.endswith(".amazonaws.com")


def _primitive(value: str | int) -> str:
    if isinstance(value, int):
        return str(value)
    return "'" + quote(value, safe="-_.!~'()").replace("%", "*")  # encodeURIComponent, then % -> *


def _js_escape(text: str) -> str:
    """JavaScript's ``escape()``: letters, digits and ``@*_+-./`` stay, the rest is %XX (Python's quote keeps ``~``)."""
    return "".join(c if (c.isascii() and c.isalnum()) or c in _ESCAPE_SAFE else
                   (f"%{ord(c):02X}" if ord(c) < 256 else f"%u{ord(c):04X}") for c in text)  # fmt: skip


def query_for(task_id: str) -> str:
    return f'fields @timestamp, @message\n| filter @message like "{task_id}"\n| sort @timestamp asc\n| limit 200'


def insights_url(region: str, log_group: str, task_id: str) -> str:
    detail: dict[str, str | int] = {"end": 0, "start": -LOOKBACK_SECONDS, "timeType": "RELATIVE", "unit": "seconds",
              "editorString": query_for(task_id)}  # fmt: skip
    body = "~".join(f"{key}~{_primitive(value)}" for key, value in detail.items())
    encoded = f"~({body}~source~(~{_primitive(log_group)}))"
    fragment = quote("?queryDetail=" + _js_escape(encoded), safe="-_.!~*'()").replace("%", "$")
    return f"https://{region}.console.aws.amazon.com/cloudwatch/home?region={region}#logsV2:logs-insights{fragment}"


def worker_log_group(labourer_type: str, function_name: str) -> str | None:
    """A Lambda labourer's log group; a fleet's instances log where their AMI says, so None."""
    return f"/aws/lambda/{function_name}" if labourer_type == "lambda" else None
