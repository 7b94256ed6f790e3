"""Pause and resume: no task of a paused labourer starts by any path once the pause returns; resume starts it."""

from __future__ import annotations

from typing import Any

import pytest

from benchmarks.harness import Clock, InProcessSystem
from ganger.labourer import read_labourers
from ganger.ops.context import Ops
from ganger.ops.labourers import list_labourers, set_pause
from ganger.slots import LaneCache
from tests.functional.dispatch.test_event_dispatch import LABOURER, Running, job, labourers, slots


@pytest.fixture
def worker(system: InProcessSystem) -> Running:
    running = Running(system)
    system.register_worker(LABOURER, running)
    return running


@pytest.fixture
def seconds(system: InProcessSystem) -> Clock:
    """The WorkerAssistant's cache clock: the pause's wait advances it, as time would."""
    clock = Clock(0.0)
    assistant = system.essentials["sosw_worker_assistant"]
    assistant._lane_cache = LaneCache(assistant.store.slots, clock=clock)
    return clock


def ops(system: InProcessSystem) -> Ops:
    return Ops(system.clients, store=system.store, config=system.config)


def pause(system: InProcessSystem, seconds: Clock, reason: str = "downstream broken") -> None:
    set_pause(ops(system), LABOURER, True, system.clock(), reason=reason, wait=seconds.advance)  # type: ignore[misc]


def queued(system: InProcessSystem) -> int:
    return len(system.store.queued(LABOURER, system.clock(), limit=100))  # type: ignore[misc]


@pytest.mark.parametrize("guard", ["cache", "transaction"])
def test_a_paused_labourer_starts_nothing_by_any_path(
    system: InProcessSystem, worker: Running, seconds: Clock, clock: Clock, guard: str
) -> None:
    system.set_labourers(labourers(cap=3, guard=guard))
    system.schedule(job(5))
    worker.finish(1)  # handed off; the WorkerAssistant's cache read the counters now: not paused
    assert len(worker.held) == 3 and len(worker.started) == 4
    pause(system, seconds)
    system.schedule(job(2, "during"))  # the Scheduler's start
    assert len(worker.held) == 3 and queued(system) == 3
    worker.finish(1)  # a completion: its slot goes back instead of to the next task
    system.run("sosw_orchestrator")  # the tick
    assert len(worker.held) == 2 and len(worker.started) == 4
    failed = worker.held.pop(0)  # a failure report: to retry; the Scavenger brings it back when due
    system.run("sosw_worker_assistant", {"action": "mark_task_as_failed", "task_id": failed["task_id"],
                                         "invocation_token": failed["invocation_token"]})  # fmt: skip
    clock.advance(30)  # the retry is due (backoff <= 10 s); the running task has not expired
    system.run("sosw_scavenger")
    assert len(worker.started) == 4, "no task started while paused"
    assert queued(system) == 4 and slots(system) == (3, 2), "the queue kept; the running one still holds its slot"
    worker.finish()
    assert slots(system) == (3, 3) and len(worker.started) == 4, "running tasks reported normally"


def test_resume_starts_the_queue_at_once(system: InProcessSystem, worker: Running, seconds: Clock) -> None:
    system.set_labourers(labourers(cap=3))
    system.schedule(job(1, "first"))
    worker.finish()
    pause(system, seconds)
    system.schedule(job(5))
    assert worker.started == ["first-0"]
    change = set_pause(ops(system), LABOURER, False, system.clock())  # type: ignore[arg-type]
    assert change.nudged == "sosw_orchestrator"
    system.lam.drain()  # the nudged Orchestrator runs
    assert len(worker.held) == 3, "the resume's nudge filled the free slots"
    worker.finish(1)
    assert len(worker.held) == 3, "hand-offs go on again"


def test_a_hand_off_decided_before_the_pause_does_not_start_after_it(
    system: InProcessSystem, worker: Running, seconds: Clock
) -> None:
    system.set_labourers(labourers(cap=2))
    system.schedule(job(6))
    assistant = system.essentials["sosw_worker_assistant"]
    real_handoff = assistant.starter.handoff

    def paused_meanwhile(*args: Any, **kwargs: Any) -> Any:
        candidates = real_handoff(*args, **kwargs)  # the completion read "not paused" and the queue; now a pause
        pause(system, seconds)
        return candidates

    assistant.starter.handoff = paused_meanwhile  # type: ignore[method-assign]
    worker.finish(1)
    assert len(worker.started) == 2, "the hand-off claimed, then saw the pause and put the task back"
    assert queued(system) == 4 and slots(system) == (2, 1)
    assert assistant.stats["handoffs_paused"] == 1


def test_a_stale_config_never_undoes_a_pause_and_a_config_edit_is_followed(
    system: InProcessSystem, worker: Running, seconds: Clock
) -> None:
    system.set_labourers(labourers(cap=2))
    system.schedule(job(1, "first"))
    worker.finish()
    orchestrator = system.essentials["sosw_orchestrator"]
    assert not orchestrator.labourers()[LABOURER].paused  # cached: read before the pause
    pause(system, seconds)
    system.schedule(job(3))
    orchestrator({}, None)  # its cached config says "not paused": older than the counters' flag
    system.lam.drain()
    assert worker.started == ["first-0"]
    # A resume written in the config by hand (stamped later) is followed by the Orchestrator's next run.
    edited = {LABOURER: {**labourers(cap=2)[LABOURER], "paused": False, "resumed_at": int(system.clock()) + 5}}
    system.set_labourers(edited)
    system.run("sosw_orchestrator")
    assert len(worker.held) == 2 and orchestrator.stats["pauses_followed"] == 1


def test_the_list_shows_limits_and_pause_state(system: InProcessSystem, worker: Running, seconds: Clock) -> None:
    system.set_labourers(labourers(cap=3))
    system.schedule(job(1))
    pause(system, seconds, reason="API down")
    [row] = [r.view() for r in list_labourers(ops(system)) if r.labourer.id == LABOURER]
    assert row["paused"] and row["paused_reason"] == "API down" and row["counters_paused"]
    assert (row["max_simultaneous_invocations"], row["cap"], row["running"], row["lanes"]) == (3, 3, 1, 1)
    stored = read_labourers(system.config)[LABOURER]
    assert stored.paused_at == row["paused_at"] and stored.paused_at is not None


def test_a_claim_planned_before_the_pause_takes_no_slot_after_it(
    system: InProcessSystem, worker: Running, seconds: Clock
) -> None:
    system.set_labourers(labourers(cap=4))
    system.schedule(job(1, "first"))
    worker.finish()
    scheduler = system.essentials["sosw_scheduler"]
    real_claim = scheduler.store.claim

    def paused_meanwhile(*args: Any, **kwargs: Any) -> Any:
        pause(system, seconds)  # the Scheduler read 4 free slots and the queue; the pause lands before its claim
        return real_claim(*args, **kwargs)

    scheduler.store.claim = paused_meanwhile  # type: ignore[method-assign]
    system.schedule(job(3))
    assert worker.started == ["first-0"] and queued(system) == 3 and slots(system) == (4, 4)
