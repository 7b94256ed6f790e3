"""The charts' figures from a sample of closed tasks, pure: percentiles, time buckets, running over time.

A sample is the newest ``limit`` closed tasks of a labourer (``ganger.console.history``): when it is full it
covers only the time since its oldest task closed, and every figure says so (a bucket before that is
``None``, "not read", never 0).

Start latency is the same as the benchmarks' "job accepted -> worker started", from what a closed row keeps:
``invoked_at - created_at`` (the Scheduler wrote the task; its slot was claimed and its Invoke sent), in whole
seconds as the rows keep them. Only for a task whose latest attempt was its first (``attempts == 1``, never
redriven): a retried task's row keeps only its latest attempt's ``invoked_at``.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

MINUTE = 60
LATENCY_BUCKET = 300  # seconds: a percentile per 5 minutes (a minute holds too few tasks of a slow labourer)


@dataclass(frozen=True)
class Closed:
    """What the charts need of one closed task (a projection of its row)."""

    created_at: int
    closed_at: int
    invoked_at: int | None = None
    attempts: int = 1
    redriven: bool = False  # a dead task sent back: its created_at is the first run's

    @property
    def start_latency(self) -> int | None:
        if self.attempts != 1 or self.redriven or self.invoked_at is None or self.invoked_at < self.created_at:
            return None
        return self.invoked_at - self.created_at


@dataclass(frozen=True)
class Sample:
    """The newest closed tasks of a labourer since ``since`` (newest first), read with ``limit``."""

    tasks: list[Closed]
    limit: int
    since: float
    now: float

    @property
    def full(self) -> bool:
        """The read stopped at its limit: older tasks of the span were not read."""
        return len(self.tasks) >= self.limit

    @property
    def covered_from(self) -> float:
        """From when on every closed task is in the sample: the span's start, or the oldest task read."""
        if self.full and self.tasks:
            return max(self.since, min(t.closed_at for t in self.tasks))
        return self.since


@dataclass(frozen=True)
class Bucket:
    start: float
    end: float
    values: list[float] = field(default_factory=list)
    read: bool = True  # False: the bucket starts before the sample's coverage (not every task of it was read)


def percentile(values: Sequence[float], q: float) -> float | None:
    """The nearest-rank percentile (as ``benchmarks.dispatch``): None for no values."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))]


def buckets(since: float, now: float, width: float, covered_from: float) -> list[Bucket]:
    """Buckets of ``width`` seconds ending at ``now``, the oldest first; those starting before
    ``covered_from`` are not read."""
    count = max(1, math.ceil((now - since) / width - 1e-9))
    starts = [now - width * (count - i) for i in range(count)]
    return [Bucket(s, s + width, [], s >= covered_from - 1e-9) for s in starts]


def bucketed(sample: Sample, width: float, value: str) -> list[Bucket]:
    """The sample's tasks by the bucket of their ``closed_at``: ``value`` "one" (1 per task, for counts) or
    "start_latency" (tasks without one left out)."""
    result = buckets(sample.since, sample.now, width, sample.covered_from)
    first = result[0].start
    for task in sample.tasks:
        index = int((task.closed_at - first) // width)
        if not 0 <= index < len(result):
            index = len(result) - 1 if task.closed_at >= sample.now else -1
        if index < 0:
            continue
        figure = 1 if value == "one" else task.start_latency
        if figure is not None:
            result[index].values.append(figure)
    return result


def counts(found: Iterable[Bucket]) -> list[int | None]:
    return [len(b.values) if b.read else None for b in found]


def percentiles(found: Iterable[Bucket], q: float) -> list[float | None]:
    return [percentile(b.values, q) if b.read else None for b in found]


def running_steps(intervals: Iterable[tuple[float, float]], since: float, now: float) -> list[tuple[float, int]]:
    """How many intervals (an attempt's invocation to its end) cover each moment from ``since`` to ``now``: the
    steps as (time, running from then on), the first at ``since``, the last at ``now``."""
    changes: dict[float, int] = {}
    at_start = 0
    for start, end in intervals:
        if end <= since or start > now:
            continue
        if start <= since:
            at_start += 1
        else:
            changes[start] = changes.get(start, 0) + 1
        if end < now:
            changes[end] = changes.get(end, 0) - 1
    steps, level = [(since, at_start)], at_start
    for moment in sorted(changes):
        level += changes[moment]
        if moment == steps[-1][0]:
            steps[-1] = (moment, level)
        else:
            steps.append((moment, level))
    steps.append((now, level))
    return steps


def last_pause(paused: bool, paused_at: int | None, resumed_at: int | None, since: float, now: float
               ) -> list[tuple[float, float]]:  # fmt: skip
    """The labourer's last pause within ``since``..``now`` (the labourers document keeps only the last one)."""
    if not paused_at:
        return []
    end = now if paused or not resumed_at or resumed_at < paused_at else float(resumed_at)
    return [(max(float(paused_at), since), end)] if end > since else []


@dataclass(frozen=True)
class Figures:
    """The overview's figures of one labourer, from its newest completed tasks."""

    sample: Sample
    latency_p50: list[float | None]
    latency_p95: list[float | None]
    per_minute: list[int | None]
    p50: float | None  # over the whole sample
    p95: float | None
    latencies: int  # tasks with a start latency (closed after their first attempt)


def figures(sample: Sample) -> Figures:
    latency = bucketed(sample, LATENCY_BUCKET, "start_latency")
    every = [float(v) for t in sample.tasks if (v := t.start_latency) is not None]
    return Figures(
        sample=sample,
        latency_p50=percentiles(latency, 0.5),
        latency_p95=percentiles(latency, 0.95),
        per_minute=counts(bucketed(sample, MINUTE, "one")),
        p50=percentile(every, 0.5),
        p95=percentile(every, 0.95),
        latencies=len(every),
    )


@dataclass(frozen=True)
class Timeline:
    """A labourer's capacity over the last hour, from its newest closed tasks and the attempts running now."""

    completed: Sample
    dead: Sample
    invoked: list[int]  # invoked_at of each attempt holding a slot now
    invoked_limit: int
    cap: int | None  # the counters' cap now (their history is not kept)
    configured_cap: int
    paused: list[tuple[float, float]] = field(default_factory=list)  # the last pause (the document keeps one)

    @property
    def since(self) -> float:
        return self.completed.since

    @property
    def now(self) -> float:
        return self.completed.now

    @property
    def covered_from(self) -> float:
        return max(self.completed.covered_from, self.dead.covered_from)

    def running(self) -> list[tuple[float, int]]:
        closed = [t for s in (self.completed, self.dead) for t in s.tasks]
        spans: list[tuple[float, float]] = [(t.invoked_at, t.closed_at) for t in closed if t.invoked_at is not None]
        spans += [(at, self.now + 1) for at in self.invoked]
        return running_steps(spans, self.covered_from, self.now)
