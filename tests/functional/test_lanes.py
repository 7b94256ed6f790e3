"""A labourer split over lanes (ganger.lanes): its tasks spread over the lanes' keys and all complete, the cap
holds over every lane at once, an emptied lane's slots take other lanes' tasks, a lowered lane cap stops its
hand-offs, and sosw's own Worker completes a task of a lane other than 0."""

from __future__ import annotations

from collections import Counter
from typing import Any

import pytest
from sosw.worker import Worker as SoswWorker

from benchmarks.harness import Clock, InProcessSystem
from essentials.orchestrator import Orchestrator
from ganger.labourer import Labourer
from ganger.lanes import lane_of, queue_key
from ganger.slots import LaneCache

LABOURER = "example_worker"


def job(n: int, job_id: str) -> dict[str, Any]:
    return {"job": {"lambda_name": LABOURER, "payload": {"sections": [f"s{i}" for i in range(n)],
                                                          "isolate_sections": True}}, "job_id": job_id}  # fmt: skip


def labourers(cap: int, lanes: int, dispatch: str = "event") -> dict[str, Any]:
    return {LABOURER: {"max_simultaneous_invocations": cap, "lanes": lanes, "duration": 60, "cooldown": 30,
                       "max_attempts": 3, "dispatch": dispatch}}  # fmt: skip


class Running:
    """A ganger-protocol worker that holds every task until told to finish it (token and snapshot)."""

    def __init__(self, system: InProcessSystem) -> None:
        self.system = system
        self.held: list[dict[str, Any]] = []
        self.peak = 0
        self.started: list[str] = []

    def __call__(self, event: dict[str, Any], context: Any) -> None:
        self.held.append(event)
        self.started.append(event["task_id"])
        self.peak = max(self.peak, len(self.held))

    def finish(self, count: int | None = None) -> None:
        from ganger.worker import task_snapshot

        done, self.held = self.held[:count], self.held[count:] if count is not None else []
        for event in done:
            report = {"action": "mark_task_as_completed", "task_id": event["task_id"],
                      "invocation_token": event["invocation_token"], "task": task_snapshot(event)}  # fmt: skip
            self.system.run("sosw_worker_assistant", report)


@pytest.fixture
def worker(system: InProcessSystem) -> Running:
    running = Running(system)
    system.register_worker(LABOURER, running)
    return running


def lane_slots(system: InProcessSystem, lanes: int) -> list[tuple[int, int]]:
    counters = system.store.slots.read_lanes(LABOURER, lanes)
    assert all(c is not None for c in counters)
    return [(c.cap, c.free) for c in counters if c is not None]


def job_id_where(n: int, lanes: int, wanted: Any) -> str:
    """A job id whose n task ids fall in lanes as ``wanted(counts)`` says (the lane is a hash of the task id)."""
    for i in range(10_000):
        candidate = f"job{i}"
        counts = Counter(lane_of(f"{candidate}-{k}", lanes) for k in range(n))
        if wanted(counts):
            return candidate
    raise AssertionError("no such job id")


def test_a_three_lane_labourers_tasks_spread_over_the_lanes_and_all_complete(
    system: InProcessSystem, worker: Running
) -> None:
    system.set_labourers(labourers(cap=6, lanes=3))
    system.schedule(job(30, "spread"))
    keys = Counter(row["labourer_id"] for row in system.scan("sosw_tasks"))
    assert set(keys) == {LABOURER, f"{LABOURER}#1", f"{LABOURER}#2"}, "every lane's queue key holds tasks"
    assert lane_slots(system, 3) == [(2, 0), (2, 0), (2, 0)], "the cap split over the lanes, every slot taken"
    while worker.held:
        worker.finish(1)
    closed = system.scan("sosw_closed_tasks")
    assert len(closed) == 30 and len(worker.started) == 30 and worker.peak == 6
    assert {r["labourer_id_task_status"] for r in closed} == {f"{queue_key(LABOURER, k)}_1" for k in range(3)}
    assert all(r["attempts"] == 1 for r in closed)
    assert lane_slots(system, 3) == [(2, 2), (2, 2), (2, 2)], "every slot back in its own lane"
    assert system.scan("sosw_tasks") == []


def test_running_never_exceeds_the_cap_with_several_starts_at_once(
    system: InProcessSystem, worker: Running, clock: Clock
) -> None:
    system.set_labourers(labourers(cap=6, lanes=3, dispatch="tick"))
    system.schedule(job(30, "many"))
    assert worker.held == []
    system.set_labourers(labourers(cap=6, lanes=3))
    first: Orchestrator = system.essentials["sosw_orchestrator"]
    second = Orchestrator(clients=system.clients, function_name="sosw_orchestrator", clock=clock)
    scheduler = system.essentials["sosw_scheduler"]
    real_claim = first.store.claim
    labourer = Labourer(LABOURER, max_simultaneous_invocations=6, lanes=3)

    def others_start_first(*args: Any, **kwargs: Any) -> Any:
        # The first Orchestrator has read every lane's free slots and queue front; before its first claim, another
        # path starts two *other* tasks in each lane (the back of its queue), then a second Orchestrator and a
        # Scheduler fill run to the end: only the lanes' counters can stop the first one now.
        first.store.claim = real_claim  # type: ignore[method-assign]
        for lane in range(3):
            others = system.store.queued_in_lane(LABOURER, lane, clock(), limit=30)[-2:]
            scheduler.starter.start(labourer, others, clock(), slot_lane=lane)
        second({}, None)
        scheduler.start_queued(labourer, clock())
        return real_claim(*args, **kwargs)

    first.store.claim = others_start_first  # type: ignore[method-assign]
    result = first({}, None)
    system.lam.drain()
    assert result["labourers"][LABOURER]["dispatched"] == 0
    assert len(worker.held) == 6 and worker.peak == 6
    assert [free for _, free in lane_slots(system, 3)] == [0, 0, 0]
    while worker.held:
        worker.finish(1)
        assert len(worker.held) <= 6
    assert worker.peak == 6 and len(system.scan("sosw_closed_tasks")) == 30


