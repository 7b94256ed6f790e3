"""Rate limits: at most R + B starts in any one-second window, by every start path; a backlog paced at R."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from moto import mock_aws

from benchmarks.harness import Clock, InProcessSystem
from ganger.config import ConfigError
from ganger.labourer import INVOCATION_DELTA, LABOURERS_DOCUMENT
from ganger.ops.context import Ops
from ganger.ops.why import task_why
from tests.functional.dispatch.test_event_dispatch import LABOURER, Running, job, labourers


def rated(cap: int, per_second: float, burst: int) -> dict[str, Any]:
    entry = labourers(cap)[LABOURER]
    return {LABOURER: {**entry, "rate": {"per_second": per_second, "burst": burst}}}


class Timed(Running):
    """Holds every task, and records when (on the system's clock, whole seconds) each was claimed: its invoked
    greenfield. (In-process Event invocations run after the run that made them, so the worker's own clock would
    tell when the pacer finished, not when it started the task.)"""

    def __init__(self, system: InProcessSystem, clock: Clock) -> None:
        super().__init__(system)
        self.clock = clock
        self.at: list[float] = []

    def __call__(self, event: dict[str, Any], context: Any) -> None:
        super().__call__(event, context)
        self.at.append(float(event["greenfield"] - INVOCATION_DELTA))


@pytest.fixture
def system(clock: Clock) -> Iterator[InProcessSystem]:
    """The essentials with the Orchestrator's pacer sleeping on the test's clock."""
    with mock_aws():
        system = InProcessSystem(clock=clock)
        with system.lam.installed():
            system.deploy(labourers=rated(cap=20, per_second=2, burst=3))
            system.essentials["sosw_orchestrator"].store._sleep = clock.advance
            yield system


@pytest.fixture
def worker(system: InProcessSystem, clock: Clock) -> Timed:
    timed = Timed(system, clock)
    system.register_worker(LABOURER, timed)
    return timed


def most_in_one_second(times: list[float]) -> int:
    return max(sum(1 for t in times if start <= t < start + 1) for start in times)


def test_a_backlog_starts_at_the_rate_after_its_burst(system: InProcessSystem, worker: Timed, clock: Clock) -> None:
    accepted = int(clock())
    system.schedule(job(11))  # the burst at once, then the pacer: 2 a second
    assert len(worker.at) == 11, "the pacer started the whole backlog"
    assert most_in_one_second(worker.at) <= 2 + 3
    assert worker.at[:3] == [accepted] * 3, "the burst"
    assert worker.at[-1] - accepted == pytest.approx((11 - 3) / 2, abs=1), "then 2 a second"
    assert system.lam.invocations["sosw_orchestrator"] >= 2, "the cap's nudge, then the pacer"


def test_every_start_path_takes_tokens(system: InProcessSystem, worker: Timed, clock: Clock) -> None:
    """The Scheduler's start, completions (no hand-off: a claim with a token) and the tick all obey the bucket."""
    system.set_labourers(rated(cap=20, per_second=1, burst=2))
    system.schedule(job(2, "first"))
    worker.finish()  # the slots go back; nothing queued
    system.schedule(job(3, "second"))  # the bucket is empty: the pacer paces them
    system.tick()
    for _ in range(4):
        worker.finish()
        system.schedule(job(1, f"more-{clock()}"))
        system.tick()
    assert most_in_one_second(worker.at) <= 1 + 2, worker.at
    stats = system.essentials["sosw_worker_assistant"].stats
    assert stats["handed_off"] == 0


def test_why_names_the_rate_limit(system: InProcessSystem, worker: Timed, clock: Clock) -> None:
    system.set_labourers(rated(cap=20, per_second=0.01, burst=1))  # one start per 100 s
    system.essentials["sosw_orchestrator"].store._sleep = lambda s: None  # the pacer gives up: the clock stands
    system.schedule(job(2))
    assert len(worker.at) == 1
    ops = Ops(system.clients, store=system.store, config=system.config)
    answer = task_why(ops, "j-1", clock())  # type: ignore[misc]
    assert answer.hold == "rate_limit" and answer.details["next_start"] == pytest.approx(clock() + 100, abs=0.01)
    assert "next start at" in answer.text
    system.tick()
    assert len(worker.at) == 1, "the tick, too, waits for the token"


@pytest.mark.parametrize(
    ("rate", "field"),
    [({"per_second": 0, "burst": 1}, "per_second"), ({"per_second": 5, "burst": 0}, "burst"),
     ({"per_second": 5, "burst": 2.5}, "burst"), ({"per_second": "5"}, "per_second"), ({"burst": 3}, "per_second"),
     ({"per_second": 5, "bursts": 3}, "bursts")],
)  # fmt: skip
def test_a_bad_rate_is_refused_naming_the_field(system: InProcessSystem, rate: dict[str, Any], field: str) -> None:
    entry = {**labourers(cap=5)[LABOURER], "rate": rate}
    with pytest.raises(ConfigError, match=rf"labourers\.{LABOURER}\.rate.*{field}"):
        system.set_labourers({LABOURER: entry})
    assert LABOURERS_DOCUMENT


def test_completions_hand_off_nothing_beyond_the_rate(system: InProcessSystem, worker: Timed, clock: Clock) -> None:
    """At its cap with a backlog, a completion would hand its slot on at once: with a rate, it takes a token."""
    system.set_labourers(rated(cap=2, per_second=1, burst=2))
    system.schedule(job(4))
    assert len(worker.at) == 2, "the burst fills the cap"
    worker.finish()  # both end at the same instant: the bucket is empty, the pacer starts the next two
    assert len(worker.at) == 4
    assert most_in_one_second(worker.at) <= 1 + 2, worker.at
    assert system.essentials["sosw_worker_assistant"].stats["handed_off"] == 0
