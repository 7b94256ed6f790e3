"""The simulated Lambda side: worker runs that take time on the clock and end in a report, a crash or a
timeout, and Lambda's own retries of a failed asynchronous invocation."""

from __future__ import annotations

import heapq
import random
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from benchmarks.chaos.settings import FAULT_FATES, LAMBDA_RETRY_DELAYS, STEP_SECONDS, ChaosSettings


@dataclass(frozen=True)
class Run:
    """One worker run of one attempt, in clock seconds."""

    attempt: int
    start: float
    end: float
    fate: str


@dataclass(frozen=True)
class Pending:
    """Something a worker run does later on the clock: report, or end in a function error."""

    kind: str  # "report", or the fate that ends the run in an error: "crash", "timeout"
    event: dict[str, Any]  # the invocation's event (Lambda retries exactly this)
    report: dict[str, Any] | None = None


class LambdaRetries:
    """Lambda's retries of a failed Event invocation: 1 and 2 minutes later, up to MaximumRetryAttempts."""

    def __init__(self, attempts_by_role: dict[str, int], delays: tuple[float, ...] = LAMBDA_RETRY_DELAYS) -> None:
        self.attempts_by_role = attempts_by_role
        self.delays = delays
        self.pending: list[tuple[float, int, str, str, Any]] = []
        self.done: dict[int, int] = {}  # id(event) -> retries so far
        self.retried: Counter[str] = Counter()
        self.to_destination: Counter[str] = Counter()
        self._seq = 0

    def failed(self, role: str, function: str, event: Any, now: float, cause: str) -> bool:
        """An invocation of ``function`` failed at ``now``: True when Lambda will retry it."""
        done = self.done.get(id(event), 0)
        if done >= min(self.attempts_by_role.get(role, 2), len(self.delays)):
            self.to_destination[f"{role}:{cause}"] += 1
            return False
        self.done[id(event)] = done + 1
        self._seq += 1
        heapq.heappush(self.pending, (now + self.delays[done], self._seq, function, cause, event))
        self.retried[f"{role}:{cause}"] += 1
        return True

    def due(self, now: float) -> list[tuple[str, str, Any]]:
        ready = []
        while self.pending and self.pending[0][0] <= now:
            _, _, function, cause, event = heapq.heappop(self.pending)
            ready.append((function, cause, event))
        return ready


class SimulatedWorkers:
    """Worker Lambdas that take time on the clock: a run starts when invoked and reports when it ends."""

    def __init__(self, settings: ChaosSettings, clock: Callable[[], float], rng: random.Random) -> None:
        self.settings = settings
        self.clock = clock
        self.rng = rng
        self.runs: dict[str, list[Run]] = defaultdict(list)
        self.by_labourer: dict[str, list[Run]] = defaultdict(list)
        self.fates: Counter[str] = Counter()
        self.pending: list[tuple[float, int, Pending]] = []
        self._seq = 0
        self.mark_start: Callable[[dict[str, Any]], bool] | None = None  # ganger's Worker.mark_start

    def fate(self) -> str:
        roll = self.rng.random()
        fault_share = self.settings.worker_fault_rate / len(FAULT_FATES)
        for fate in FAULT_FATES:
            if roll < fault_share:
                return fate
            roll -= fault_share
        return "fail" if roll < self.settings.worker_fail_rate else "ok"

    def handler(self, event: dict[str, Any], context: Any) -> None:
        if self.mark_start is not None and event.get("mark_start") and not self.mark_start(event):
            self.fates["not_run_start_marked"] += 1  # repeated, given back, or its mark failed: no run
            return
        now = self.clock()
        s = self.settings
        fate = self.fate()
        self.fates[fate] += 1
        worked = self.rng.uniform(1.0, s.duration * 0.6)
        end = now + (s.duration if fate == "timeout" else worked)
        run = Run(int(event["attempts"]), now, end, fate)
        self.runs[event["task_id"]].append(run)
        self.by_labourer[event["labourer_id"]].append(run)
        report = {"task_id": event["task_id"], "invocation_token": event.get("invocation_token"),
                  "action": "mark_task_as_failed" if fate == "fail" else "mark_task_as_completed",
                  "stats": {"worked": round(worked, 3)}, "result": {"attempt": event["attempts"]}}  # fmt: skip
        if fate in ("ok", "fail"):
            self._later(end, Pending("report", event, report))
        elif fate == "twice":
            self._later(end, Pending("report", event, report))
            self._later(end + self.rng.uniform(0, 2 * STEP_SECONDS), Pending("report", event, report))
        elif fate == "late":
            at = now + s.duration + s.cooldown + self.rng.uniform(STEP_SECONDS, 10 * STEP_SECONDS)
            self._later(at, Pending("report", event, report))
        else:  # crash, timeout: the invocation ends in a function error, which Lambda may retry
            self._later(end, Pending(fate, event))

    def _later(self, at: float, pending: Pending) -> None:
        self._seq += 1
        heapq.heappush(self.pending, (at, self._seq, pending))

    def due(self, now: float) -> list[Pending]:
        ready = []
        while self.pending and self.pending[0][0] <= now:
            ready.append(heapq.heappop(self.pending)[2])
        return ready
