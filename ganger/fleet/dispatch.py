"""Dispatch to a fleet: claimed tasks go to the fleet's SQS queue with SendMessageBatch (10 per call)."""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Sequence
from typing import Any, Protocol

from botocore.exceptions import BotoCoreError, ClientError

from ganger.errors import DispatchError
from ganger.fleet.settings import queue_name
from ganger.labourer import Labourer
from ganger.tasks import Task

logger = logging.getLogger(__name__)
MAX_BATCH_ENTRIES = 10
MAX_BATCH_BYTES = 256 * 1024


class BatchDispatcher(Protocol):
    """A dispatcher that hands over many tasks per call; returns the tasks it could not deliver."""

    def dispatch_many(self, labourer: Labourer, tasks: Sequence[Task]) -> list[Task]: ...


def message_body(task: Task) -> str:
    """What a fleet worker receives: the same event a Lambda labourer gets (with the invocation token)."""
    return json.dumps(task.event(), separators=(",", ":"), default=str)


def batches(tasks: Sequence[Task]) -> list[list[tuple[Task, str]]]:
    """Groups of at most 10 messages and 256 KiB (SendMessageBatch's limits)."""
    groups: list[list[tuple[Task, str]]] = []
    size = 0
    for task in tasks:
        body = message_body(task)
        length = len(body.encode())
        if not groups or len(groups[-1]) == MAX_BATCH_ENTRIES or size + length > MAX_BATCH_BYTES:
            groups.append([])
            size = 0
        groups[-1].append((task, body))
        size += length
    return groups


class QueueUrls:
    """Queue URLs by name, looked up once per process (GetQueueUrl); a URL is used as it is."""

    def __init__(self, sqs: Any) -> None:
        self._sqs = sqs
        self._urls: dict[str, str] = {}
        self._lock = threading.Lock()

    def url(self, name_or_url: str) -> str:
        if name_or_url.startswith(("https://", "http://")):
            return name_or_url
        with self._lock:
            if name_or_url not in self._urls:
                self._urls[name_or_url] = self._sqs.get_queue_url(QueueName=name_or_url)["QueueUrl"]
            return self._urls[name_or_url]


class SqsDispatcher:
    """Sends claimed tasks to a fleet's queue. One SendMessageBatch per 10 tasks."""

    def __init__(self, sqs: Any, urls: QueueUrls | None = None) -> None:
        self._sqs = sqs
        self._urls = urls or QueueUrls(sqs)

    def dispatch(self, labourer: Labourer, task: Task) -> None:
        if self.dispatch_many(labourer, [task]):
            raise DispatchError(task.task_id, labourer.id, "SendMessageBatch did not accept the message")

    def dispatch_many(self, labourer: Labourer, tasks: Sequence[Task]) -> list[Task]:
        if not tasks:
            return []
        try:
            url = self._urls.url(queue_name(labourer))
        except (ClientError, BotoCoreError) as exc:
            logger.warning("fleet %s: no queue %s: %s", labourer.id, queue_name(labourer), exc)
            return list(tasks)
        failed: list[Task] = []
        for group in batches(tasks):
            failed.extend(self._send(labourer, url, group))
        return failed

    def _send(self, labourer: Labourer, url: str, group: list[tuple[Task, str]]) -> list[Task]:
        entries = [{"Id": str(i), "MessageBody": body} for i, (_, body) in enumerate(group)]
        try:
            response = self._sqs.send_message_batch(QueueUrl=url, Entries=entries)
        except (ClientError, BotoCoreError) as exc:
            logger.warning("fleet %s: SendMessageBatch of %d failed: %s", labourer.id, len(group), exc)
            return [task for task, _ in group]
        failed = response.get("Failed") or []
        for entry in failed:
            logger.warning("fleet %s: message %s refused: %s", labourer.id, entry.get("Id"), entry.get("Message"))
        return [group[int(entry["Id"])][0] for entry in failed]
