"""The `ganger worker` process: one FleetWorker per slot on its own thread, and a stop that loses nothing.

``stop()`` (SIGTERM at scale-in) stops polling, waits up to the grace period for running tasks to
finish and report, then releases whatever still runs: its message becomes visible at once, so
another instance takes the same attempt over.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from ganger.clients import AwsClients
from ganger.fleet.dispatch import QueueUrls
from ganger.fleet.settings import FleetSettings, load_handler, queue_name
from ganger.fleet.worker import FleetWorker
from ganger.labourer import Labourer
from ganger.tasks import TaskStore

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class StopReport:
    finished: int  # slots that stopped on their own within the grace period
    released: int  # tasks handed back to the queue


class WorkerProcess:
    """``slots`` worker threads sharing one stop signal."""

    def __init__(self, workers: list[FleetWorker], grace_seconds: float, name: str = "ganger-worker") -> None:
        self.workers = workers
        self.grace_seconds = grace_seconds
        self.name = name
        self.stopping = threading.Event()
        self._threads: list[threading.Thread | None] = [None] * len(workers)

    def start(self) -> None:
        for index in range(len(self.workers)):
            self._start(index)

    def _start(self, index: int) -> None:
        thread = threading.Thread(
            target=self.workers[index].run, args=(self.stopping,), name=f"{self.name}-{index}", daemon=True
        )
        self._threads[index] = thread
        thread.start()

    def alive(self) -> int:
        return sum(1 for t in self._threads if t is not None and t.is_alive())

    def restart_dead(self) -> int:
        """Start again any slot whose thread died (systemd's Restart=always). Returns how many."""
        if self.stopping.is_set():
            return 0
        dead = [i for i, t in enumerate(self._threads) if t is not None and not t.is_alive()]
        for index in dead:
            logger.warning("%s: slot %d died; restarting it", self.name, index)
            self._start(index)
        return len(dead)

    def wait(self, poll_seconds: float = 1.0) -> None:
        """Block until ``stop`` is requested (the CLI's main thread)."""
        while not self.stopping.wait(poll_seconds):
            self.restart_dead()

    def stop(self, grace_seconds: float | None = None) -> StopReport:
        self.stopping.set()
        deadline = time.monotonic() + (self.grace_seconds if grace_seconds is None else grace_seconds)
        for thread in self._threads:
            if thread is not None:
                thread.join(max(0.0, deadline - time.monotonic()))
        released = sum(1 for worker in self.workers if worker.release())
        finished = sum(1 for t in self._threads if t is not None and not t.is_alive())
        logger.info("%s stopped: %d slots finished, %d tasks released", self.name, finished, released)
        return StopReport(finished, released)


def build_process(
    clients: AwsClients,
    labourer: Labourer,
    settings: FleetSettings,
    slots: int | None = None,
    clock: Callable[[], float] = time.time,
    name: str = "",
) -> WorkerProcess:
    """A process for one instance of the fleet (resolves the queue URL: one GetQueueUrl)."""
    handler = load_handler(settings.processor)
    url = QueueUrls(clients.sqs).url(queue_name(labourer))
    store = TaskStore(clients.dynamodb)
    count = slots if slots is not None else labourer.slots_per_instance
    workers = [FleetWorker(clients, store, labourer, settings, handler, url, clock) for _ in range(count)]
    return WorkerProcess(workers, settings.stop_grace_seconds, name or f"ganger-worker-{labourer.id}")
