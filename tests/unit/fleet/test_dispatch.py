"""SqsDispatcher batching and partial failures, with a fake SQS client."""

from __future__ import annotations

import json
from typing import Any

from ganger.fleet.capacity import in_service
from ganger.fleet.dispatch import MAX_BATCH_BYTES, SqsDispatcher, batches
from ganger.labourer import Labourer
from ganger.tasks import Task

FLEET = Labourer(id="f", type="fleet", arn="f_queue")


def task(i: int, payload: str = "{}") -> Task:
    return Task(task_id=f"t{i}", labourer_id="f", created_at=1, greenfield=2, attempts=1, payload=payload,
                invocation_token=f"tok{i}")  # fmt: skip


class FakeSqs:
    def __init__(self, refuse: set[str] | None = None) -> None:
        self.refuse = refuse or set()
        self.batches: list[list[dict[str, Any]]] = []
        self.url_lookups = 0

    def get_queue_url(self, QueueName: str) -> dict[str, str]:
        self.url_lookups += 1
        return {"QueueUrl": f"https://sqs.local/{QueueName}"}

    def send_message_batch(self, QueueUrl: str, Entries: list[dict[str, Any]]) -> dict[str, Any]:
        self.batches.append(Entries)
        failed = [e for e in Entries if json.loads(e["MessageBody"])["task_id"] in self.refuse]
        return {"Failed": [{"Id": e["Id"], "Code": "X", "Message": "refused", "SenderFault": True} for e in failed]}


def test_tasks_go_in_batches_of_ten_with_their_event() -> None:
    sqs = FakeSqs()
    dispatcher = SqsDispatcher(sqs)
    assert dispatcher.dispatch_many(FLEET, [task(i) for i in range(23)]) == []
    assert dispatcher.dispatch_many(FLEET, [task(99)]) == []
    assert [len(b) for b in sqs.batches] == [10, 10, 3, 1]
    assert sqs.url_lookups == 1  # the queue URL is looked up once per process
    body = json.loads(sqs.batches[0][0]["MessageBody"])
    assert body["task_id"] == "t0" and body["invocation_token"] == "tok0" and body["attempts"] == 1


def test_refused_messages_come_back_as_failed_tasks() -> None:
    sqs = FakeSqs(refuse={"t3", "t12"})
    failed = SqsDispatcher(sqs).dispatch_many(FLEET, [task(i) for i in range(15)])
    assert [t.task_id for t in failed] == ["t3", "t12"]


def test_batches_respect_the_request_size_limit() -> None:
    big = json.dumps({"blob": "x" * (MAX_BATCH_BYTES // 3)})
    groups = batches([task(i, big) for i in range(5)])
    assert [len(g) for g in groups] == [2, 2, 1]


def test_only_healthy_in_service_instances_count() -> None:
    group = {"Instances": [
        {"LifecycleState": "InService", "HealthStatus": "Healthy"},
        {"LifecycleState": "Pending", "HealthStatus": "Healthy"},
        {"LifecycleState": "InService", "HealthStatus": "Unhealthy"},
        {"LifecycleState": "InService"},
    ]}  # fmt: skip
    assert in_service(group) == 2