def test_an_emptied_lane_takes_other_lanes_tasks_at_the_tail(system: InProcessSystem, worker: Running) -> None:
    # Five tasks over two lanes of 2 slots each, at most one of them in lane 1: lane 1 takes lane 0's.
    job_id = job_id_where(5, 2, lambda counts: counts[1] <= 1)
    in_lane_1 = sum(lane_of(f"{job_id}-{k}", 2) for k in range(5))
    system.set_labourers(labourers(cap=4, lanes=2))
    system.schedule(job(5, job_id))
    assert len(worker.held) == 4, "4 slots, 4 running: no slot idles while another lane has queued work"
    stolen = [e for e in worker.held if e.get("slot_lane") == 1]
    assert len(stolen) == 2 - in_lane_1 and all(e.get("lane", 0) == 0 for e in stolen)
    assert lane_slots(system, 2) == [(2, 0), (2, 0)]
    worker.finish()
    worker.finish()
    assert lane_slots(system, 2) == [(2, 2), (2, 2)], "each stolen task gave its slot back to lane 1"
    assert len(system.scan("sosw_closed_tasks")) == 5


def test_a_hand_off_in_a_lane_over_its_cap_gives_the_slot_back(system: InProcessSystem, worker: Running) -> None:
    seconds = Clock(0.0)
    assistant = system.essentials["sosw_worker_assistant"]
    assistant._lane_cache = LaneCache(assistant.store.slots, clock=seconds)
    system.set_labourers(labourers(cap=8, lanes=2))
    system.schedule(job(30, "over"))
    assert lane_slots(system, 2) == [(4, 0), (4, 0)]
    system.set_labourers(labourers(cap=4, lanes=2))
    system.run("sosw_orchestrator")
    assert lane_slots(system, 2) == [(2, -2), (2, -2)]
    seconds.advance(1)  # the WorkerAssistant's cached read is at most a second old
    for _ in range(8):  # the eight tasks started before the cap was lowered, one report at a time
        worker.finish(1)
    # Each lane's first two ends gave their slots back (the lane was 2 over its cap), the next two handed off.
    assert lane_slots(system, 2) == [(2, 0), (2, 0)]
    assert len(worker.held) == 4 and worker.peak == 8
    assert len(system.scan("sosw_closed_tasks")) == 8


class AddingWorker(SoswWorker):
    """A worker written against sosw 0.7.51's own Worker class: it reports only the task id."""

    def __call__(self, event: dict) -> Any:
        self.result = {"sections": ",".join(event["sections"])}
        self.stats["handled"] += 1
        super().__call__(event)


def test_sosw_worker_completes_tasks_of_every_lane(system: InProcessSystem, monkeypatch: Any) -> None:
    monkeypatch.setenv("AWS_LAMBDA_FUNCTION_NAME", LABOURER)
    worker = AddingWorker(custom_config={"init_clients": ["lambda"]})
    system.register_worker(LABOURER, lambda event, context: worker(event))
    system.set_labourers(labourers(cap=3, lanes=3))
    job_id = job_id_where(9, 3, lambda counts: min(counts[k] for k in range(3)) >= 2)
    system.schedule(job(9, job_id))
    closed = system.scan("sosw_closed_tasks")
    assert len(closed) == 9
    assert {r["labourer_id"] for r in closed} == {LABOURER, f"{LABOURER}#1", f"{LABOURER}#2"}
    assert sorted(r["result_sections"] for r in closed) == [f"s{i}" for i in range(9)]
    assert system.scan("sosw_tasks") == []
    assert lane_slots(system, 3) == [(1, 1), (1, 1), (1, 1)]


def test_lowering_lanes_drains_the_removed_lanes_into_the_others(system: InProcessSystem, worker: Running) -> None:
    system.set_labourers(labourers(cap=6, lanes=3))
    system.schedule(job(30, "lower"))
    assert len(worker.held) == 6
    system.set_labourers(labourers(cap=6, lanes=1))
    system.run("sosw_orchestrator")
    assert {row["labourer_id"] for row in system.scan("sosw_tasks")} == {LABOURER}, "nothing left in lanes 1, 2"
    assert lane_slots(system, 3) == [(2, 0), (2, 0), (2, 0)], "lane 0 gets what lanes 1, 2 do not still hold"
    for _ in range(200):
        if len(system.scan("sosw_closed_tasks")) == 30:
            break
        if worker.held:
            worker.finish(1)
        else:
            system.tick()
    closed = system.scan("sosw_closed_tasks")
    assert len(closed) == 30 and all(r["attempts"] == 1 for r in closed)
    assert worker.peak == 6, "never above the cap while the lanes drained"
    system.tick()
    head = system.store.slots.read(LABOURER)
    assert head is not None and head.lanes == 1, "drained: lanes 1, 2 are read no more"
    system.schedule(job(10, "after"))
    system.tick()  # the first run with work gives lane 0 the whole cap again
    assert slots_of_lane_0(system) == (6, 0) and len(worker.held) == 6


def slots_of_lane_0(system: InProcessSystem) -> tuple[int, int]:
    head = system.store.slots.read(LABOURER)
    assert head is not None
    return head.cap, head.free
