"""A chunked job through all four essentials, with the example worker really running in-process."""

from __future__ import annotations

import json

from benchmarks.harness import Clock, InProcessSystem
from ganger.tasks import STATUS_COMPLETED


def sections_job(n_sections: int, stores_per_section: int = 2) -> dict:
    sections = {f"s{i}": {"stores": [f"s{i}-{j}" for j in range(stores_per_section)]} for i in range(n_sections)}
    return {"job": {"lambda_name": "example_worker", "payload": {"sections": sections, "isolate_sections": True,
                                                                   "numbers": [1, 2, 3]}}}  # fmt: skip


def test_chunked_job_runs_to_the_closed_table(system: InProcessSystem) -> None:
    scheduled = system.schedule(sections_job(120))
    assert scheduled["tasks_created"] == 120
    assert len(system.scan("sosw_tasks")) == 120

    for _ in range(4):  # 50 at a time
        system.tick()

    closed = system.scan("sosw_closed_tasks")
    assert len(closed) == 120
    assert {row["labourer_id_task_status"] for row in closed} == {f"example_worker_{STATUS_COMPLETED}"}
    assert all(row["result_sum"] == 6 and row["attempts"] == 1 for row in closed)
    payloads = sorted(json.loads(row["payload"])["sections"][0] for row in closed)
    assert payloads == sorted(f"s{i}" for i in range(120))
    assert system.scan("sosw_tasks") == []
    assert system.scan("sosw_retry_tasks") == []


def test_orchestrator_respects_concurrency_of_running_tasks(system: InProcessSystem, clock: Clock) -> None:
    system.register_worker("example_worker", lambda event, context: None)  # never reports: stays running
    system.schedule(sections_job(80))
    first, _ = system.tick()
    second, _ = system.tick()
    assert first["labourers"]["example_worker"]["dispatched"] == 50
    assert second["labourers"]["example_worker"]["dispatched"] == 0
    assert second["labourers"]["example_worker"]["running"] == 50
    invoked = [r for r in system.scan("sosw_tasks") if r["greenfield"] > clock.now]
    assert len(invoked) == 50


def test_same_job_delivered_twice_creates_each_task_once(system: InProcessSystem) -> None:
    job = sections_job(30)
    first = system.schedule(job)
    system.tick()  # some tasks complete and leave the tasks table
    second = system.schedule(job)
    assert first["tasks_created"] == 30
    assert second == {**second, "duplicate": True, "tasks_created": 0}
    system.tick()
    closed = system.scan("sosw_closed_tasks")
    assert len(closed) == 30
    assert system.lam.invocations["example_worker"] == 30


def test_job_without_chunking_config_is_one_task(system: InProcessSystem) -> None:
    result = system.schedule({"job": {"lambda_name": "example_worker", "payload": {"anything": {"deep": [1]}}}})
    assert result["tasks_created"] == 1
    (row,) = system.scan("sosw_tasks")
    assert json.loads(row["payload"]) == {"anything": {"deep": [1]}}
