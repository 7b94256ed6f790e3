"""One worker slot of a fleet instance: long-poll the queue, run the processor, report, then delete.

The message is deleted only after the report was accepted; while the task runs a heartbeat keeps
the message hidden. A message whose task is no longer owned by its attempt (closed, retried with a
new token, or back in the queue) is deleted with a log line instead of being run again.
"""

from __future__ import annotations

import json
import logging
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from ganger.clients import AwsClients
from ganger.fleet.settings import FleetSettings, Handler
from ganger.labourer import Labourer
from ganger.tasks import TaskStore
from ganger.worker import ONE_ATTEMPT, Worker

logger = logging.getLogger(__name__)
AWS_ERRORS = (ClientError, BotoCoreError)


class WorkerKilled(BaseException):
    """Raised inside a task to emulate the instance dying (tests, local mode): no report, no delete, no release."""


@dataclass
class FleetContext:
    """The parts of a Lambda context a processor uses, for a task run on a fleet."""

    function_name: str
    aws_request_id: str
    timeout_seconds: float
    started: float = field(default_factory=time.monotonic)
    memory_limit_in_mb: int = 0
    function_version: str = "fleet"

    @property
    def invoked_function_arn(self) -> str:
        return f"fleet:{self.function_name}"

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self.timeout_seconds - (time.monotonic() - self.started)) * 1000))


@dataclass
class InFlight:
    receipt: str
    task_id: str
    released: bool = False


def parse_body(body: str) -> dict[str, Any] | None:
    """The task event in a message, or None when it is not one."""
    try:
        event = json.loads(body)
    except json.JSONDecodeError:
        return None
    if not isinstance(event, dict) or not isinstance(event.get("task_id"), str):
        return None
    return event


