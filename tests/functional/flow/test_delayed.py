"""Delayed tasks: a job's desired_launch_time or delay_seconds; never started early, started within a second."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from moto import mock_aws

from benchmarks.harness import Clock, InProcessSystem
from tests.functional.dispatch.test_event_dispatch import LABOURER, job, labourers


class Timed:
    """A worker that records when (on the system's clock) each task started."""

    def __init__(self, clock: Clock) -> None:
        self.clock = clock
        self.started: dict[str, float] = {}

    def __call__(self, event: dict[str, Any], context: Any) -> None:
        self.started[event["task_id"]] = self.clock()


@pytest.fixture
def system(clock: Clock) -> Iterator[InProcessSystem]:
    """The essentials with the Scavenger waiting for what falls due within 62 s; its sleep moves the clock."""
    with mock_aws():
        system = InProcessSystem(clock=clock)
        with system.lam.installed():
            system.deploy(labourers=labourers(cap=5), wake_ahead_seconds=62)
            system.essentials["sosw_scavenger"].store._sleep = clock.advance
            yield system


@pytest.fixture
def worker(system: InProcessSystem, clock: Clock) -> Timed:
    timed = Timed(clock)
    system.register_worker(LABOURER, timed)
    return timed


def test_a_delayed_job_starts_on_time_not_at_once(system: InProcessSystem, worker: Timed, clock: Clock) -> None:
    accepted = clock()
    system.schedule({**job(3), "job": {**job(3)["job"], "delay_seconds": 20}})
    due = accepted + 20
    assert len(worker.started) == 3, "the Scheduler woke the Scavenger, which waited for the job's time"
    assert all(due - 1 <= at <= due + 1 for at in worker.started.values()), (worker.started, due)
    assert system.lam.invocations["sosw_scavenger"] == 1


def test_a_launch_time_minutes_ahead_is_kept_by_the_ticks(system: InProcessSystem, worker: Timed, clock: Clock) -> None:
    launch = int(clock()) + 300
    system.schedule({**job(2), "job": {**job(2)["job"], "desired_launch_time": launch}})
    assert system.scan("sosw_retry_tasks") and not system.scan("sosw_tasks"), "out of the queue until its time"
    for _ in range(4):  # minute ticks: nothing is due within their look-ahead yet
        system.tick()
        clock.advance(60)
    assert worker.started == {}, "never before its time"
    system.tick()  # the tick whose look-ahead covers the launch time waits for it
    assert sorted(worker.started.values()) == [launch, launch]


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"delay_seconds": -1}, "job.delay_seconds"),
        ({"desired_launch_time": "soon"}, "job.desired_launch_time"),
        ({"delay_seconds": 5, "desired_launch_time": 10}, "job.delay_seconds"),
    ],
)
def test_a_bad_launch_time_is_refused_naming_the_field(
    system: InProcessSystem, worker: Timed, fields: dict[str, Any], field: str
) -> None:
    with pytest.raises(RuntimeError, match=field):
        system.schedule({**job(1), "job": {**job(1)["job"], **fields}})
    assert not system.scan("sosw_tasks") and not system.scan("sosw_retry_tasks")


def test_a_job_without_a_delay_starts_at_once(system: InProcessSystem, worker: Timed, clock: Clock) -> None:
    started = clock()
    system.schedule(job(2))
    assert sorted(worker.started.values()) == [started, started]
