"""Priorities: a job's ``priority`` puts its tasks before every lower-priority task, by every start path."""

from __future__ import annotations

from typing import Any

import pytest

from benchmarks.harness import InProcessSystem
from ganger.ops.context import Ops
from ganger.ops.why import task_why
from ganger.tasks import Task
from tests.functional.dispatch.test_event_dispatch import LABOURER, Running, job, labourers


def urgent(n: int, job_id: str, priority: int) -> dict[str, Any]:
    body = job(n, job_id)
    return {**body, "job": {**body["job"], "priority": priority}}


@pytest.fixture
def worker(system: InProcessSystem) -> Running:
    running = Running(system)
    system.register_worker(LABOURER, running)
    return running


def test_hand_offs_start_the_higher_priority_first(system: InProcessSystem, worker: Running) -> None:
    system.set_labourers(labourers(cap=1))
    system.schedule(job(4, "backfill"))
    system.schedule(urgent(2, "urgent", 5))
    system.schedule(urgent(1, "more", 5))
    for _ in range(6):
        worker.finish(1)  # each completion hands its slot to the next queued task
    order = worker.started  # within a priority a hand-off picks among the front's first 32 at random
    assert order[0] == "backfill-0" and sorted(order[1:4]) == ["more-0", "urgent-0", "urgent-1"], order
    assert sorted(order[4:]) == ["backfill-1", "backfill-2", "backfill-3"], order


def test_the_tick_claims_the_higher_priority_first(system: InProcessSystem, worker: Running) -> None:
    system.set_labourers(labourers(cap=2, dispatch="tick"))
    system.schedule(job(3, "low"))
    system.schedule(urgent(2, "mid", 1))
    system.schedule(urgent(1, "high", 9))
    system.tick()
    assert sorted(worker.started) == ["high-0", "mid-0"]


def test_a_retried_task_keeps_its_priority_over_a_lower_one(system: InProcessSystem, worker: Running) -> None:
    """A failure report puts the task in the retry table; due again, it goes back before the lower priority
    (priority 1 here: a retry that lost its priority would come back at the front of priority 0, behind it)."""
    system.set_labourers(labourers(cap=1))
    system.schedule(urgent(1, "high", 3))
    system.schedule(urgent(2, "low", 1))
    event = worker.held.pop()
    system.run("sosw_worker_assistant", {"action": "mark_task_as_failed", "task_id": event["task_id"],
                                         "invocation_token": event["invocation_token"]})  # fmt: skip
    assert worker.started[-1] == "low-0", "the slot went to the queue while the urgent task waits for its retry"
    system.clock.advance(200)  # type: ignore[union-attr]
    system.tick()  # the Scavenger puts the retry back in the queue; no slot is free yet
    worker.finish(1)
    assert worker.started[-1] == "high-0", worker.started
    row = next(r for r in system.scan("sosw_tasks") if r["task_id"] == "high-0")
    assert row["priority"] == 3


def test_why_counts_the_tasks_of_higher_or_equal_priority_ahead(system: InProcessSystem, worker: Running) -> None:
    system.set_labourers(labourers(cap=5, dispatch="tick"))
    system.tick()
    system.schedule(job(1, "x"))
    system.tick()  # the counter exists; x runs, four slots free
    system.schedule(job(3, "low"))
    system.schedule(urgent(2, "high", 2))
    ops = Ops(system.clients, store=system.store, config=system.config)
    answer = task_why(ops, "low-0", system.clock())  # type: ignore[misc]
    assert answer.hold == "behind_queue" and answer.details["ahead"] == 2
    assert "behind 2 task(s) of higher or equal priority" in answer.text
    assert task_why(ops, "high-1", system.clock()).details["ahead"] == 1  # type: ignore[misc]


@pytest.mark.parametrize("priority", [-1, 1001, 2.5, "5", True])
def test_a_bad_priority_is_refused_naming_the_field(system: InProcessSystem, priority: Any) -> None:
    system.set_labourers(labourers(cap=1))
    with pytest.raises(RuntimeError, match=r"job\.priority"):
        system.schedule(urgent(1, "bad", priority))
    assert system.scan("sosw_tasks") == []


def test_sosw_workers_complete_priority_tasks(system: InProcessSystem) -> None:
    """sosw's Worker (the fixture's) reports only the task id: a priority task is accepted and closed."""
    system.schedule(urgent(3, "urgent", 1000))
    system.tick()
    closed = system.scan("sosw_closed_tasks")
    assert sorted(r["task_id"] for r in closed) == ["urgent-0", "urgent-1", "urgent-2"]
    assert {r["labourer_id_task_status"] for r in closed} == {f"{LABOURER}_1"}


def _retry_row(system: InProcessSystem, task_id: str, priority: int) -> Task:
    from ganger.tasks import QUEUE_BASE

    task = Task(task_id, LABOURER, int(system.clock()), QUEUE_BASE, attempts=1, desired_launch_time=0,  # type: ignore[misc]
                priority=priority)  # fmt: skip
    system.store.put_new([task], delayed=True)
    return task


def test_every_move_back_to_the_queue_keeps_priority(system: InProcessSystem) -> None:
    """Due retries (and delayed tasks), redriven and released tasks get front positions: the lower-priority task
    given the frontmost one still queues behind the higher-priority task."""
    system.set_labourers(labourers(cap=1))
    now = system.clock()  # type: ignore[misc]
    high, low = _retry_row(system, "high", 4), _retry_row(system, "low", 0)
    system.store.requeue([high, low], system.store.reserve_positions(LABOURER, 2, front=True)[::-1])
    assert [t.task_id for t in system.store.queued(LABOURER, now, 10)] == ["high", "low"]
    system.store.slots.set_cap(LABOURER, 1, None, 0)
    claimed = system.store.claim(system.store.queued(LABOURER, now, 10), now, ["t1", "t2"], int(now) + 10**8)
    assert [t.task_id for t in claimed] == ["high"], "one slot"  # released: back at its priority's front
    assert system.store.release(claimed[0], system.store.reserve_positions(LABOURER, 1, front=True)[0] + 10)
    assert [t.task_id for t in system.store.queued(LABOURER, now, 10)] == ["high", "low"]
