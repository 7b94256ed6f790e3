"""A clock that fires the deployed EventBridge schedule rules (moto stores rules but never fires them).

``plan_tick`` decides which rules are due at a given (virtual) time; ``RuleClock`` performs the
firings through an injected Lambda client (``InvocationType="Event"``), on its own thread or
step by step with ``tick`` / ``fire`` in tests. ``speed`` compresses time: at speed 60 a
``rate(1 minute)`` rule fires every real second.
"""

from __future__ import annotations

import json
import logging
import threading
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from botocore.exceptions import BotoCoreError, ClientError

from ganger.local.errors import ScheduleExpressionError
from ganger.local.schedule import Schedule, next_fire, parse_schedule

if TYPE_CHECKING:  # the mypy-boto3 stubs are a dev dependency
    from mypy_boto3_events import EventBridgeClient
    from mypy_boto3_lambda import LambdaClient

logger = logging.getLogger(__name__)

Now = Callable[[], datetime]


def utc_now() -> datetime:
    """The real time, aware UTC."""
    return datetime.now(UTC)


@dataclass(frozen=True)
class RuleTarget:
    """One target of a rule, as ListTargetsByRule returns it."""

    target_id: str
    arn: str
    input: str | None = None
    input_path: str | None = None
    input_paths_map: tuple[tuple[str, str], ...] = ()
    input_template: str | None = None

    def payload(self, event: dict[str, Any]) -> str:
        """What EventBridge delivers: Input, else InputPath of the event, else the InputTransformer's
        template with each ``<name>`` replaced by the value at its JSON path, else the event itself."""
        if self.input is not None:
            return self.input
        if self.input_path:
            return json.dumps(json_path(event, self.input_path))
        if self.input_template is not None:
            text = self.input_template
            for name, path in self.input_paths_map:
                value = json_path(event, path)
                text = text.replace(f"<{name}>", value if isinstance(value, str) else json.dumps(value))
            return text
        return json.dumps(event)

    @property
    def is_lambda(self) -> bool:
        """Only Lambda function targets are fired locally."""
        parts = self.arn.split(":")
        return len(parts) >= 7 and parts[2] == "lambda" and parts[5] == "function"


@dataclass(frozen=True)
class ScheduledRule:
    """An ENABLED rule with a schedule and its targets."""

    name: str
    arn: str
    schedule: Schedule
    targets: tuple[RuleTarget, ...]


@dataclass(frozen=True)
class Firing:
    """One target invoked for one scheduled time."""

    rule_name: str
    target_id: str
    function_arn: str
    scheduled_time: datetime
    status_code: int | None
    error: str | None = None


@dataclass(frozen=True)
class TickPlan:
    """What one tick does: the rules to fire (with their scheduled time) and the next fire times."""

    due: tuple[tuple[ScheduledRule, datetime], ...]
    next_fires: dict[str, datetime]


def plan_tick(
    rules: Sequence[ScheduledRule], next_fires: Mapping[str, datetime], now: datetime, anchor: datetime
) -> TickPlan:
    """Decide which rules are due at ``now``; missed firings are coalesced into one, as a late clock would."""
    due: list[tuple[ScheduledRule, datetime]] = []
    updated: dict[str, datetime] = {}
    for rule in rules:
        at = next_fires.get(rule.name) or next_fire(rule.schedule, now, anchor)
        if at <= now:
            due.append((rule, at))
            at = next_fire(rule.schedule, now, anchor)
        updated[rule.name] = at
    return TickPlan(tuple(due), updated)


def json_path(event: dict[str, Any], path: str) -> Any:
    """The value at a simple EventBridge JSON path (``$``, ``$.time``, ``$.detail.x``); None if absent."""
    value: Any = event
    for part in path.lstrip("$").strip(".").split("."):
        if not part:
            continue
        value = value.get(part) if isinstance(value, dict) else None
    return value


