"""Event-driven dispatch: tasks start when they are written and when slots free up, never above the cap."""

from __future__ import annotations

from typing import Any

import pytest

from benchmarks.harness import Clock, InProcessSystem
from essentials.orchestrator import Orchestrator
from ganger.errors import DispatchError
from ganger.labourer import Labourer
from ganger.slots import LaneCache
from ganger.tasks import Task

LABOURER = "example_worker"


def job(n: int, job_id: str = "j") -> dict[str, Any]:
    return {"job": {"lambda_name": LABOURER, "payload": {"sections": [f"s{i}" for i in range(n)],
                                                          "isolate_sections": True}}, "job_id": job_id}  # fmt: skip


def labourers(cap: int, dispatch: str = "event", guard: str = "cache") -> dict[str, Any]:
    retry = {"base_seconds": 10, "factor": 2, "cap_seconds": 100}
    return {LABOURER: {"max_simultaneous_invocations": cap, "duration": 60, "cooldown": 30, "max_attempts": 3,
                       "retry": retry, "dispatch": dispatch, "handoff_guard": guard}}  # fmt: skip


class Running:
    """A worker that records what runs at once: it holds every task until released."""

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
        """Report the held tasks as completed (ganger's protocol: token and snapshot)."""
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


def slots(system: InProcessSystem) -> tuple[int, int]:
    counter = system.store.slots.read(LABOURER)
    assert counter is not None
    return counter.cap, counter.free


def test_a_job_starts_without_waiting_for_the_tick(system: InProcessSystem, worker: Running) -> None:
    system.set_labourers(labourers(cap=5))
    system.schedule(job(3))
    assert len(worker.held) == 3, "the tasks started when the Scheduler wrote them, no tick ran"
    assert system.lam.invocations["sosw_orchestrator"] == 1, "nudged once, to set the new labourer's cap"
    system.schedule(job(1, "second"))
    assert len(worker.held) == 4
    assert system.lam.invocations["sosw_orchestrator"] == 1, "a labourer with a counter needs no nudge"
    assert slots(system) == (5, 1)


def test_a_completion_hands_its_slot_to_the_next_task(system: InProcessSystem, worker: Running) -> None:
    system.set_labourers(labourers(cap=4))
    system.schedule(job(10))
    assert len(worker.held) == 4 and slots(system) == (4, 0)
    worker.finish(1)
    assert len(worker.held) == 4, "the freed slot went straight to a queued task"
    while worker.held:
        worker.finish(1)
    assert len(worker.started) == 10 and worker.peak == 4
    assert len(system.scan("sosw_closed_tasks")) == 10
    assert slots(system) == (4, 4), "every slot given back once the queue is empty"
    assert system.lam.invocations["sosw_orchestrator"] == 1


def test_two_dispatch_paths_at_once_never_exceed_the_cap(
    system: InProcessSystem, worker: Running, clock: Clock
) -> None:
    system.set_labourers(labourers(cap=6, dispatch="tick"))
    system.schedule(job(20))
    assert worker.held == []
    system.set_labourers(labourers(cap=6))
    first: Orchestrator = system.essentials["sosw_orchestrator"]
    second = Orchestrator(clients=system.clients, function_name="sosw_orchestrator", clock=clock)
    scheduler = system.essentials["sosw_scheduler"]
    real_claim = first.store.claim

    def others_claim_first(*args: Any, **kwargs: Any) -> Any:
        # The first Orchestrator has read 6 free slots and the queue's first 6 tasks. Before it claims, another
        # path (say, the Scavenger starting retries it just put back) starts 4 *other* tasks, then a second
        # Orchestrator and a Scheduler fill run to the end: only the counter can stop the first one now.
        others = system.store.queued(LABOURER, clock(), limit=20)[-4:]
        scheduler.starter.start(Labourer(LABOURER, max_simultaneous_invocations=6), others, clock())
        second({}, None)
        scheduler.start_queued(Labourer(LABOURER, max_simultaneous_invocations=6), clock())
        return real_claim(*args, **kwargs)

    first.store.claim = others_claim_first  # type: ignore[method-assign]
    result = first({}, None)
    system.lam.drain()
    assert result["labourers"][LABOURER]["dispatched"] == 0
    assert len(worker.held) == 6 and worker.peak == 6
    assert slots(system) == (6, 0)


@pytest.mark.parametrize("guard", ["transaction", "cache"])
def test_a_lower_cap_stops_hand_offs_until_running_fits(system: InProcessSystem, worker: Running, guard: str) -> None:
    # "cache": the WorkerAssistant reads the counter at most once a second (its config clock); each step
    # below is a second apart, so it sees every change. "transaction": the counter is in every hand-off.
    seconds = Clock(0.0)
    assistant = system.essentials["sosw_worker_assistant"]
    assistant._lane_cache = LaneCache(assistant.store.slots, clock=seconds)
    system.set_labourers(labourers(cap=4, guard=guard))
    system.schedule(job(10))
    system.set_labourers(labourers(cap=2, guard=guard))
    system.schedule(job(1, "nudge"))  # a run with work sets the new cap... through the next tick
    system.run("sosw_orchestrator")
    assert slots(system) == (2, -2)
    seconds.advance(1)
    worker.finish(1)
    seconds.advance(1)
    worker.finish(1)
    assert len(worker.held) == 2, "no hand-off while above the cap"
    assert slots(system) == (2, 0)
    seconds.advance(1)
    worker.finish(1)
    assert len(worker.held) == 2, "within the cap, the slot goes to the next task again"


