"""Deciding which rules fire at a tick, and the scheduled event they get."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from ganger.local.clock import RuleTarget, ScheduledRule, plan_tick, scheduled_event
from ganger.local.schedule import parse_schedule

ANCHOR = datetime(2030, 1, 7, 8, 59, 30, tzinfo=UTC)
FUNCTION = "arn:aws:lambda:us-east-1:123456789012:function:orchestrator"
MINUTE = ScheduledRule(
    "minute",
    "arn:aws:events:us-east-1:123456789012:rule/minute",
    parse_schedule("rate(1 minute)"),
    (RuleTarget("t", FUNCTION),),
)
NINE = ScheduledRule("nine", "arn:aws:events:us-east-1:123456789012:rule/nine", parse_schedule("cron(0 9 * * ? *)"), ())


def test_first_tick_schedules_without_firing() -> None:
    plan = plan_tick([MINUTE, NINE], {}, ANCHOR, ANCHOR)

    assert plan.due == ()
    assert plan.next_fires == {
        "minute": ANCHOR + timedelta(minutes=1),
        "nine": datetime(2030, 1, 7, 9, 0, tzinfo=UTC),
    }


def test_due_rules_fire_at_their_scheduled_time_and_move_on() -> None:
    first = plan_tick([MINUTE, NINE], {}, ANCHOR, ANCHOR)
    later = ANCHOR + timedelta(seconds=65)

    plan = plan_tick([MINUTE, NINE], first.next_fires, later, ANCHOR)

    assert [(rule.name, at) for rule, at in plan.due] == [
        ("minute", ANCHOR + timedelta(minutes=1)),
        ("nine", datetime(2030, 1, 7, 9, 0, tzinfo=UTC)),
    ]
    assert plan.next_fires["minute"] == ANCHOR + timedelta(minutes=2)
    assert plan.next_fires["nine"] == datetime(2030, 1, 8, 9, 0, tzinfo=UTC)


def test_missed_firings_are_coalesced_into_one() -> None:
    first = plan_tick([MINUTE], {}, ANCHOR, ANCHOR)

    plan = plan_tick([MINUTE], first.next_fires, ANCHOR + timedelta(minutes=10, seconds=5), ANCHOR)

    assert len(plan.due) == 1
    assert plan.next_fires["minute"] == ANCHOR + timedelta(minutes=11)


def test_removed_rules_are_forgotten() -> None:
    first = plan_tick([MINUTE, NINE], {}, ANCHOR, ANCHOR)

    assert set(plan_tick([MINUTE], first.next_fires, ANCHOR, ANCHOR).next_fires) == {"minute"}


def test_scheduled_event_matches_eventbridge_shape() -> None:
    event = scheduled_event(NINE, datetime(2030, 1, 7, 9, 0, tzinfo=UTC))

    assert event["detail-type"] == "Scheduled Event"
    assert event["source"] == "aws.events"
    assert event["time"] == "2030-01-07T09:00:00Z"
    assert event["resources"] == [NINE.arn]
    assert (event["account"], event["region"], event["detail"]) == ("123456789012", "us-east-1", {})
    assert event["id"] != scheduled_event(NINE, ANCHOR)["id"]


def test_only_lambda_function_arns_are_lambda_targets() -> None:
    assert RuleTarget("a", FUNCTION).is_lambda
    assert not RuleTarget("b", "arn:aws:sqs:us-east-1:123456789012:queue").is_lambda
    assert not RuleTarget("c", "arn:aws:states:us-east-1:123456789012:stateMachine:sm").is_lambda


def test_input_transformer_fills_the_template_from_the_event() -> None:
    from ganger.local.clock import RuleTarget

    target = RuleTarget(
        "t", "arn:aws:lambda:us-east-1:1:function:f",
        input_paths_map=(("time", "$.time"),),
        input_template='{"job": {"job_id": "hourly-<time>"}}',
    )  # fmt: skip
    event = {"time": "2026-11-22T08:00:00Z", "detail": {}}
    assert target.payload(event) == '{"job": {"job_id": "hourly-2026-11-22T08:00:00Z"}}'
    assert RuleTarget("t", "a", input_path="$.detail").payload(event) == "{}"
    assert RuleTarget("t", "a", input='{"x": 1}').payload(event) == '{"x": 1}'
