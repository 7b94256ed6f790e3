"""Concurrency keys: keys take turns in the queue order; ``max_per_key`` caps each key's running tasks on every
start path (claims, hand-offs) and every end gives the key's place back."""

from __future__ import annotations

from typing import Any

import pytest

from benchmarks.harness import Clock, InProcessSystem
from ganger.keys import KeyCounter
from tests.functional.dispatch.test_event_dispatch import LABOURER, Running, labourers


def keyed(cap: int, max_per_key: int | None = None, guard: str = "cache") -> dict[str, Any]:
    document = labourers(cap=cap, guard=guard)
    document[LABOURER]["concurrency_key"] = "chat_id"
    if max_per_key is not None:
        document[LABOURER]["max_per_key"] = max_per_key
    return document


def chat_job(chat: str, n: int, job_id: str | None = None) -> dict[str, Any]:
    payload = {"chat_id": chat, "sections": [f"s{i}" for i in range(n)], "isolate_sections": True}
    return {"job": {"lambda_name": LABOURER, "payload": payload}, "job_id": job_id or f"job-{chat}"}


@pytest.fixture
def worker(system: InProcessSystem) -> Running:
    running = Running(system)
    system.register_worker(LABOURER, running)
    return running


def running_of(worker: Running, chat: str) -> int:
    return sum(1 for event in worker.held if event["chat_id"] == chat)


def key_running(system: InProcessSystem, chat: str) -> int:
    return system.store.keys.running(LABOURER, [chat])[chat]


def test_a_key_arriving_behind_a_backlog_starts_at_once(system: InProcessSystem, worker: Running) -> None:
    system.set_labourers(keyed(cap=3))
    system.schedule(chat_job("A", 30))
    assert len(worker.held) == 3, "a key alone uses every slot"
    worker.finish(3)  # hand-offs: A's next three
    system.schedule(chat_job("B", 2))
    order = []
    for _ in range(4):
        worker.finish(1)
        order.append(worker.held[-1]["chat_id"])
    assert order.count("B") == 2, f"B's tasks start within the next 4 starts, not after A's 24 queued: {order}"


def test_a_key_returning_after_its_backlog_ran_out_is_not_sent_to_the_back(
    system: InProcessSystem, worker: Running
) -> None:
    system.set_labourers(keyed(cap=1))
    system.schedule(chat_job("A", 20))
    while worker.held:
        worker.finish(1)
    system.schedule(chat_job("B", 10))  # the queue was empty: B starts from where A's positions ended
    worker.finish(1)
    system.schedule(chat_job("A", 2, "job-A-again"))
    starts = []
    for _ in range(4):
        worker.finish(1)
        starts.append(worker.held[-1]["chat_id"])
    assert "A" in starts[:2], f"A takes its turn with B's backlog, not after it: {starts}"


@pytest.mark.parametrize("guard", ["cache", "transaction"])
def test_max_per_key_holds_on_claims_and_hand_offs(system: InProcessSystem, worker: Running, guard: str) -> None:
    system.set_labourers(keyed(cap=4, max_per_key=2, guard=guard))
    system.schedule(chat_job("A", 6))
    system.schedule(chat_job("B", 3))
    assert running_of(worker, "A") == 2 and running_of(worker, "B") == 2, "the Scheduler's start kept each key's cap"
    peak = 0
    while worker.held:
        worker.finish(1)
        peak = max(peak, running_of(worker, "A"), running_of(worker, "B"))
        assert len(worker.held) <= 4
    assert peak <= 2 and len(worker.started) == 9
    assert key_running(system, "A") == 0 and key_running(system, "B") == 0, "every end gave its key's place back"
    assert len(system.scan("sosw_closed_tasks")) == 9


def test_a_hand_off_skips_a_task_whose_key_is_at_its_limit(system: InProcessSystem, worker: Running) -> None:
    system.set_labourers(keyed(cap=2, max_per_key=1))
    system.schedule(chat_job("A", 5))  # one of A starts; a slot stays free
    assert running_of(worker, "A") == 1 and len(worker.held) == 1
    system.schedule(chat_job("B", 5))
    assert running_of(worker, "B") == 1
    b = next(event for event in worker.held if event["chat_id"] == "B")
    worker.held.remove(b)
    worker.held.append(b)
    worker.finish(1)  # A's ends: A's next takes its place (a hand-off within the key)
    assert running_of(worker, "A") == 1 and running_of(worker, "B") == 1
    while worker.held:
        worker.finish(1)
        assert running_of(worker, "A") <= 1 and running_of(worker, "B") <= 1
    assert len(worker.started) == 10


def test_a_key_at_its_limit_starts_when_its_running_drops(system: InProcessSystem, worker: Running) -> None:
    system.set_labourers(keyed(cap=5, max_per_key=1))
    system.schedule(chat_job("A", 3))
    assert len(worker.held) == 1
    worker.finish(1)
    assert running_of(worker, "A") == 1, "the next of A started when A's running dropped"


def test_sosw_reports_without_a_token_give_the_keys_place_back(system: InProcessSystem, worker: Running) -> None:
    system.set_labourers(keyed(cap=2, max_per_key=1))
    system.schedule(chat_job("A", 2))
    event = worker.held.pop()
    system.run("sosw_worker_assistant", {"action": "mark_task_as_completed", "task_id": event["task_id"]})
    assert running_of(worker, "A") == 1 and key_running(system, "A") == 1
    event = worker.held.pop()
    system.run("sosw_worker_assistant", {"action": "mark_task_as_completed", "task_id": event["task_id"]})
    assert key_running(system, "A") == 0 and len(system.scan("sosw_closed_tasks")) == 2


def test_an_expired_attempt_gives_its_keys_place_back(system: InProcessSystem, worker: Running, clock: Clock) -> None:
    system.set_labourers(keyed(cap=2, max_per_key=1))
    system.schedule(chat_job("A", 1))
    assert key_running(system, "A") == 1
    worker.held.clear()  # the worker never reports
    clock.advance(60 + 30 + 5)  # duration + cooldown: expired
    system.run("sosw_scavenger")
    assert key_running(system, "A") == 0, "the expired attempt went to retry with its key's place given back"


def test_labourers_without_keys_touch_no_key_item(system: InProcessSystem, worker: Running) -> None:
    system.set_labourers(labourers(cap=2))
    system.schedule(chat_job("A", 4))
    while worker.held:
        worker.finish(1)
    rows = [row["task_id"]["S"] for row in system.scan("sosw_tasks")]
    assert not [row for row in rows if row.startswith(("_ganger_key", KeyCounter.item_id(LABOURER, "")[:15]))]


def test_why_names_the_key_at_its_limit_and_dispatch_agrees(system: InProcessSystem, worker: Running) -> None:
    from ganger.ecology import Ecology
    from ganger.ops.context import Ops
    from ganger.ops.why import task_why

    system.set_labourers(keyed(cap=5, max_per_key=1))
    system.schedule(chat_job("A", 2))
    queued = next(f"job-A-{i}" for i in range(2) if f"job-A-{i}" not in worker.started)
    ops = Ops(system.clients, store=system.store, config=system.config)
    answer = task_why(ops, queued, system.clock(), health=Ecology(system.clients.cloudwatch).readings)  # type: ignore[arg-type]
    assert answer.hold == "key_at_limit" and (answer.details["running"], answer.details["max_per_key"]) == (1, 1)
    assert "its key chat_id='A' at its limit (1 of 1)" in answer.text
    system.tick()
    assert queued not in worker.started, "the tick starts nothing of a key at its limit"
    worker.finish(1)
    assert queued in worker.started