def test_a_failed_dispatch_gives_the_slot_back(system: InProcessSystem, worker: Running) -> None:
    class Refusing:
        def dispatch(self, labourer: Labourer, task: Task) -> None:
            raise DispatchError(task.task_id, labourer.id, "throttled")

    system.set_labourers(labourers(cap=3))
    system.essentials["sosw_orchestrator"]._dispatcher_overrides = {"lambda": Refusing()}
    system.essentials["sosw_scheduler"]._dispatcher_overrides = {"lambda": Refusing()}
    system.schedule(job(2))
    assert worker.held == []
    assert slots(system) == (3, 3)
    queued = system.store.queued(LABOURER, system.clock(), limit=10)
    assert len(queued) == 2 and all(t.attempts == 0 for t in queued)


def test_a_tick_labourer_waits_for_the_minute_rule(system: InProcessSystem, worker: Running) -> None:
    system.set_labourers(labourers(cap=5, dispatch="tick"))
    system.schedule(job(3))
    assert worker.held == []
    system.tick()
    assert len(worker.held) == 3
    worker.finish()
    assert len(system.scan("sosw_closed_tasks")) == 3 and slots(system) == (5, 5)


def test_expired_attempts_free_their_slots_for_queued_tasks(
    system: InProcessSystem, worker: Running, clock: Clock
) -> None:
    system.set_labourers(labourers(cap=2))
    system.schedule(job(4))
    lost = list(worker.held)
    worker.held.clear()
    clock.advance(60 + 30 + 1)  # duration + cooldown: the two attempts expired without a report
    system.run("sosw_scavenger")
    started = [e["task_id"] for e in worker.held]
    assert len(started) == 2 and not set(started) & {e["task_id"] for e in lost}
    assert slots(system) == (2, 0)


def test_a_failed_start_leaves_the_job_scheduled_for_the_tick(system: InProcessSystem, worker: Running) -> None:
    from botocore.exceptions import ClientError

    system.set_labourers(labourers(cap=5))
    system.schedule(job(1, "warm"))  # the labourer's counter exists
    scheduler = system.essentials["sosw_scheduler"]

    def throttled(labourer_id: str, lane: int = 0) -> None:
        raise ClientError({"Error": {"Code": "ThrottlingException", "Message": "slow down"}}, "GetItem")

    scheduler.store.slots.read = throttled  # type: ignore[method-assign]
    result = system.schedule(job(3, "throttled"))
    assert result["tasks_created"] == 3, "the job is written although its tasks could not start at once"
    assert len(worker.held) == 1
    del scheduler.store.slots.read
    system.tick()
    assert len(worker.held) == 4, "the minute tick started them"


def moved_in_queue(system: InProcessSystem, task_id: str) -> None:
    """Another path moved the queued task (its queue position changed): a claim read before fails its condition."""
    system.clients.dynamodb.update_item(
        TableName="sosw_tasks", Key={"task_id": {"S": task_id}},
        UpdateExpression="SET greenfield = greenfield + :one", ExpressionAttributeValues={":one": {"N": "1"}},
    )  # fmt: skip


def test_a_slot_no_hand_off_could_take_starts_every_free_slot(system: InProcessSystem, worker: Running) -> None:
    # Hand-offs that all lost their candidates leave slots free in the counter (at scale: a wave of completions
    # reaching for the same queued tasks). The next slot that goes back must start every free slot, not one,
    # or the lost ones stay idle until the minute tick while tasks wait.
    system.set_labourers(labourers(cap=4))
    system.schedule(job(10))
    assert len(worker.held) == 4
    system.store.slots.set_cap(LABOURER, 6, system.store.slots.read(LABOURER), held=4)
    assert slots(system) == (6, 2), "two slots free and idle, six tasks queued"
    assistant = system.essentials["sosw_worker_assistant"]
    finishing = worker.held[0]["task_id"]
    real_handoff = assistant.starter.handoff

    def stale_candidates(*args: Any, **kwargs: Any) -> Any:
        """The queue as read, but each task moved by another path before this hand-off's transaction."""
        handoffs = real_handoff(*args, **kwargs)
        for handoff in handoffs:
            moved_in_queue(system, handoff.task.task_id)
        return handoffs

    assistant.starter.handoff = stale_candidates  # type: ignore[method-assign]
    worker.finish(1)
    assert finishing not in {event["task_id"] for event in worker.held}
    assert len(worker.held) == 6, "the freed slot and the two idle ones took queued tasks"
    assert slots(system) == (6, 0)


def test_a_hand_off_whose_candidates_were_all_taken_reads_the_queue_again(
    system: InProcessSystem, worker: Running
) -> None:
    # A wave of completions reaching for the same queued tasks: the losers read the queue again and hand their
    # slots over, rather than each giving its slot back to the lane's counter (the one contended item).
    system.set_labourers(labourers(cap=4))
    system.schedule(job(10))
    assistant = system.essentials["sosw_worker_assistant"]
    real_handoff = assistant.starter.handoff
    reads = []

    def first_read_stale(*args: Any, **kwargs: Any) -> Any:
        handoffs = real_handoff(*args, **kwargs)
        reads.append(len(handoffs))
        if len(reads) == 1:  # another hand-off took each of these first
            for handoff in handoffs:
                moved_in_queue(system, handoff.task.task_id)
        return handoffs

    assistant.starter.handoff = first_read_stale  # type: ignore[method-assign]
    handed_off = assistant.stats["handed_off"]
    worker.finish(1)
    assert len(reads) == 2 and len(worker.held) == 4
    assert assistant.stats["handed_off"] == handed_off + 1, "the slot passed on without the counter"
    assert slots(system) == (4, 0)
