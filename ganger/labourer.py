"""Labourers: the typed settings of one worker type, defined once in the `ganger_labourers` document."""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

from ganger import schema
from ganger.config import ConfigStore, TypedConfig
from ganger.keys import KeyPolicy
from ganger.lanes import LANE_SEPARATOR, auto_lanes, queue_key
from ganger.rates import RateLimit

LABOURERS_DOCUMENT = "ganger_labourers"
MAX_REASON = 500  # characters of a pause's reason
INVOCATION_DELTA = 31_557_600  # one year, as sosw: an invoked task's greenfield is now + this


@dataclass(frozen=True)
class RetryPolicy:
    """Exponential backoff with full jitter: delay = uniform(0, min(cap, base * factor ** (attempt - 1)))."""

    base_seconds: float = 30.0
    factor: float = 2.0
    cap_seconds: float = 3600.0

    def __post_init__(self) -> None:
        if self.base_seconds < 0 or self.cap_seconds < 0 or self.factor < 1:
            raise ValueError("retry needs base_seconds >= 0, cap_seconds >= 0 and factor >= 1")

    def ceiling(self, attempts: int) -> float:
        """The largest delay after ``attempts`` attempts (before jitter)."""
        exponent = min(max(attempts - 1, 0), 64)
        return float(min(self.cap_seconds, self.base_seconds * self.factor**exponent))

    def delay(self, attempts: int, rand: random.Random | None = None) -> float:
        """The jittered delay before the next attempt."""
        return (rand or random).uniform(0, self.ceiling(attempts))


@dataclass(frozen=True)
class HealthMetric:
    """A CloudWatch metric and the thresholds ("feelings") that map its value to a status 0..4 (sosw format)."""

    details: dict[str, Any]
    feelings: dict[str, float]
    feeling_comparison_operator: Literal["lt", "le", "gt", "ge"] = "le"

    def __post_init__(self) -> None:
        bad = [k for k in self.feelings if k not in {"0", "1", "2", "3", "4"}]
        if bad:
            raise ValueError(f"feelings keys must be statuses 0..4, got {bad[0]!r}")
        for required in ("MetricName", "Namespace"):
            if required not in self.details:
                raise ValueError(f"details needs `{required}`")