def scheduled_event(rule: ScheduledRule, at: datetime) -> dict[str, Any]:
    """The event EventBridge sends a target of a schedule rule that has no ``Input``."""
    parts = rule.arn.split(":")
    return {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": "Scheduled Event",
        "source": "aws.events",
        "account": parts[4] if len(parts) > 4 else "",
        "time": at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "region": parts[3] if len(parts) > 3 else "",
        "resources": [rule.arn],
        "detail": {},
    }


class RuleClock:
    """Fires ENABLED schedule rules of one event bus at (optionally compressed) time.

    Args:
        events_client: boto3 EventBridge client (moto).
        lambda_client: boto3 Lambda client that can run functions (the local Lambda endpoint).
        speed: Virtual seconds per real second.
        now: Source of real time (aware UTC).
        event_bus_name: The bus whose rules are fired.
        refresh_interval: Real seconds between re-reading the rules while running.
    """

    def __init__(
        self,
        events_client: EventBridgeClient,
        lambda_client: LambdaClient,
        *,
        speed: float = 1.0,
        now: Now = utc_now,
        event_bus_name: str = "default",
        refresh_interval: float = 5.0,
    ) -> None:
        if speed <= 0:
            raise ValueError("speed must be positive")
        self._events = events_client
        self._lambda = lambda_client
        self.speed = speed
        self._now = now
        self._bus = event_bus_name
        self._refresh_interval = refresh_interval
        self._lock = threading.RLock()
        self._rules: list[ScheduledRule] = []
        self._next: dict[str, datetime] = {}
        self._anchor: datetime | None = None
        self._real_start: datetime | None = None
        self._firings: list[Firing] = []
        self.rejected: dict[str, ScheduleExpressionError] = {}
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    # time

    def virtual_now(self) -> datetime:
        """Virtual time: the start time plus real elapsed time times ``speed``."""
        real = self._now()
        with self._lock:
            if self._real_start is None:
                self._real_start = real
                self._anchor = real
            return self._real_start + (real - self._real_start) * self.speed

    @property
    def anchor(self) -> datetime:
        """Where rate schedules count from (the virtual start)."""
        self.virtual_now()
        assert self._anchor is not None
        return self._anchor

    # rules

    @property
    def rules(self) -> list[ScheduledRule]:
        """Rules loaded by the last ``refresh``."""
        with self._lock:
            return list(self._rules)

    @property
    def firings(self) -> list[Firing]:
        """Every firing so far, oldest first."""
        with self._lock:
            return list(self._firings)

    def next_fire_times(self) -> dict[str, datetime]:
        """Next virtual fire time per rule name."""
        with self._lock:
            return dict(self._next)

    def refresh(self, *, strict: bool = False) -> list[ScheduledRule]:
        """Re-read ENABLED schedule rules and their targets; keep pending times of unchanged rules.

        Args:
            strict: Raise on a schedule the clock cannot run instead of logging and skipping it.
        """
        rules, rejected = self._load_rules()
        if strict and rejected:
            raise next(iter(rejected.values()))
        with self._lock:
            old = {rule.name: rule for rule in self._rules}
            self._rules = rules
            self.rejected = rejected
            self._next = {
                rule.name: self._next[rule.name]
                for rule in rules
                if rule.name in self._next and old.get(rule.name, rule).schedule == rule.schedule
            }
        return rules

    def _load_rules(self) -> tuple[list[ScheduledRule], dict[str, ScheduleExpressionError]]:
        rules: list[ScheduledRule] = []
        rejected: dict[str, ScheduleExpressionError] = {}
        for page in self._events.get_paginator("list_rules").paginate(EventBusName=self._bus):
            for doc in page.get("Rules", []):
                if doc.get("State") != "ENABLED" or not doc.get("ScheduleExpression"):
                    continue
                try:
                    schedule = parse_schedule(doc["ScheduleExpression"])
                except ScheduleExpressionError as exc:
                    logger.error("skipping rule %s: %s", doc["Name"], exc.reason)
                    rejected[doc["Name"]] = exc.for_rule(doc["Name"])
                    continue
                rules.append(ScheduledRule(doc["Name"], doc["Arn"], schedule, self._load_targets(doc["Name"])))
        return rules, rejected

    def _load_targets(self, rule_name: str) -> tuple[RuleTarget, ...]:
        targets: list[RuleTarget] = []
        paginator = self._events.get_paginator("list_targets_by_rule")
        for page in paginator.paginate(Rule=rule_name, EventBusName=self._bus):
            for doc in page.get("Targets", []):
                transformer = doc.get("InputTransformer") or {}
                target = RuleTarget(
                    doc["Id"],
                    doc["Arn"],
                    doc.get("Input"),
                    doc.get("InputPath"),
                    tuple(sorted((transformer.get("InputPathsMap") or {}).items())),
                    transformer.get("InputTemplate"),
                )
                if not target.is_lambda:
                    logger.debug("rule %s target %s is not a Lambda function; not fired", rule_name, target.arn)
                    continue
                targets.append(target)
        return tuple(targets)

    # firing

    def tick(self, now: datetime | None = None) -> list[Firing]:
        """Fire every rule due at virtual time ``now`` (default: the current virtual time)."""
        at_time = now or self.virtual_now()
        with self._lock:
            plan = plan_tick(self._rules, self._next, at_time, self.anchor)
            self._next = plan.next_fires
        firings: list[Firing] = []
        for rule, scheduled in plan.due:
            firings.extend(self._fire_rule(rule, scheduled))
        return firings

    def fire(self, rule_name: str, at: datetime | None = None) -> list[Firing]:
        """Fire one loaded rule now, out of schedule (does not move its next fire time)."""
        with self._lock:
            rule = next((r for r in self._rules if r.name == rule_name), None)
        if rule is None:
            raise KeyError(f"no enabled schedule rule named {rule_name!r} (call refresh() first?)")
        return self._fire_rule(rule, at or self.virtual_now())

    def _fire_rule(self, rule: ScheduledRule, at: datetime) -> list[Firing]:
        firings = [self._invoke(rule, target, at) for target in rule.targets]
        with self._lock:
            self._firings.extend(firings)
        return firings

    def _invoke(self, rule: ScheduledRule, target: RuleTarget, at: datetime) -> Firing:
        payload = target.payload(scheduled_event(rule, at))
        try:
            response = self._lambda.invoke(FunctionName=target.arn, InvocationType="Event", Payload=payload)
        except (ClientError, BotoCoreError) as exc:
            logger.error("rule %s: invoking %s failed: %s", rule.name, target.arn, exc)
            return Firing(rule.name, target.target_id, target.arn, at, None, str(exc))
        logger.info("rule %s fired %s for %s", rule.name, target.target_id, at.isoformat())
        return Firing(rule.name, target.target_id, target.arn, at, int(response.get("StatusCode", 0)))

    # thread

    def start(self) -> None:
        """Load the rules and fire them from a background thread until ``stop()``."""
        if self._thread is not None:
            raise RuntimeError("RuleClock already started")
        self.virtual_now()
        self.refresh()
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="ganger-clock")
        self._thread.start()

    def stop(self) -> None:
        """Stop the thread (a firing in progress completes first)."""
        if self._thread is None:
            return
        self._stop.set()
        self._thread.join()
        self._thread = None

    def _run(self) -> None:
        last_refresh = time.monotonic()
        while not self._stop.is_set():
            if time.monotonic() - last_refresh >= self._refresh_interval:
                last_refresh = time.monotonic()
                self._safe(self.refresh)
            self._safe(self.tick)
            self._stop.wait(self._sleep_seconds(last_refresh))

    def _safe(self, step: Callable[[], object]) -> None:
        try:
            step()
        except (ClientError, BotoCoreError, ScheduleExpressionError):
            logger.exception("clock step failed; retrying")

    def _sleep_seconds(self, last_refresh: float) -> float:
        """Real seconds until the next firing or refresh, whichever is first."""
        until_refresh = self._refresh_interval - (time.monotonic() - last_refresh)
        pending = self.next_fire_times().values()
        if not pending:
            return max(0.01, until_refresh)
        virtual_gap: timedelta = min(pending) - self.virtual_now()
        return max(0.01, min(until_refresh, virtual_gap.total_seconds() / self.speed))
