"""`ganger status`: its JSON counts and its table match the task tables."""

from __future__ import annotations

import json

from benchmarks.harness import Clock, InProcessSystem
from ganger.labourer import INVOCATION_DELTA
from ganger.tasks import STATUS_COMPLETED, STATUS_DEAD
from tests.functional.conftest import EXAMPLE_LABOURER
from tests.functional.ops.conftest import Cli, job

COUNTED = ("queued", "running", "expired", "retrying", "completed_1h", "completed_24h", "dead_1h", "dead_24h")


def counts_from_scans(system: InProcessSystem, clock: Clock) -> dict[str, int]:
    """The same numbers computed independently, from full scans of the three tables."""
    live = system.scan("sosw_tasks")
    running_after = int(clock.now) + INVOCATION_DELTA - 60 - 30  # duration 60, cooldown 30
    closed = [r["labourer_id_task_status"] for r in system.scan("sosw_closed_tasks")]
    return {
        "queued": sum(r["greenfield"] < clock.now for r in live),
        "running": sum(r["greenfield"] > running_after for r in live),
        "expired": sum(clock.now <= r["greenfield"] <= running_after for r in live),
        "retrying": len(system.scan("sosw_retry_tasks")),
        "completed_1h": closed.count(f"example_worker_{STATUS_COMPLETED}"),
        "completed_24h": closed.count(f"example_worker_{STATUS_COMPLETED}"),
        "dead_1h": closed.count(f"example_worker_{STATUS_DEAD}"),
        "dead_24h": closed.count(f"example_worker_{STATUS_DEAD}"),
    }


def test_status_json_and_table_match_the_tables(system: InProcessSystem, clock: Clock, cli: Cli) -> None:
    system.schedule(job(3, job_id="done"))
    system.tick()  # three tasks complete
    system.schedule(job(2, job_id="failing", fail_attempts=1))
    system.run("sosw_orchestrator")  # both fail their first attempt: waiting for retry
    system.register_worker("example_worker", lambda event, context: None)  # never reports from now on
    system.set_labourers({"example_worker": {**EXAMPLE_LABOURER["example_worker"], "max_simultaneous_invocations": 2}})
    system.schedule(job(5, job_id="slow"))
    system.run("sosw_orchestrator")  # two dispatched and running, three queued
    clock.advance(5)

    result = cli("status", "--json")

    assert result.code == 0
    row = json.loads(result.out)["labourers"]["example_worker"]
    expected = counts_from_scans(system, clock)
    assert {k: row[k] for k in COUNTED} == expected
    assert expected == {"queued": 3, "running": 2, "expired": 0, "retrying": 2, "completed_1h": 3,
                        "completed_24h": 3, "dead_1h": 0, "dead_24h": 0}  # fmt: skip
    assert row["oldest_queued_age"] >= 5 and row["health"] == 4

    table = cli("status")
    header, line = table.out.splitlines()[1:3]
    assert header.split()[:9] == ["labourer", *COUNTED]
    assert line.split()[:9] == ["example_worker", *(str(expected[k]) for k in COUNTED)]


def test_status_counts_expired_tasks(system: InProcessSystem, clock: Clock, cli: Cli) -> None:
    system.register_worker("example_worker", lambda event, context: None)
    system.schedule(job(2))
    system.run("sosw_orchestrator")
    clock.advance(91)  # beyond duration + cooldown, before the Scavenger runs

    row = json.loads(cli("status", "--json").out)["labourers"]["example_worker"]

    assert (row["running"], row["expired"], row["queued"]) == (0, 2, 0)
    assert row == {**row, **counts_from_scans(system, clock)}
