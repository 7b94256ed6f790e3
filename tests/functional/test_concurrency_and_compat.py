"""Two Orchestrators at once, a sosw 0.7.51 Worker under ganger, and the Scheduler's sibling hand-off."""

from __future__ import annotations

import json
from typing import Any

import pytest
from sosw.worker import Worker as SoswWorker

from benchmarks.harness import Clock, InProcessSystem
from essentials.orchestrator import Orchestrator

SECTIONS = {"job_schema_variants": {"default": {"chunkable_attrs": ["section"]}}}


def job(n: int, **extra: Any) -> dict:
    return {"job": {"lambda_name": "example_worker", **extra,
                    "payload": {"sections": [f"s{i}" for i in range(n)], "isolate_sections": True}}}  # fmt: skip


def test_two_orchestrators_at_once_never_dispatch_a_task_twice(system: InProcessSystem, clock: Clock) -> None:
    system.set_labourers({"example_worker": {"max_simultaneous_invocations": 40, "dispatch": "tick"}})
    system.schedule(job(60))
    first: Orchestrator = system.essentials["sosw_orchestrator"]
    second = Orchestrator(clients=system.clients, function_name="sosw_orchestrator", clock=clock)
    real_claim = first.store.claim
    interleaved = {}

    def claim_after_the_other_runs(*args: Any, **kwargs: Any) -> Any:
        # Both have read the same queue; the second claims and dispatches first.
        interleaved["second"] = second({}, None)
        return real_claim(*args, **kwargs)

    first.store.claim = claim_after_the_other_runs  # type: ignore[method-assign]
    result = first({}, None)
    system.lam.drain()
    dispatched = result["labourers"]["example_worker"]["dispatched"]
    other = interleaved["second"]["labourers"]["example_worker"]["dispatched"]
    assert other == 40
    assert dispatched == 0, "both read the same 40 queued tasks; the other claimed them all first"
    system.tick()  # the remaining 20
    closed = system.scan("sosw_closed_tasks")
    assert len(closed) == 60
    assert all(r["attempts"] == 1 for r in closed)
    assert system.lam.invocations["example_worker"] == 60


class AddingWorker(SoswWorker):
    """A worker written against sosw 0.7.51's own Worker class."""

    def __call__(self, event: dict) -> Any:
        self.result = {"sections": ",".join(event["sections"])}
        self.stats["handled"] += 1
        super().__call__(event)


@pytest.mark.parametrize("dispatch", ["tick", "event"])
def test_sosw_worker_completes_tasks_dispatched_by_ganger(
    system: InProcessSystem, monkeypatch: Any, dispatch: str
) -> None:
    monkeypatch.setenv("AWS_LAMBDA_FUNCTION_NAME", "example_worker")
    worker = AddingWorker(custom_config={"init_clients": ["lambda"]})
    system.register_worker("example_worker", lambda event, context: worker(event))
    system.set_labourers({"example_worker": {"max_simultaneous_invocations": 2, "dispatch": dispatch}})
    system.schedule(job(5))
    if dispatch == "tick":
        for _ in range(3):
            system.tick()
    else:  # started on arrival, two at a time; each completion hands its slot on: no tick at all
        assert system.lam.invocations["sosw_orchestrator"] == 1  # the one nudge that set the new labourer's cap
    closed = system.scan("sosw_closed_tasks")
    assert len(closed) == 5
    assert sorted(r["result_sections"] for r in closed) == [f"s{i}" for i in range(5)]
    assert all(r["stat_handled"] >= 1 for r in closed)  # sosw keeps stats across calls
    assert system.scan("sosw_tasks") == []


class ShortLivedContext:
    """A Lambda context that says time is running out (a run always writes its first step)."""

    function_name = "sosw_scheduler"
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:sosw_scheduler"

    def __init__(self) -> None:
        self.calls = 0

    def get_remaining_time_in_millis(self) -> int:
        self.calls += 1
        return 1_000


def test_big_job_continues_in_a_sibling_with_a_cursor(system: InProcessSystem) -> None:
    system.config.put("sosw_scheduler_config", {**SECTIONS, "rows_per_step": 100})
    scheduler = system.essentials["sosw_scheduler"]
    first = scheduler(job(250, job_id="big"), ShortLivedContext())
    assert first == {**first, "tasks_created": 100, "continued_at": 100}
    assert len(system.lam.queue) == 1
    sibling_event = system.lam.queue[0][1]
    system.lam.queue.append(system.lam.queue[0])  # the sibling's invocation delivered twice
    system.lam.drain()
    assert sibling_event["cursor"] == 100
    rows = system.scan("sosw_tasks")
    assert len(rows) == 250
    assert len({r["task_id"] for r in rows}) == 250
    sections = sorted(int(json.loads(r["payload"])["sections"][0][1:]) for r in rows)
    assert sections == list(range(250))
    for _ in range(6):
        system.tick()
    assert len(system.scan("sosw_closed_tasks")) == 250


def crash_third_step(scheduler: object) -> Any:
    real_put = scheduler.store.put_new  # type: ignore[attr-defined]
    writes = {"n": 0}

    def put_new(tasks: Any) -> int:
        writes["n"] += 1
        if writes["n"] == 3:
            raise ConnectionError("DynamoDB unreachable")
        return real_put(tasks)

    return put_new, real_put


def test_failed_scheduling_resumes_at_once_on_redelivery(system: InProcessSystem) -> None:
    system.config.put("sosw_scheduler_config", {**SECTIONS, "rows_per_step": 50})
    scheduler = system.essentials["sosw_scheduler"]
    failing, real_put = crash_third_step(scheduler)
    scheduler.store.put_new = failing
    with pytest.raises(ConnectionError):
        scheduler(job(200, job_id="crashy"), None)
    scheduler.store.put_new = real_put
    resumed = system.schedule(job(200, job_id="crashy"))  # Lambda's async retry, a minute later
    assert resumed["tasks_created"] == 100
    for _ in range(5):
        system.tick()
    closed = system.scan("sosw_closed_tasks")
    assert len(closed) == 200 and all(r["attempts"] == 1 for r in closed)


def test_killed_scheduling_resumes_after_its_lease_without_duplicates(system: InProcessSystem, clock: Clock) -> None:
    system.config.put("sosw_scheduler_config", {**SECTIONS, "rows_per_step": 50, "lease_seconds": 60})
    scheduler = system.essentials["sosw_scheduler"]
    failing, real_put = crash_third_step(scheduler)
    scheduler.store.put_new = failing
    scheduler.store.release_job = lambda job_id: None  # killed: the run never gets to end its lease
    with pytest.raises(ConnectionError):
        scheduler(job(200, job_id="crashy"), None)
    scheduler.store.put_new = real_put
    system.tick()  # the first 100 run and complete meanwhile (50 at a time)
    system.tick()
    assert len(system.scan("sosw_closed_tasks")) == 100

    early = system.schedule(job(200, job_id="crashy"))
    assert early["duplicate"] is True, "within the lease the first run may still be working"
    clock.advance(61)
    resumed = system.schedule(job(200, job_id="crashy"))
    assert resumed["tasks_created"] == 100
    for _ in range(4):
        system.tick()
    closed = system.scan("sosw_closed_tasks")
    assert len(closed) == 200
    assert all(r["attempts"] == 1 for r in closed)
    assert system.lam.invocations["example_worker"] == 200
