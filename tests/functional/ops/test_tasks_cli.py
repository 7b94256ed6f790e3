"""`ganger tasks show | list | redrive` against the task tables of the in-process system."""

from __future__ import annotations

import json

import pytest

from benchmarks.harness import Clock, InProcessSystem
from examples import sosw_protocol_worker
from tests.functional.ops.conftest import Cli, job


def show(cli: Cli, task_id: str) -> dict:
    result = cli("tasks", "show", task_id, "--json")
    assert result.code == 0, result.err
    return dict(json.loads(result.out))


def one_task_id(system: InProcessSystem, table: str) -> str:
    return str(system.scan(table)[0]["task_id"])


def make_dead(system: InProcessSystem, clock: Clock, n: int) -> None:
    system.schedule(job(n, job_id="doomed", fail_attempts=5))
    for _ in range(6):
        system.tick()
        clock.advance(101)


def test_show_finds_a_task_in_every_state(system: InProcessSystem, clock: Clock, cli: Cli) -> None:
    system.schedule(job(1, job_id="ok", numbers=[2, 3]))
    system.tick()
    completed = show(cli, one_task_id(system, "sosw_closed_tasks"))
    assert completed["state"] == "completed" and completed["attempts"] == 1
    assert completed["result"] == {"count": 2, "sum": 5}
    assert completed["table"] == "sosw_closed_tasks"

    system.schedule(job(1, job_id="retry", fail_attempts=1))
    system.run("sosw_orchestrator")
    retrying = show(cli, one_task_id(system, "sosw_retry_tasks"))
    assert retrying["state"] == "retrying" and "worker reported failure" in retrying["failure_reason"]

    system.register_worker("example_worker", lambda event, context: None)
    clock.advance(11)
    system.run("sosw_scavenger")  # the retry goes back to the front of the queue
    queued_id = one_task_id(system, "sosw_tasks")
    assert show(cli, queued_id)["state"] == "queued"
    system.run("sosw_orchestrator")
    assert show(cli, queued_id)["state"] == "running"
    clock.advance(91)
    assert show(cli, queued_id)["state"] == "expired"

    text = cli("tasks", "show", queued_id)
    assert f"task_id:              {queued_id}" in text.out and "state:                expired" in text.out
    missing = cli("tasks", "show", "no-such-task")
    assert missing.code == 2 and "`no-such-task` is in none of the task tables" in missing.err


def test_list_by_state_matches_the_tables(system: InProcessSystem, clock: Clock, cli: Cli) -> None:
    system.schedule(job(4, job_id="done"))
    system.tick()
    system.schedule(job(3, job_id="waiting"))

    queued = json.loads(cli("tasks", "list", "--labourer", "example_worker", "--json").out)
    completed = json.loads(cli("tasks", "list", "--labourer", "example_worker", "--state", "completed", "--json").out)
    limited = cli("tasks", "list", "--labourer", "example_worker", "--state", "completed", "--limit", "2")

    live_ids = {r["task_id"] for r in system.scan("sosw_tasks")}
    closed_ids = {r["task_id"] for r in system.scan("sosw_closed_tasks")}
    assert {t["task_id"] for t in queued["tasks"]} == live_ids and len(live_ids) == 3
    assert {t["task_id"] for t in completed["tasks"]} == closed_ids and len(closed_ids) == 4
    assert limited.out.splitlines()[-1] == "2 completed task(s) of example_worker (limit reached)"
    assert len(limited.out.splitlines()) == 4  # header, two rows, summary
    unknown = cli("tasks", "list", "--labourer", "nobody")
    assert unknown.code == 2 and "unknown labourer `nobody`" in unknown.err


@pytest.mark.parametrize("via", [[], ["--via-scavenger"]], ids=["direct", "via-scavenger"])
def test_redrive_puts_dead_tasks_back_and_they_complete(
    system: InProcessSystem, clock: Clock, cli: Cli, via: list[str]
) -> None:
    make_dead(system, clock, 3)
    dead = cli("tasks", "list", "--labourer", "example_worker", "--state", "dead", "--json")
    dead_ids = {t["task_id"] for t in json.loads(dead.out)["tasks"]}
    assert len(dead_ids) == 3

    dry = cli("tasks", "redrive", "--labourer", "example_worker", "--dry-run", *via)
    assert dry.code == 0 and set(dry.out.splitlines()[:3]) == dead_ids
    assert "dry run: 3 dead task(s) of example_worker would be redriven" in dry.out
    assert len(system.scan("sosw_tasks")) == 0

    system.register_worker(
        "example_worker", lambda e, c: sosw_protocol_worker.lambda_handler({**e, "fail_attempts": 0}, c)
    )
    done = cli("tasks", "redrive", "--labourer", "example_worker", "--since", "1d", *via)
    assert done.code == 0, done.err
    assert "3 dead task(s) of example_worker back in the queue" in done.out
    assert {r["task_id"] for r in system.scan("sosw_tasks")} == dead_ids

    system.tick()
    closed = {r["task_id"]: r for r in system.scan("sosw_closed_tasks")}
    assert set(closed) == dead_ids
    assert all(r["labourer_id_task_status"] == "example_worker_1" and r["attempts"] == 1 for r in closed.values())
    assert show(cli, next(iter(dead_ids)))["state"] == "completed"
