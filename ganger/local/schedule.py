"""EventBridge ScheduleExpressions as values, and when they fire next (pure, no clock, no AWS).

AWS cron has six fields (minutes hours day-of-month month day-of-week year), ``?`` as "no
value" and day-of-week 1-7 = SUN-SAT; croniter counts SUN as 0. ``L``, ``W`` and ``#`` are
not supported locally and are rejected with the expression named.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta

from croniter import croniter
from croniter.croniter import CroniterError

from ganger.local.errors import ScheduleExpressionError

_RATE = re.compile(r"^rate\(\s*(?P<value>\d+)\s+(?P<unit>minutes?|hours?|days?)\s*\)$")
_CRON = re.compile(r"^cron\((?P<fields>[^)]*)\)$")
_UNITS = {"minute": timedelta(minutes=1), "hour": timedelta(hours=1), "day": timedelta(days=1)}
_UNSUPPORTED_DOM = re.compile(r"[LW]")
_UNSUPPORTED_DOW = re.compile(r"[L#]")
_DAY_NAMES = re.compile(r"SUN|MON|TUE|WED|THU|FRI|SAT")
_DOW_NUMBER = re.compile(r"^\d+$")


@dataclass(frozen=True)
class RateSchedule:
    """``rate(N unit)``: every ``period`` counted from an anchor (the local clock's start)."""

    expression: str
    period: timedelta


@dataclass(frozen=True)
class CronSchedule:
    """``cron(...)`` in UTC, kept with its croniter translation."""

    expression: str
    croniter_expression: str


Schedule = RateSchedule | CronSchedule


def parse_schedule(expression: str) -> Schedule:
    """Parse an EventBridge ScheduleExpression.

    Raises:
        ScheduleExpressionError: Not a rate or cron expression the local clock can run.
    """
    text = expression.strip()
    rate = _RATE.match(text)
    if rate:
        value = int(rate.group("value"))
        if value < 1:
            raise ScheduleExpressionError(expression, "rate value must be positive")
        return RateSchedule(expression, _UNITS[rate.group("unit").rstrip("s")] * value)
    cron = _CRON.match(text)
    if cron:
        return CronSchedule(expression, aws_cron_to_croniter(cron.group("fields"), expression))
    raise ScheduleExpressionError(expression, "expected rate(N unit) or cron(6 fields)")


def aws_cron_to_croniter(fields_text: str, expression: str | None = None) -> str:
    """Translate the six AWS cron fields into croniter's 7-field form (seconds and year last)."""
    original = expression or f"cron({fields_text})"
    fields = fields_text.split()
    if len(fields) != 6:
        raise ScheduleExpressionError(original, f"cron needs 6 fields, got {len(fields)}")
    minutes, hours, dom, month, dow, year = fields
    if _UNSUPPORTED_DOM.search(dom.upper()) or _UNSUPPORTED_DOW.search(_DAY_NAMES.sub("", dow.upper())):
        raise ScheduleExpressionError(original, "L, W and # are not supported by the local clock")
    if (dom == "?") == (dow == "?"):
        raise ScheduleExpressionError(original, "exactly one of day-of-month and day-of-week must be '?'")
    converted = " ".join([minutes, hours, _wildcard(dom), month, _convert_dow(dow, original), "0", _wildcard(year)])
    if not croniter.is_valid(converted):
        raise ScheduleExpressionError(original, "invalid field value")
    return converted


def _wildcard(field: str) -> str:
    return "*" if field == "?" else field


def _convert_dow(field: str, original: str) -> str:
    """AWS day-of-week 1-7 (SUN-SAT) to croniter 0-6; names pass through."""
    if field in ("?", "*"):
        return "*"
    return ",".join(_convert_dow_item(item, original) for item in field.split(","))


def _convert_dow_item(item: str, original: str) -> str:
    base, slash, step = item.partition("/")
    ends = [_shift_dow(end, original) for end in base.split("-")] if base != "*" else ["*"]
    return "-".join(ends) + (f"/{step}" if slash else "")


def _shift_dow(value: str, original: str) -> str:
    if not _DOW_NUMBER.match(value):
        return value.upper()
    number = int(value)
    if not 1 <= number <= 7:
        raise ScheduleExpressionError(original, f"day-of-week {number} is outside 1-7")
    return str(number - 1)


def next_fire(schedule: Schedule, after: datetime, anchor: datetime) -> datetime:
    """The first firing strictly after ``after`` (aware UTC datetimes).

    Rates count whole periods from ``anchor`` (the first firing is one period after it);
    crons follow the calendar in UTC.
    """
    if isinstance(schedule, RateSchedule):
        elapsed = after - anchor
        periods = 1 if elapsed < timedelta(0) else elapsed // schedule.period + 1
        return anchor + schedule.period * periods
    try:
        result: datetime = croniter(schedule.croniter_expression, after).get_next(datetime)
    except CroniterError as exc:
        raise ScheduleExpressionError(schedule.expression, f"no next firing: {exc}") from exc
    return result
