"""`ganger tasks why`: each answer agrees with what dispatch then does with the task."""

from __future__ import annotations

import datetime
from typing import Any

import pytest

from benchmarks.harness import Clock, InProcessSystem
from ganger.ecology import Ecology
from ganger.ops.context import Ops
from ganger.ops.labourers import set_pause
from ganger.ops.why import Why, task_why
from tests.functional.dispatch.test_event_dispatch import LABOURER, Running, job, labourers


@pytest.fixture
def worker(system: InProcessSystem) -> Running:
    running = Running(system)
    system.register_worker(LABOURER, running)
    return running


def why(system: InProcessSystem, task_id: str) -> Why:
    ops = Ops(system.clients, store=system.store, config=system.config)
    return task_why(ops, task_id, system.clock(), health=Ecology(system.clients.cloudwatch).readings)  # type: ignore[misc]


def tick_starts(system: InProcessSystem, worker: Running, task_id: str) -> bool:
    """The dispatch decision: does the Orchestrator's run (and the Scavenger's) start the task?"""
    system.tick()
    return task_id in worker.started


def test_paused(system: InProcessSystem, worker: Running) -> None:
    system.set_labourers(labourers(cap=3))
    system.schedule(job(1, "first"))
    ops = Ops(system.clients, store=system.store, config=system.config)
    set_pause(ops, LABOURER, True, system.clock(), reason="API down")  # type: ignore[arg-type]
    system.schedule(job(1))
    answer = why(system, "j-0")
    assert (answer.hold, answer.details["reason"]) == ("paused", "API down")
    assert not tick_starts(system, worker, "j-0")


def test_no_free_slot(system: InProcessSystem, worker: Running) -> None:
    system.set_labourers(labourers(cap=2))
    system.schedule(job(3))
    answer = why(system, "j-2")
    assert answer.hold == "no_free_slot" and (answer.details["running"], answer.details["cap"]) == (2, 2)
    assert not tick_starts(system, worker, "j-2")
    worker.finish(1)
    assert why(system, "j-2").hold == "not_waiting" and "j-2" in worker.started


def test_health_lowered_the_cap(system: InProcessSystem, worker: Running) -> None:
    metric = {"details": {"MetricName": "Errors", "Namespace": "downstream", "Statistics": ["Maximum"]},
              "feelings": {"4": 0, "2": 20}}  # fmt: skip
    system.set_labourers({LABOURER: {**labourers(cap=4)[LABOURER], "health_metrics": {"errors": metric}}})
    a_minute_ago = datetime.datetime.now(datetime.UTC) - datetime.timedelta(seconds=90)
    data = [{"MetricName": "Errors", "Value": 10, "Timestamp": a_minute_ago}]
    system.clients.cloudwatch.put_metric_data(Namespace="downstream", MetricData=data)  # type: ignore[arg-type]
    system.schedule(job(3))
    answer = why(system, "j-2")
    assert answer.hold == "no_free_slot" and answer.details["cap"] == 2, "status 2: coefficient 0.5 of 4"
    assert answer.details["health"] == [{"metric": "errors", "value": 10.0, "status": 2, "threshold": 0,
                                         "comparison": "le"}]  # fmt: skip
    assert not tick_starts(system, worker, "j-2")


def test_behind_the_queue(system: InProcessSystem, worker: Running) -> None:
    system.set_labourers(labourers(cap=5, dispatch="tick"))  # started only by the tick
    system.schedule(job(3))
    assert why(system, "j-0").hold == "no_cap_yet"
    system.tick()  # the cap is set; three started
    system.schedule(job(2, "next"))
    answer = why(system, "next-1")
    assert answer.hold == "behind_queue" and answer.details == {"ahead": 1, "free": 2}
    assert tick_starts(system, worker, "next-1"), "two free slots for two tasks: the next start takes it"


def test_waiting_for_retry_and_launch_time(system: InProcessSystem, worker: Running, clock: Clock) -> None:
    system.set_labourers(labourers(cap=2))
    system.schedule(job(1))
    event: dict[str, Any] = worker.held.pop()
    system.run("sosw_worker_assistant", {"action": "mark_task_as_failed", "task_id": "j-0",
                                         "invocation_token": event["invocation_token"]})  # fmt: skip
    answer = why(system, "j-0")
    assert answer.hold == "waiting_for_retry" and answer.details["until"] > clock()
    system.schedule({**job(1, "later"), "job": {**job(1)["job"], "delay_seconds": 3600}})
    answer = why(system, "later-0")
    assert answer.hold == "not_before_launch" and answer.details["until"] >= clock() + 3600
    assert not tick_starts(system, worker, "later-0")