class Heartbeat:
    """Renews a message's visibility every ``interval`` seconds while a task runs."""

    def __init__(self, sqs: Any, queue_url: str, receipt: str, visibility: int, interval: float) -> None:
        self._sqs, self._url, self._receipt = sqs, queue_url, receipt
        self._visibility, self._interval = visibility, interval
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.beats = 0

    def __enter__(self) -> Heartbeat:
        self._thread = threading.Thread(target=self._run, name="ganger-heartbeat", daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()

    def _run(self) -> None:
        while not self._stop.wait(self._interval):
            try:
                self._sqs.change_message_visibility(
                    QueueUrl=self._url, ReceiptHandle=self._receipt, VisibilityTimeout=self._visibility
                )
                self.beats += 1
            except AWS_ERRORS as exc:
                logger.warning("could not extend the message's visibility: %s", exc)


class FleetWorker:
    """The loop of one slot. ``run(stop)`` polls until ``stop`` is set; ``release()`` gives the task back."""

    def __init__(
        self,
        clients: AwsClients,
        store: TaskStore,
        labourer: Labourer,
        settings: FleetSettings,
        handler: Handler,
        queue_url: str,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._sqs = clients.sqs
        self._store = store
        # One attempt (botocore's standard mode retries throttles below it): a report that fails leaves the
        # message undeleted, so SQS redelivers it after its visibility timeout.
        self._reporter = Worker(clients, settings.assistant_function, report_retry=ONE_ATTEMPT)
        self.labourer, self.settings, self.handler = labourer, settings, handler
        self.queue_url = queue_url
        self.clock = clock
        self.current: InFlight | None = None
        self._lock = threading.Lock()

    def run(self, stop: threading.Event) -> None:
        while not stop.is_set():
            try:
                self.poll(stop)
            except WorkerKilled:
                logger.error("fleet %s: worker killed mid-task; its message will reappear", self.labourer.id)
                return
            except AWS_ERRORS as exc:
                logger.warning("fleet %s: polling failed: %s", self.labourer.id, exc)
                stop.wait(1.0)

    def poll(self, stop: threading.Event | None = None) -> list[str]:
        """One ReceiveMessage and the task it brings. Returns the outcomes."""
        response = self._sqs.receive_message(
            QueueUrl=self.queue_url,
            MaxNumberOfMessages=1,
            WaitTimeSeconds=self.settings.wait_seconds,
            VisibilityTimeout=self.settings.visibility_timeout_seconds,
        )
        outcomes = []
        for message in response.get("Messages", []):
            if stop is not None and stop.is_set():
                self._change_visibility(message["ReceiptHandle"], 0)
                outcomes.append("released")
                continue
            outcomes.append(self.handle(message))
        return outcomes

    def handle(self, message: dict[str, Any]) -> str:
        receipt = message["ReceiptHandle"]
        event = parse_body(message.get("Body", ""))
        if event is None:
            logger.error("fleet %s: message %s is not a task; left for the dead-letter queue",
                         self.labourer.id, message.get("MessageId"))  # fmt: skip
            return "invalid"
        reason = self.not_owned_reason(event)
        if reason:
            logger.warning("fleet %s: dropping message for task %s: %s", self.labourer.id, event["task_id"], reason)
            self._delete(receipt)
            return "dropped"
        inflight = InFlight(receipt, event["task_id"])
        with self._lock:
            self.current = inflight
        try:
            with Heartbeat(self._sqs, self.queue_url, receipt, self.settings.visibility_timeout_seconds,
                           self.settings.heartbeat_seconds):  # fmt: skip
                outcome = self._run(event, message.get("MessageId") or uuid.uuid4().hex)
        finally:
            with self._lock:
                self.current = None
        if inflight.released:
            return "released"
        if outcome == "unreported":
            return outcome  # the message reappears after its visibility timeout and the attempt runs again
        self._delete(receipt)
        return outcome

    def not_owned_reason(self, event: dict[str, Any]) -> str:
        """Why this message's attempt no longer owns its task ("" when it does): one consistent GetItem."""
        task = self._store.get(event["task_id"])
        if task is None:
            return "the task is no longer live (closed or waiting for retry)"
        if task.is_queued(self.clock()):
            return "the task is back in the queue"
        token = event.get("invocation_token")
        if token is not None and token != task.invocation_token:
            return f"the attempt was superseded (the task is on attempt {task.attempts})"
        return ""

    def _run(self, event: dict[str, Any], request_id: str) -> str:
        name = self.settings.function_name or self.labourer.id
        context = FleetContext(name, request_id, float(self.labourer.duration))
        try:
            result = self.handler(event, context)
        except Exception as exc:
            logger.exception("fleet %s: task %s failed", self.labourer.id, event["task_id"])
            return self._report("mark_task_as_failed", event, reason=f"{type(exc).__name__}: {exc}")
        if self.settings.report == "worker":
            return self._report("mark_task_as_completed", event, result=result if isinstance(result, dict) else {})
        return "processed"

    def _report(self, action: str, event: dict[str, Any], result: dict[str, Any] | None = None,
                reason: str = "") -> str:  # fmt: skip
        if not self._reporter.report(action, event, result=result, reason=reason):
            return "unreported"  # the worker logged why; the message reappears and the attempt runs again
        return "failed" if action == "mark_task_as_failed" else "completed"

    def release(self) -> bool:
        """Make the running task's message visible again at once (scale-in); True when there was one."""
        with self._lock:
            inflight = self.current
            if inflight is None or inflight.released:
                return False
            inflight.released = True
        logger.warning("fleet %s: releasing task %s to another worker", self.labourer.id, inflight.task_id)
        self._change_visibility(inflight.receipt, 0)
        return True

    def _delete(self, receipt: str) -> None:
        try:
            self._sqs.delete_message(QueueUrl=self.queue_url, ReceiptHandle=receipt)
        except AWS_ERRORS as exc:
            logger.warning("fleet %s: could not delete a message: %s", self.labourer.id, exc)

    def _change_visibility(self, receipt: str, seconds: int) -> None:
        try:
            self._sqs.change_message_visibility(QueueUrl=self.queue_url, ReceiptHandle=receipt,
                                                VisibilityTimeout=seconds)  # fmt: skip
        except AWS_ERRORS as exc:
            logger.warning("fleet %s: could not change a message's visibility: %s", self.labourer.id, exc)
