"""``ganger tasks why ID``: what holds a task, from the rules dispatch itself follows (``ganger.holds``).

A queued task waits for one of: its labourer paused, no startable slot (each lane's running n of cap m, and the
health coefficient when it lowered the cap), the rate limit (when its bucket next grants a start), or tasks of
higher or equal priority ahead of it in its lane's queue. A task in the retry
table waits for its retry time, or (never attempted) for its launch time. Anything else is not waiting.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

from ganger.ecology import Reading
from ganger.holds import key_hold, lane_hold, startable_lanes
from ganger.labourer import Labourer
from ganger.lanes import queue_key
from ganger.ops.context import Ops
from ganger.ops.tasks import locate
from ganger.rates import micros
from ganger.slots import Slots
from ganger.task_state import TaskState
from ganger.tasks import GREENFIELD_INDEX


@dataclass(frozen=True)
class Why:
    """The answer: ``hold`` names what holds the task ("paused", "no_free_slot", "rate_limit", "behind_queue",
    "waiting_for_retry", "not_before_launch", "no_cap_yet", "key_at_limit", or "not_waiting"), with its details."""

    task_id: str
    state: str
    hold: str
    text: str
    details: dict[str, Any] = field(default_factory=dict)

    def view(self) -> dict[str, Any]:
        return asdict(self)


def task_why(ops: Ops, task_id: str, now: float, health: Callable[[Labourer], list[Reading]] | None = None) -> Why:
    """Why task ``task_id`` is not running. ``health`` reads a labourer's health metrics (``Ecology.readings``),
    asked only when the cap is below the configured one."""
    found = locate(ops, task_id, now)
    if found is None:
        return Why(task_id, "unknown", "not_waiting", "no such task in any task table")
    task, state = found.task, found.state
    until = task.desired_launch_time or 0
    if state is TaskState.RETRYING:
        if task.attempts == 0:
            text = f"not before its launch time {until}"
            return Why(task_id, str(state), "not_before_launch", text, {"until": until})
        return Why(task_id, str(state), "waiting_for_retry", f"waiting for retry until {until}", {"until": until})
    if state is not TaskState.QUEUED:
        return Why(task_id, str(state), "not_waiting", f"not waiting: {state}")
    labourer = ops.labourer(task.labourer_id)
    counters = ops.store.slots.read_lanes(labourer.id, labourer.lane_count)
    held = _key_why(ops, labourer, task_id, task.payload)
    if held is not None and all(slots is not None and not slots.paused for slots in counters):
        return held
    return _queued_why(ops, labourer, task_id, task.lane, task.greenfield, counters, now, health)


def _key_why(ops: Ops, labourer: Labourer, task_id: str, payload: str) -> Why | None:
    """Its concurrency key at its ``max_per_key`` (one read of the key's counter), from the rule claims obey."""
    policy = labourer.key_policy
    if policy is None or policy.max_per_key is None:
        return None
    key = policy.key_of(payload)
    hold = key_hold(key, ops.store.keys.running(labourer.id, [key])[key], policy.max_per_key)
    if hold is None:
        return None
    text = f"its key {policy.field}={key!r} at its limit ({hold.running} of {hold.max_per_key})"
    details = {"key": key, "field": policy.field, "running": hold.running, "max_per_key": hold.max_per_key}
    return Why(task_id, "queued", "key_at_limit", text, details)


def _queued_why(
    ops: Ops,
    labourer: Labourer,
    task_id: str,
    lane: int,
    greenfield: int,
    counters: list[Slots | None],
    now: float,
    health: Callable[[Labourer], list[Reading]] | None,
) -> Why:
    live = [slots for slots in counters if slots is not None]
    if len(live) < len(counters):
        return Why(task_id, "queued", "no_cap_yet", "its labourer has no slot counter yet: the Orchestrator sets it")
    paused = next((slots for slots in live if slots.paused), None)
    if paused is not None:
        reason = labourer.paused_reason or "no reason given"
        return Why(task_id, "queued", "paused", f"labourer {labourer.id} is paused since {paused.pause_stamp}: "
                   f"{reason}", {"reason": reason, "since": paused.pause_stamp})  # fmt: skip
    if sum(startable_lanes(live)) == 0:
        holds = [hold for hold in (lane_hold(slots) for slots in live) if hold is not None]
        lanes = [{"lane": h.lane, "running": h.running, "cap": h.cap} for h in holds]
        cap = sum(slots.cap for slots in live)
        text = f"no free slot: running {sum(h.running for h in holds)} of cap {cap}"
        details: dict[str, Any] = {"running": sum(h.running for h in holds), "cap": cap, "lanes": lanes}
        if cap < labourer.max_simultaneous_invocations and health is not None:
            readings = [r for r in health(labourer) if r.status < 4]
            details["health"] = [asdict(r) for r in readings]
            text += (
                f" (max {labourer.max_simultaneous_invocations}, lowered by health: "
                + ", ".join(f"{r.metric} = {r.value} vs {r.comparison} {r.threshold}" for r in readings)
                + ")"
            )
        return Why(task_id, "queued", "no_free_slot", text, details)
    if labourer.rate is not None:  # the same bucket rule every claim follows (``ganger.rates``)
        bucket = ops.store.rates.read(labourer.id)
        if labourer.rate.grantable(bucket.tat, micros(now)) == 0:
            at = labourer.rate.next_start(bucket.tat, micros(now))
            text = (f"rate limit ({labourer.rate.per_second:g} a second, burst {labourer.rate.burst}): "
                    f"next start at {at:.3f}")  # fmt: skip
            return Why(task_id, "queued", "rate_limit", text, {"next_start": at, "per_second": labourer.rate.per_second,
                                                               "burst": labourer.rate.burst})  # fmt: skip
    ahead, free = _ahead(ops, labourer.id, lane, greenfield), sum(startable_lanes(live))
    text = f"behind {ahead} task(s) of higher or equal priority in its lane's queue; free slots: {free}"
    return Why(task_id, "queued", "behind_queue", text, {"ahead": ahead, "free": free})


def _ahead(ops: Ops, labourer_id: str, lane: int, greenfield: int) -> int:
    """Queued tasks before it in its lane (a COUNT query: greenfield below its own), which are those of a higher
    priority and those of its own queued earlier: priority is part of the queue position (``ganger.priority``)."""
    total, kwargs = (
        0,
        {
            "TableName": ops.store.tables.tasks,
            "IndexName": GREENFIELD_INDEX,
            "KeyConditionExpression": "labourer_id = :l AND greenfield < :g",
            "ExpressionAttributeValues": {":l": {"S": queue_key(labourer_id, lane)}, ":g": {"N": str(greenfield)}},
            "Select": "COUNT",
        },
    )
    while True:
        page = ops.clients.dynamodb.query(Limit=1000, **kwargs)
        total += int(page.get("Count", 0))
        if "LastEvaluatedKey" not in page:
            return total
        kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]
