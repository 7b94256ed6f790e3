"""A test processor for fleets, written as any worker Lambda (ganger's Worker: it reports itself).

Tests steer it per task id: ``CRASH_ONCE`` makes the first run die mid-task (``WorkerKilled``, as if
the instance vanished), ``GATES`` makes a run wait for an event. ``STARTS`` and ``RUNS`` count started
and finished runs.
"""

from __future__ import annotations

import threading
from collections import Counter
from typing import Any

from ganger.fleet.worker import WorkerKilled
from ganger.worker import Worker

RUNS: Counter[str] = Counter()
STARTS: Counter[str] = Counter()
STARTED: dict[str, threading.Event] = {}
CRASH_ONCE: set[str] = set()
GATES: dict[str, threading.Event] = {}
_lock = threading.Lock()
_local = threading.local()


def reset() -> None:
    RUNS.clear()
    STARTS.clear()
    STARTED.clear()
    CRASH_ONCE.clear()
    GATES.clear()


class FleetTestWorker(Worker):
    def process(self, event: dict[str, Any]) -> dict[str, Any] | None:
        task_id = event["task_id"]
        with _lock:
            STARTED.setdefault(task_id, threading.Event()).set()
            STARTS[task_id] += 1
            crash = task_id in CRASH_ONCE
            CRASH_ONCE.discard(task_id)
        if crash:
            raise WorkerKilled(task_id)
        gate = GATES.get(task_id)
        if gate is not None:
            gate.wait(30)
        with _lock:
            RUNS[task_id] += 1
        return {"sections": event.get("sections"), "attempt": event.get("attempts")}


def lambda_handler(event: dict[str, Any], context: Any) -> Any:
    worker = getattr(_local, "worker", None)
    if worker is None:
        worker = _local.worker = FleetTestWorker()
    return worker(event, context)