@dataclass(frozen=True)
class Labourer:
    """One worker type. ``arn`` is the function name or ARN (defaults to the id) or, for a fleet, its queue URL."""

    id: str
    type: Literal["lambda", "fleet"] = "lambda"
    arn: str = ""
    max_simultaneous_invocations: int = 10
    duration: int = 900
    cooldown: int = 300
    max_attempts: int = 3
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    health_metrics: dict[str, HealthMetric] = field(default_factory=dict)
    group_name: str = ""
    slots_per_instance: int = 1
    # "event": tasks start as they arrive and as slots free up (the minute tick is the safety net);
    # "tick": only the Orchestrator's minute tick starts them, as sosw does.
    dispatch: Literal["event", "tick"] = "event"
    # The workers mark each attempt's start (ganger's Worker does; ``ganger.tasks.start_marks``): an attempt
    # no worker started is given back instead of used up, and a repeated delivery runs once. One more write
    # per task; leave it off for workers that do not mark (sosw's), whose expired attempts would all be
    # given back.
    marks_start: bool = False
    # The workers always report with the attempt's invocation token (ganger's Worker does): the
    # WorkerAssistant refuses a report without one, so a role that may invoke it cannot end a running task
    # by its guessable id. Implied by marks_start (a worker that marks its start holds the token). Leave it
    # off for sosw's Worker, which reports only the task id.
    requires_token: bool = False
    # Queues, index keys and slot counters the labourer is split over (``ganger.lanes``): "auto" is one per
    # 100 slots of max_simultaneous_invocations, so a labourer with a cap <= 100 keeps one lane, stored as it
    # always was. Lowering it strands nothing: the Orchestrator drains the lanes beyond it into the others.
    lanes: int | Literal["auto"] = "auto"
    # How a hand-off (an ending attempt's slot passed to a queued task) respects a lowered cap: "cache" checks
    # the lane's counter in a per-container cache (read at most once a second) and keeps the counter out of
    # the transaction; "transaction" puts a ConditionCheck on the counter in it (one item every completion
    # of the lane touches: the design before lanes).
    handoff_guard: Literal["transaction", "cache"] = "cache"
    # Paused: no task of the labourer starts, by any path; running tasks finish and report. The record of an
    # operator's decision (``ganger labourers pause / resume``, which also flags the lanes' slot counters, the
    # flag every start obeys at once); ``paused_at`` / ``resumed_at`` (epoch seconds) order the changes, so a
    # config read before a change never undoes it (``ganger.pause``).
    # Concurrency keys (``ganger.keys``): the payload field whose value keys a task (the bot's ``chat_id``). Keys
    # take turns in the queue order (the Scheduler interleaves their queue positions); ``max_per_key`` also caps
    # each key's running tasks (a counter item per key in its claims and ends).
    concurrency_key: str = ""
    max_per_key: int | None = None
    paused: bool = False
    paused_reason: str = ""
    paused_at: int | None = None
    resumed_at: int | None = None
    # At most ``per_second`` starts a second after a ``burst`` (``ganger.rates``): every claim takes its tokens
    # from the labourer's bucket item in its own transaction, and the Orchestrator's pacer starts the backlog as
    # the bucket refills. No hand-offs: an ending attempt gives its slot back.
    rate: RateLimit | None = None

    def __post_init__(self) -> None:
        if not self.id:
            raise ValueError("a labourer needs a non-empty `id`")
        if LANE_SEPARATOR in self.id:
            raise ValueError(f"`id` {self.id!r} may not contain {LANE_SEPARATOR!r} (it separates a lane's queue key)")
        if self.lanes != "auto" and self.lanes < 1:
            raise ValueError(f'`lanes` must be "auto" or at least 1, got {self.lanes}')
        for name in ("max_simultaneous_invocations", "duration", "max_attempts"):
            if getattr(self, name) < (0 if name == "max_simultaneous_invocations" else 1):
                raise ValueError(f"`{name}` is too small: {getattr(self, name)}")
        if self.cooldown < 0:
            raise ValueError("`cooldown` must be >= 0")
        if len(self.paused_reason) > MAX_REASON:
            raise ValueError(f"`paused_reason` is longer than {MAX_REASON} characters")
        for name in ("paused_at", "resumed_at"):
            if (getattr(self, name) or 0) < 0:
                raise ValueError(f"`{name}` must be epoch seconds >= 0, got {getattr(self, name)}")
        self._check_keys()
        if self.marks_start and self.type != "lambda":
            raise ValueError("`marks_start` is for lambda labourers (a fleet's queue redelivers on its own)")

    def _check_keys(self) -> None:
        key = self.concurrency_key
        if key and (len(key) > 100 or not key.replace("_", "").replace("-", "").isalnum()):
            raise ValueError(f"`concurrency_key` must name a payload field (letters, digits, _ or -), got {key!r:.60}")
        if self.max_per_key is None:
            return
        if isinstance(self.max_per_key, bool) or self.max_per_key < 1:
            raise ValueError(f"`max_per_key` must be an integer >= 1, got {self.max_per_key!r}")
        if not key:
            raise ValueError("`max_per_key` needs `concurrency_key` (the payload field that keys a task)")

    @property
    def key_policy(self) -> KeyPolicy | None:
        """The labourer's concurrency key and per-key cap, or None when it names no key."""
        return KeyPolicy(self.concurrency_key, self.max_per_key) if self.concurrency_key else None

    @property
    def refuses_tokenless(self) -> bool:
        """Whether a report without the invocation token is refused (``requires_token`` or ``marks_start``)."""
        return self.requires_token or self.marks_start

    @property
    def lane_count(self) -> int:
        """The configured lanes, "auto" resolved."""
        return auto_lanes(self.max_simultaneous_invocations) if self.lanes == "auto" else self.lanes

    def queue_keys(self, lanes: int | None = None) -> list[str]:
        """The stored ``labourer_id`` of each lane (of the first ``lanes``, by default the configured ones)."""
        return [queue_key(self.id, lane) for lane in range(self.lane_count if lanes is None else lanes)]

    @property
    def pause_stamp(self) -> int:
        """When the pause state last changed (0: never): the newer of ``paused_at`` and ``resumed_at``."""
        return max(self.paused_at or 0, self.resumed_at or 0)

    @property
    def function(self) -> str:
        """What the Lambda Invoke API takes: the configured ARN or name, else the id."""
        return self.arn or self.id

    @property
    def function_name(self) -> str:
        """The bare function name, as sosw's job `lambda_name` gives it."""
        return self.function.split(":function:")[-1].split(":")[0]

    def running_after(self, now: float) -> int:
        """Greenfields above this are running: invoked within duration + cooldown."""
        return int(now) + INVOCATION_DELTA - self.duration - self.cooldown

    def invoked_greenfield(self, now: float) -> int:
        """The greenfield a task gets when it is invoked now."""
        return int(now) + INVOCATION_DELTA


@dataclass(frozen=True)
class LabourersDocument:
    """The `ganger_labourers` config document: every labourer, keyed by id."""

    labourers: dict[str, dict[str, Any]] = field(default_factory=dict)


def parse_labourers(document: dict[str, Any]) -> dict[str, Labourer]:
    """Typed labourers from the document; the key is the id unless the entry gives one."""
    doc = schema.parse(LabourersDocument, document)
    result = {}
    for key, entry in doc.labourers.items():
        result[key] = schema.parse(Labourer, {"id": key, **entry}, f"labourers.{key}")
    return result


def labourers_config(
    store: Callable[[], ConfigStore], clock: Callable[[], float] = time.monotonic
) -> TypedConfig[dict[str, Labourer]]:
    """The labourers document as a typed config: cached for the TTL, last good value kept on a bad edit."""
    return TypedConfig(store, LABOURERS_DOCUMENT, parse_labourers, {}, clock=clock)


def read_labourers(store: ConfigStore) -> dict[str, Labourer]:
    """The labourers document read now (one GetItem); ConfigError names the bad field."""
    return labourers_config(lambda: store).get()


def resolve(labourers: dict[str, Labourer], name: str) -> Labourer | None:
    """Find a labourer by id, function name or ARN (sosw jobs name it by `lambda_name`)."""
    if name in labourers:
        return labourers[name]
    bare = name.split(":function:")[-1].split(":")[0]
    for labourer in labourers.values():
        if bare in (labourer.id, labourer.function_name):
            return labourer
    return None
