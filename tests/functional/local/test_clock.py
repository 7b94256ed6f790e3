"""The rule clock firing EventBridge rules deployed in moto into the local Lambda endpoint."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from ganger.local.clock import RuleClock
from ganger.local.errors import ScheduleExpressionError
from ganger.local.lambda_endpoint import LocalLambdaEndpoint
from ganger.local.moto_server import EmbeddedAws
from tests.functional.local import handlers

MODULE = "tests.functional.local.handlers"
START = datetime(2030, 1, 7, 8, 59, 30, tzinfo=UTC)  # a Monday


@pytest.fixture
def rules(fresh_aws: EmbeddedAws, create_function: Callable[..., dict[str, Any]]) -> Any:
    """Three rules on the default bus: two enabled (with and without Input) and one disabled."""
    handlers.received.clear()
    arn = create_function("record", f"{MODULE}.record")["FunctionArn"]
    events = fresh_aws.client("events")
    events.put_rule(Name="every-minute", ScheduleExpression="rate(1 minute)", State="ENABLED")
    events.put_targets(Rule="every-minute", Targets=[{"Id": "rec", "Arn": arn, "Input": '{"from": "input"}'}])
    events.put_rule(Name="weekday-nine", ScheduleExpression="cron(0 9 ? * MON-FRI *)", State="ENABLED")
    events.put_targets(
        Rule="weekday-nine",
        Targets=[{"Id": "rec", "Arn": arn}, {"Id": "queue", "Arn": "arn:aws:sqs:us-east-1:123456789012:q"}],
    )
    events.put_rule(Name="off", ScheduleExpression="rate(1 minute)", State="DISABLED")
    events.put_targets(Rule="off", Targets=[{"Id": "rec", "Arn": arn}])
    return events


def _clock(aws: EmbeddedAws, endpoint: LocalLambdaEndpoint, **kwargs: Any) -> RuleClock:
    return RuleClock(aws.client("events"), aws.client("lambda", endpoint_url=endpoint.url), **kwargs)


def test_refresh_loads_only_enabled_rules_and_lambda_targets(
    rules: Any, fresh_aws: EmbeddedAws, endpoint: LocalLambdaEndpoint
) -> None:
    clock = _clock(fresh_aws, endpoint, now=lambda: START)

    loaded = {rule.name: [t.target_id for t in rule.targets] for rule in clock.refresh()}

    assert loaded == {"every-minute": ["rec"], "weekday-nine": ["rec"]}


def test_tick_fires_due_rules_deterministically(
    rules: Any, fresh_aws: EmbeddedAws, endpoint: LocalLambdaEndpoint
) -> None:
    clock = _clock(fresh_aws, endpoint, now=lambda: START)
    clock.refresh()

    assert clock.tick(START + timedelta(seconds=20)) == []
    first = clock.tick(START + timedelta(seconds=61))
    second = clock.tick(START + timedelta(seconds=90))
    assert endpoint.wait_idle(5)

    assert [(f.rule_name, f.status_code) for f in first] == [("every-minute", 202), ("weekday-nine", 202)]
    assert second == []
    events = [item["event"] for item in handlers.received]
    assert {"from": "input"} in events
    scheduled = next(e for e in events if e.get("source") == "aws.events")
    assert scheduled["detail-type"] == "Scheduled Event"
    assert scheduled["time"] == "2030-01-07T09:00:00Z"
    assert scheduled["resources"] == [rules.describe_rule(Name="weekday-nine")["Arn"]]


def test_fire_runs_a_rule_on_demand(rules: Any, fresh_aws: EmbeddedAws, endpoint: LocalLambdaEndpoint) -> None:
    clock = _clock(fresh_aws, endpoint, now=lambda: START)
    clock.refresh()

    firings = clock.fire("every-minute")
    assert endpoint.wait_idle(5)

    assert [f.target_id for f in firings] == ["rec"]
    assert [item["event"] for item in handlers.received] == [{"from": "input"}]


def test_running_clock_at_high_speed_fires_repeatedly(
    rules: Any, fresh_aws: EmbeddedAws, endpoint: LocalLambdaEndpoint
) -> None:
    clock = _clock(fresh_aws, endpoint, speed=600)  # one virtual minute every 0.1 s

    clock.start()
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and len(clock.firings) < 3:
        time.sleep(0.05)
    clock.stop()
    endpoint.wait_idle(5)

    minute_firings = [f for f in clock.firings if f.rule_name == "every-minute"]
    assert len(minute_firings) >= 3
    assert all(f.status_code == 202 for f in minute_firings)
    assert sum(1 for item in handlers.received if item["event"] == {"from": "input"}) >= 3


def test_unsupported_cron_is_rejected_naming_the_rule(fresh_aws: EmbeddedAws, endpoint: LocalLambdaEndpoint) -> None:
    events = fresh_aws.client("events")
    events.put_rule(Name="last-friday", ScheduleExpression="cron(0 9 ? * 6L *)", State="ENABLED")
    clock = _clock(fresh_aws, endpoint, now=lambda: START)

    assert clock.refresh() == []
    assert "last-friday" in clock.rejected
    with pytest.raises(ScheduleExpressionError, match="last-friday"):
        clock.refresh(strict=True)


def test_target_input_is_passed_verbatim(rules: Any, fresh_aws: EmbeddedAws, endpoint: LocalLambdaEndpoint) -> None:
    records: list[Any] = []
    endpoint.add_listener(records.append)
    clock = _clock(fresh_aws, endpoint, now=lambda: START)
    clock.refresh()

    clock.fire("every-minute")
    endpoint.wait_idle(5)

    assert [json.dumps(r.event) for r in records] == ['{"from": "input"}']
