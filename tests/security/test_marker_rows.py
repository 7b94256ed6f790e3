"""A ``_ganger_`` row in the greenfield index is never read as queued, claimed, handed a slot or started.

The rows ganger keeps in the tasks table for itself (start marks, queue and slot counters, job markers) carry
no ``labourer_id``/``greenfield``. A worker role may write start marks (``_ganger_started#...``); were it to
write one that also carries them (a compromised worker, or a grant that does not limit the attributes), the
row would sit in a labourer's queue. This is the second layer behind the IAM grant (tests/security/
test_iam_grants.py): whatever lands in the index under a ``_ganger_`` id, the task store never takes it.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import pytest
from moto import mock_aws

from benchmarks.harness import Clock, InProcessSystem
from ganger.tasks import STATUS_COMPLETED, Handoff, Task
from ganger.tasks.changes import Ended

LABOURER = "victim_worker"
LABOURERS = {
    LABOURER: {
        "dispatch": "tick",  # dispatched only when the test runs the Orchestrator
        "max_simultaneous_invocations": 5,
        "duration": 60,
        "cooldown": 30,
        "max_attempts": 3,
    }
}
JOB = {"job": {"lambda_name": LABOURER, "payload": {"sections": ["a"], "isolate_sections": True}}}
INJECTED_ID = "_ganger_started#x#y"
INJECTED_PAYLOAD = {"action": "up", "user_id": 1001, "chat_id": 666}


@pytest.fixture
def clock() -> Clock:
    return Clock(time.time())


@pytest.fixture
def system(clock: Clock) -> Iterator[InProcessSystem]:
    with mock_aws():
        system = InProcessSystem(clock=clock)
        with system.lam.installed():
            system.deploy(labourers=LABOURERS)
            yield system


@pytest.fixture
def processed(system: InProcessSystem) -> list[dict[str, Any]]:
    events: list[dict[str, Any]] = []
    system.register_worker(LABOURER, lambda event, context: events.append(event))
    return events


def inject(system: InProcessSystem) -> dict[str, Any]:
    """The row a worker role with an attribute-blind start-mark grant could write: at the front of the queue."""
    item = {
        "task_id": {"S": INJECTED_ID},
        "labourer_id": {"S": LABOURER},
        "greenfield": {"N": "1"},
        "created_at": {"N": "1"},
        "attempts": {"N": "0"},
        "payload": {"S": json.dumps(INJECTED_PAYLOAD)},
    }
    system.clients.dynamodb.put_item(TableName="sosw_tasks", Item=item)
    return item


def injected_row(system: InProcessSystem) -> dict[str, Any]:
    item = system.clients.dynamodb.get_item(TableName="sosw_tasks", Key={"task_id": {"S": INJECTED_ID}})["Item"]
    return dict(item)


def test_a_marker_row_in_the_index_is_not_read_as_queued(system: InProcessSystem, clock: Clock) -> None:
    system.schedule(JOB)
    inject(system)
    queued = system.store.queued(LABOURER, clock(), limit=10)
    assert [t.task_id for t in queued] and INJECTED_ID not in [t.task_id for t in queued]
    assert INJECTED_ID not in [t.task_id for t in system.store.live_in_lane(LABOURER, 0, limit=10)]


def test_the_orchestrator_never_starts_a_marker_row(
    system: InProcessSystem, clock: Clock, processed: list[dict[str, Any]]
) -> None:
    system.schedule(JOB)
    item = inject(system)
    system.run("sosw_orchestrator")
    system.run("sosw_orchestrator")
    assert len(processed) == 1 and processed[0]["task_id"] != INJECTED_ID
    assert all(event.get("user_id") != INJECTED_PAYLOAD["user_id"] for event in processed)
    assert injected_row(system) == item  # not claimed: no attempt, no token, still where it was put


def test_a_claim_of_a_marker_row_is_refused(
    system: InProcessSystem, clock: Clock, processed: list[dict[str, Any]]
) -> None:
    system.schedule(JOB)
    system.run("sosw_orchestrator")  # the lane's slot counter exists, with free slots
    item = inject(system)
    marker = Task.from_item(item)
    claimed = system.store.claim([marker], clock(), ["token"], int(clock()) + 365 * 86400)
    assert claimed == []
    assert injected_row(system) == item


def test_a_hand_off_never_passes_a_slot_to_a_marker_row(
    system: InProcessSystem, clock: Clock, processed: list[dict[str, Any]]
) -> None:
    system.schedule(JOB)
    system.lam.run("sosw_orchestrator", {})  # claimed and sent; its worker has not run (nothing drained)
    (invoked,) = [t for t in system.store.live_in_lane(LABOURER, 0, limit=10) if t.invocation_token]
    item = inject(system)
    handoff = Handoff(Task.from_item(item), "token", clock(), int(clock()) + 365 * 86400)
    ended = system.store.close(invoked, invoked.invocation_token, STATUS_COMPLETED, clock(), handoff=handoff)
    assert ended is not Ended.HANDED_OFF
    assert injected_row(system) == item
    assert processed == []
