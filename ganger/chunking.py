"""sosw's job_schema chunking: split a job into task payloads. Pure functions, no AWS.

A job names values of its chunkable attributes (``sections``, ``stores`` ...) as a list or as a
dict ``{name: sub-job | null}``. ``isolate_<attr>s: true`` makes one task per value and
``max_<attr>s_per_batch: N`` batches of N; either on a deeper attribute splits the levels above it
by name too. ``period`` (``today``, ``yesterday``, ``last_N_days``, ``N_days_back``,
``previous_N_days``, ``last_week``) becomes ``date_list``, one task per day with ``isolate_days``.
"""

from __future__ import annotations

import datetime
import re
from collections.abc import Sequence
from typing import Any

from ganger.errors import InvalidJob

_FLAG = re.compile(r"^(isolate_\w+|max_\w+_per_batch)$")


def plural(attr: str) -> str:
    return f"{attr.rstrip('s')}s"


def period_dates(period: str, today: datetime.date) -> list[str]:
    """The dates a period names, oldest first."""
    day = datetime.timedelta(days=1)
    if period == "today":
        return [str(today)]
    if period == "yesterday":
        return [str(today - day)]
    if period == "last_week":
        start = today - datetime.timedelta(days=today.weekday() + 8)
        return [str(start + day * i) for i in range(7)]
    if m := re.fullmatch(r"last_(\d+)_days", period):
        n = int(m.group(1))
        return [str(today - day * i) for i in range(n, 0, -1)]
    if m := re.fullmatch(r"(\d+)_days_back", period):
        return [str(today - day * int(m.group(1)))]
    if m := re.fullmatch(r"previous_(\d+)_days", period):
        n = int(m.group(1))
        end = today - day * n
        return [str(end - day * i) for i in range(n, 0, -1)]
    raise InvalidJob(
        "period",
        f"unsupported period {period!r}; use today, yesterday, last_week, last_N_days, N_days_back or previous_N_days",
    )


def chunk_job(job: dict[str, Any], chunkable_attrs: Sequence[str], today: datetime.date) -> list[dict[str, Any]]:
    """Task payloads of a job. A job with nothing to chunk is one task."""
    for attr in chunkable_attrs:
        if attr.endswith("s"):
            raise InvalidJob("job_schema.chunkable_attrs", f"use the singular form of {attr!r}")
    chunks = []
    for dated in _chunk_dates(job, today):
        chunks.extend(_chunk_level(dated, list(chunkable_attrs), 0, _flags(dated), ""))
    return [{k: v for k, v in chunk.items() if not _FLAG.match(k)} for chunk in chunks]


def _flags(data: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in data.items() if _FLAG.match(k)}


def _chunk_dates(job: dict[str, Any], today: datetime.date) -> list[dict[str, Any]]:
    job = dict(job)
    period = job.pop("period", None)
    isolate = job.pop("isolate_days", False)
    if period is None:
        return [job]
    if not isinstance(period, str):
        raise InvalidJob("period", f"expected a string, got {type(period).__name__}")
    dates = period_dates(period, today)
    if isolate:
        return [{**job, "date_list": [d]} for d in dates]
    return [{**job, "date_list": dates}]


def _key_of(job: dict[str, Any], attr: str) -> str | None:
    for key in (plural(attr), attr):
        if key in job:
            return key
    return None


def _batch_size(attr: str, flags: dict[str, Any], where: str) -> int | None:
    """The batch size requested for an attribute, or None when it is not isolated."""
    for key in (f"max_{plural(attr)}_per_batch", f"max_{attr}_per_batch"):
        if flags.get(key):
            size = flags[key]
            if not isinstance(size, int) or isinstance(size, bool) or size < 1:
                raise InvalidJob(key, f"expected a positive integer, got {size!r}")
            return size
    if any(flags.get(k) for k in (f"isolate_{plural(attr)}", f"isolate_{attr}")):
        return 1
    return None


def _needs_chunking(job: dict[str, Any], attrs: list[str], level: int, flags: dict[str, Any], where: str) -> bool:
    if level >= len(attrs):
        return False
    attr = attrs[level]
    key = _key_of(job, attr)
    if key is None:
        return False
    if _batch_size(attr, flags, where) is not None:
        return True
    values = job[key]
    if isinstance(values, dict):
        return any(
            isinstance(sub, dict) and _needs_chunking(sub, attrs, level + 1, {**flags, **_flags(sub)}, where)
            for sub in values.values()
        )
    return False


def _chunk_level(
    job: dict[str, Any], attrs: list[str], level: int, flags: dict[str, Any], where: str
) -> list[dict[str, Any]]:
    if level >= len(attrs):
        return [job]
    attr = attrs[level]
    key = _key_of(job, attr)
    if key is None or not _needs_chunking(job, attrs, level, flags, where):
        return [job]
    path = f"{where}.{key}" if where else key
    size = _batch_size(attr, flags, path) or 1
    values = job[key]
    skeleton = {k: v for k, v in job.items() if k != key}
    name = plural(attr)
    if isinstance(values, (list, tuple)):
        _check_flat(values, path)
        return [{**skeleton, name: list(values[i : i + size])} for i in range(0, len(values), size)]
    if not isinstance(values, dict):
        return [{**skeleton, name: [values]}]
    flat = [k for k, sub in values.items() if sub is None]
    chunks = [{**skeleton, name: flat[i : i + size]} for i in range(0, len(flat), size)]
    for value_name, sub in values.items():
        if sub is None:
            continue
        if not isinstance(sub, dict):
            raise InvalidJob(f"{path}.{value_name}", f"expected an object or null, got {type(sub).__name__}")
        task = {**skeleton, name: [value_name], **sub}
        chunks.extend(_chunk_level(task, attrs, level + 1, {**flags, **_flags(sub)}, f"{path}.{value_name}"))
    return chunks


def _check_flat(values: Sequence[Any], path: str) -> None:
    for i, value in enumerate(values):
        if not isinstance(value, (str, int, float)) or isinstance(value, bool):
            raise InvalidJob(f"{path}[{i}]", f"expected a string or number, got {type(value).__name__}")
