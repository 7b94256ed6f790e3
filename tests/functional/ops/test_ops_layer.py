"""The operator layer on its own (no command line): local mode's counts and the shared redrive."""

from __future__ import annotations

from benchmarks.harness import Clock, InProcessSystem
from ganger.ops.context import Ops
from ganger.ops.redrive import redrive_dead
from ganger.ops.status import activity_counts
from ganger.tasks import STATUS_DEAD
from tests.functional.conftest import EXAMPLE_LABOURER
from tests.functional.ops.conftest import job


def test_local_counts_show_running_and_expired_tasks_as_running(system: InProcessSystem, clock: Clock) -> None:
    system.register_worker("example_worker", lambda event, context: None)  # never reports
    system.schedule(job(2, job_id="old"))
    system.run("sosw_orchestrator")
    clock.advance(91)  # both expired (duration 60 + cooldown 30), the Scavenger has not run
    system.schedule(job(1, job_id="new"))
    system.run("sosw_orchestrator")  # one running
    system.set_labourers({"example_worker": {**EXAMPLE_LABOURER["example_worker"], "max_simultaneous_invocations": 3}})
    system.schedule(job(2, job_id="waiting"))  # the cap is reached: both stay queued

    counts = activity_counts(Ops(system.clients), clock.now)

    assert counts == {"example_worker": {"queued": 2, "running": 3, "retrying": 0, "completed": 0, "dead": 0}}
    assert activity_counts(Ops(system.clients), clock.now, closed=False) == {
        "example_worker": {"queued": 2, "running": 3, "retrying": 0}
    }


def test_redrive_dead_lists_on_a_dry_run_then_moves_them_back(system: InProcessSystem, clock: Clock) -> None:
    labourer = {**EXAMPLE_LABOURER["example_worker"], "max_attempts": 1}
    system.set_labourers({"example_worker": labourer})
    system.schedule(job(2, job_id="doomed", fail_attempts=5))
    system.tick()  # the only attempt fails: both dead
    dead = sorted(r["task_id"] for r in system.scan("sosw_closed_tasks")
                  if r["labourer_id_task_status"] == f"example_worker_{STATUS_DEAD}")  # fmt: skip
    assert len(dead) == 2

    dry = redrive_dead(system.store, "example_worker", 0, 10, dry_run=True)
    assert sorted(dry["would_redrive"]) == dead and len(system.scan("sosw_closed_tasks")) == 2

    done = redrive_dead(system.store, "example_worker", 0, 10)
    assert sorted(done["redriven"]) == dead and done["skipped"] == []
    assert sorted(r["task_id"] for r in system.scan("sosw_tasks") if not r["task_id"].startswith("_")) == dead
    assert system.scan("sosw_closed_tasks") == []
