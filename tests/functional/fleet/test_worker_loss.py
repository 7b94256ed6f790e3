"""Workers die or are scaled in mid-task: the task is retried or handed over, completes once, no message is left."""

from __future__ import annotations

import logging
import threading
import time

import pytest

from ganger.tasks import STATUS_COMPLETED
from tests.functional.fleet import handlers
from tests.functional.fleet.conftest import FLEET, LABOURER, FleetRig, wait_until


def only_task(rig: FleetRig) -> str:
    (row,) = rig.system.scan("sosw_tasks")
    return str(row["task_id"])


def closed_row(rig: FleetRig, task_id: str) -> dict | None:
    return next((r for r in rig.system.scan("sosw_closed_tasks") if r["task_id"] == task_id), None)


def settled(rig: FleetRig, task_id: str) -> bool:
    return closed_row(rig, task_id) is not None and rig.messages() == (0, 0)


def test_a_killed_worker_task_is_retried_and_completes_once(rig: FleetRig, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="ganger.fleet")
    rig.schedule(1, job_id="kill-job")
    task_id = only_task(rig)
    handlers.CRASH_ONCE.add(task_id)
    handlers.STARTED[task_id] = threading.Event()
    rig.minute()  # the backlog scales the group out
    rig.minute()  # the task is dispatched; the worker that takes it dies mid-task
    assert handlers.STARTED[task_id].wait(10)
    assert wait_until(lambda: rig.system.store.get(task_id) is not None and handlers.STARTS[task_id] == 1)
    assert rig.system.store.get(task_id).attempts == 1  # no report came: still running on attempt 1

    rig.clock.advance(LABOURER["duration"] + LABOURER["cooldown"] + 1)  # the attempt expires
    assert wait_until(lambda: settled(rig, task_id), timeout=40, step=rig.minute)

    row = closed_row(rig, task_id)
    assert row is not None and row["labourer_id_task_status"] == f"{FLEET}_{STATUS_COMPLETED}"
    assert row["attempts"] == 2 and row["result_attempt"] == 2
    assert handlers.RUNS[task_id] == 1  # completed exactly once
    assert rig.system.scan("sosw_tasks") == [] and rig.system.scan("sosw_retry_tasks") == []
    dropped = [r.getMessage() for r in caplog.records if "dropping message for task" in r.getMessage()]
    assert dropped and task_id in dropped[0]  # the dead attempt's message resurfaced and was dropped
    assert any("killed mid-task" in r.getMessage() for r in caplog.records)


def test_scale_in_releases_a_running_task_to_another_instance(rig: FleetRig) -> None:
    rig.schedule(1, job_id="release-job")
    task_id = only_task(rig)
    gate = handlers.GATES[task_id] = threading.Event()
    handlers.STARTED[task_id] = threading.Event()
    rig.minute()
    rig.minute()
    assert handlers.STARTED[task_id].wait(10)
    running = [p for p in rig.fleet.processes.values()
               if any(w.current is not None and w.current.task_id == task_id for w in p.workers)]  # fmt: skip
    assert len(running) == 1

    report = running[0].stop(grace_seconds=0.2)  # SIGTERM: the task does not finish in time
    assert report.released == 1
    assert wait_until(lambda: handlers.STARTS[task_id] == 2, timeout=60)  # another instance took the attempt over
    gate.set()
    assert wait_until(lambda: settled(rig, task_id), timeout=20, step=rig.system.tick)

    row = closed_row(rig, task_id)
    assert row is not None and row["labourer_id_task_status"] == f"{FLEET}_{STATUS_COMPLETED}"
    assert row["attempts"] == 1
    assert wait_until(lambda: closed_row(rig, task_id).get("late_reports") == 1, step=rig.system.tick)


def test_a_long_task_keeps_its_message_hidden_with_the_heartbeat(rig: FleetRig) -> None:
    rig.schedule(1, job_id="long-job")
    task_id = only_task(rig)
    gate = handlers.GATES[task_id] = threading.Event()
    handlers.STARTED[task_id] = threading.Event()
    rig.minute()
    rig.minute()
    assert handlers.STARTED[task_id].wait(10)
    visibility = rig.system.clients.sqs.get_queue_attributes(
        QueueUrl=rig.queue_url, AttributeNames=["VisibilityTimeout"]
    )["Attributes"]["VisibilityTimeout"]
    time.sleep(int(visibility) * 2)  # twice the visibility timeout: without the heartbeat it would reappear
    assert rig.messages() == (0, 1)
    assert handlers.STARTS[task_id] == 1
    gate.set()
    assert wait_until(lambda: settled(rig, task_id), timeout=20, step=rig.system.tick)
    assert closed_row(rig, task_id)["attempts"] == 1
