"""ScheduleExpression parsing, AWS-to-croniter conversion and next fire times."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from ganger.local.errors import ScheduleExpressionError
from ganger.local.schedule import CronSchedule, RateSchedule, aws_cron_to_croniter, next_fire, parse_schedule

MONDAY = datetime(2030, 1, 7, 8, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("expression", "period"),
    [
        ("rate(1 minute)", timedelta(minutes=1)),
        ("rate(5 minutes)", timedelta(minutes=5)),
        ("rate(1 hour)", timedelta(hours=1)),
        ("rate(2 days)", timedelta(days=2)),
    ],
)
def test_rate_expressions_become_periods(expression: str, period: timedelta) -> None:
    assert parse_schedule(expression) == RateSchedule(expression, period)


@pytest.mark.parametrize(
    ("aws", "croniter"),
    [
        ("0 12 ? * 2-6 *", "0 12 * * 1-5 0 *"),  # MON-FRI in AWS numbers
        ("0/15 * * * ? *", "0/15 * * * * 0 *"),
        ("0 8 ? * MON-FRI *", "0 8 * * MON-FRI 0 *"),
        ("0 9 ? * 1,7 2030", "0 9 * * 0,6 0 2030"),  # SUN and SAT
        ("30 10 1 * ? *", "30 10 1 * * 0 *"),
        ("0 0 ? * 2/2 *", "0 0 * * 1/2 0 *"),
    ],
)
def test_aws_cron_converts_to_croniter(aws: str, croniter: str) -> None:
    assert aws_cron_to_croniter(aws) == croniter


@pytest.mark.parametrize(
    ("expression", "reason"),
    [
        ("cron(0 12 ? * 6L *)", "L, W and #"),
        ("cron(0 12 ? * 2#1 *)", "L, W and #"),
        ("cron(0 12 L * ? *)", "L, W and #"),
        ("cron(0 12 15W * ? *)", "L, W and #"),
        ("cron(0 12 * * * *)", "exactly one"),
        ("cron(0 12 * *)", "6 fields"),
        ("cron(0 12 ? * 8 *)", "outside 1-7"),
        ("cron(61 12 * * ? *)", "invalid"),
        ("rate(0 minutes)", "positive"),
        ("at(2030-01-01T00:00:00)", "expected rate"),
    ],
)
def test_unsupported_expressions_are_rejected_with_a_reason(expression: str, reason: str) -> None:
    with pytest.raises(ScheduleExpressionError, match=reason) as caught:
        parse_schedule(expression)

    assert caught.value.expression == expression
    assert "my-rule" in str(caught.value.for_rule("my-rule"))


def test_names_containing_w_or_l_are_not_mistaken_for_modifiers() -> None:
    assert isinstance(parse_schedule("cron(0 12 ? * WED,SAT *)"), CronSchedule)


def test_rate_counts_periods_from_the_anchor() -> None:
    schedule = parse_schedule("rate(5 minutes)")

    assert next_fire(schedule, MONDAY, MONDAY) == MONDAY + timedelta(minutes=5)
    assert next_fire(schedule, MONDAY + timedelta(minutes=5), MONDAY) == MONDAY + timedelta(minutes=10)
    assert next_fire(schedule, MONDAY + timedelta(minutes=12), MONDAY) == MONDAY + timedelta(minutes=15)
    assert next_fire(schedule, MONDAY - timedelta(hours=1), MONDAY) == MONDAY + timedelta(minutes=5)


def test_cron_follows_the_utc_calendar_with_aws_day_numbers() -> None:
    weekdays_at_noon = parse_schedule("cron(0 12 ? * 2-6 *)")
    sundays = parse_schedule("cron(0 9 ? * 1 *)")
    friday_evening = datetime(2030, 1, 11, 13, 0, tzinfo=UTC)

    assert next_fire(weekdays_at_noon, MONDAY, MONDAY) == datetime(2030, 1, 7, 12, 0, tzinfo=UTC)
    assert next_fire(weekdays_at_noon, friday_evening, MONDAY) == datetime(2030, 1, 14, 12, 0, tzinfo=UTC)
    assert next_fire(sundays, MONDAY, MONDAY) == datetime(2030, 1, 13, 9, 0, tzinfo=UTC)


def test_cron_year_field_limits_firings() -> None:
    schedule = parse_schedule("cron(0 0 1 1 ? 2031)")

    assert next_fire(schedule, MONDAY, MONDAY) == datetime(2031, 1, 1, tzinfo=UTC)
