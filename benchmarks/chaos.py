"""Chaos run: many tasks, faults everywhere, then the invariants that say nothing was lost or run twice.

``python -m benchmarks.chaos --tasks 10000 --json``

The whole system runs in-process (moto, the essentials, simulated workers) on a settable clock:

- API faults: a share of the DynamoDB, SQS and Lambda calls made anywhere in the process raise
  ``ThrottlingException`` / ``ProvisionedThroughputExceededException`` / ``TooManyRequestsException``
  (a ``ClientError``) or botocore's ``ReadTimeoutError``. They are raised by the outermost wrapper of
  ``BaseClient._make_api_call``, above botocore's retry handler, so botocore does *not* retry them:
  every injected fault reaches ganger's code (harsher than AWS, where standard mode retries throttles).
- Worker faults: a share of worker runs crash before reporting, time out (run until Lambda's timeout
  and never report), report twice, or report late (after the task expired); a few report failure.
- Two Orchestrators and two Scavengers run at once, deterministically interleaved: the second runs
  between the first's read of the queue and its claim, so both act on the same stale read.
- The clock moves 20 s per step and sometimes jumps minutes ahead.
- A Scheduler run that fails is redelivered, as Lambda's async retry would, after its lease.
- Lambda's own retries of a failed asynchronous (Event) invocation are modelled on the simulated clock:
  a function error (a WorkerAssistant that raises, a worker that crashes, times out or raises because
  its report failed, a rule-triggered Orchestrator or Scavenger run that fails) is retried 1 and then
  2 minutes later, up to the function's ``MaximumRetryAttempts``; after that the event goes to the
  function's on-failure destination (counted, and for a report: lost). The defaults are the
  templates' EventInvokeConfig (``--lambda-retries``).
- Workers report through ganger's own ``Worker`` (its retry with backoff within the remaining time), and
  mark each attempt's start through it first (the labourers have ``marks_start``): an attempt whose Invoke
  timed out, or that expired, with no worker started is given back instead of counted.

Then, once quiet, the invariants: every task is in the closed table exactly once, completed or dead;
no task completed twice; no attempt of a task ran while another attempt of it was running; no task
used more than ``max_attempts``; never more workers of a labourer running at once than its cap;
nothing is left in the task or retry tables or in any queue; no attempt was consumed without a worker
run (a task's ``attempts`` is the number of attempts a worker ran); and every stat an essential
counted equals the table moves it counts (its successful writes and invokes, observed outside the
fault layer, so what the essential saw succeed).
"""

from __future__ import annotations

import argparse
import contextlib
import heapq
import io
import itertools
import json
import logging
import os
import random
import sys
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import botocore.client
from botocore.exceptions import ClientError, ReadTimeoutError

FAULTED_SERVICES = ("dynamodb", "sqs", "lambda")
THROTTLES = {
    "dynamodb": ("ThrottlingException", "ProvisionedThroughputExceededException"),
    "sqs": ("ThrottlingException",),
    "lambda": ("TooManyRequestsException", "ThrottlingException"),
}
START = 1_790_000_000.0
STEP_SECONDS = 20.0
SCHEDULER_LEASE = 60
WORKER_FATES = ("ok", "fail", "crash", "timeout", "twice", "late")
FAULT_FATES = ("crash", "timeout", "twice", "late")
# Lambda retries a failed Event invocation about 1 minute, then 2 minutes later.
LAMBDA_RETRY_DELAYS = (60.0, 120.0)
# MaximumRetryAttempts per role, as the templates' EventInvokeConfig sets them (yaml/, README "Lambda's own
# retries"): a labourer 0 (the Scavenger owns retries), the WorkerAssistant 2, the rule-run essentials 0.
TEMPLATE_RETRIES = {"worker": 0, "assistant": 2, "orchestrator": 0, "scavenger": 0}
ASSISTANT = "sosw_worker_assistant"
ROLES = {"sosw_orchestrator": "orchestrator", "sosw_scavenger": "scavenger", ASSISTANT: "assistant",
         "sosw_scheduler": "scheduler"}  # fmt: skip
# the table move (or invoke) -> the stats of an essential that count it; see TableMoves. A labourer's task is
# started by whichever essential frees or adds work (dispatch: the Orchestrator's "dispatched", any
# essential's "started", the WorkerAssistant's "handed_off"); an Invoke that timed out is in none of them.
STAT_MOVES: dict[str, dict[str, tuple[str, ...]]] = {
    "orchestrator": {"invoked": ("dispatched", "started"), "given_back": ("given_back",)},
    "scheduler": {"invoked": ("started",), "given_back": ("given_back",)},
    "scavenger": {"invoked": ("started",), "to_retry": ("retried",), "closed_dead": ("dead",),
                  "requeued": ("requeued",), "given_back": ("given_back",)},
    "assistant": {"invoked": ("handed_off", "started"), "closed_completed": ("completed",),
                  "to_retry": ("failed_retried",), "closed_dead": ("failed_dead",), "given_back": ("given_back",)},
}  # fmt: skip


@dataclass
class ChaosSettings:
    tasks: int = 1000
    labourers: int = 3
    tasks_per_job: int = 250
    api_fault_rate: float = 0.07
    lost_response_share: float = 0.0
    worker_fault_rate: float = 0.16  # crash, timeout, twice, late, shared equally
    worker_fail_rate: float = 0.03  # a reported failure (not counted as a fault)
    concurrency: int = 150
    duration: int = 60
    cooldown: int = 30
    max_attempts: int = 5
    jump_chance: float = 0.05
    interleave_chance: float = 0.5
    max_steps: int = 3000
    seed: int = 7
    lambda_retries: dict[str, int] = field(default_factory=lambda: dict(TEMPLATE_RETRIES))
    botocore_retries: int = 0  # >0: each faulted call is sent again up to this many times (standard mode)


@dataclass
class ApiFaults:
    """The outermost wrapper of ``_make_api_call``: raises a share of calls before they are sent."""

    rate: float
    rng: random.Random
    active: bool = False
    calls: int = 0
    lost_response_share: float = 0.0  # of the timeouts: raised after the call was done (its response lost)
    injected: Counter[str] = field(default_factory=Counter)
    by_service: Counter[str] = field(default_factory=Counter)
    resends: int = 0
    resent: int = 0

    def fault(self, service: str, operation: str) -> Exception:
        if self.rng.random() < 0.3:
            return ReadTimeoutError(endpoint_url=f"https://{service}.us-east-1.amazonaws.com/")
        code = self.rng.choice(THROTTLES[service])
        return ClientError({"Error": {"Code": code, "Message": "Rate exceeded (chaos)"}}, operation)

    def count(self, service: str, exc: Exception, after: bool) -> None:
        kind = exc.response["Error"]["Code"] if isinstance(exc, ClientError) else type(exc).__name__
        self.injected[f"{kind}{' (response lost)' if after else ''}"] += 1
        self.by_service[service] += 1

    @contextlib.contextmanager
    def installed(self) -> Iterator[ApiFaults]:
        original = botocore.client.BaseClient._make_api_call
        faults = self

        def _make_api_call(client: Any, operation_name: str, api_params: dict[str, Any]) -> Any:
            service = client.meta.service_model.service_name
            if not (faults.active and service in FAULTED_SERVICES):
                return original(client, operation_name, api_params)
            for attempt in range(faults.resends + 1):  # standard retry mode sends a faulted call again
                faults.calls += 1
                if faults.rng.random() >= faults.rate:
                    return original(client, operation_name, api_params)
                exc = faults.fault(service, operation_name)
                after = isinstance(exc, ReadTimeoutError) and faults.rng.random() < faults.lost_response_share
                faults.count(service, exc, after)
                if after:
                    original(client, operation_name, api_params)
                if attempt < faults.resends:
                    faults.resent += 1
            raise exc

        botocore.client.BaseClient._make_api_call = _make_api_call  # type: ignore[method-assign]
        try:
            yield self
        finally:
            botocore.client.BaseClient._make_api_call = original  # type: ignore[method-assign]

    @contextlib.contextmanager
    def paused(self) -> Iterator[None]:
        was, self.active = self.active, False
        try:
            yield
        finally:
            self.active = was


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


class TableMoves:
    """What the essentials really did, seen from outside the fault layer (the responses they received).

    Every successful write is classified by the table it changed and by the essential that was running:
    a Put into the closed table (completed or dead), into the retry table, or back into the tasks table
    (requeued); an Invoke of a labourer that was answered (a task started). ``STAT_MOVES`` maps the stats
    to these. Invokes run on a dispatch pool's threads are the running essential's."""

    def __init__(self, labourers: set[str]) -> None:
        from ganger.tasks import TableNames

        self.tables = TableNames()
        self.labourers = labourers
        self.roles: list[str] = []
        self.moves: Counter[tuple[str, str]] = Counter()
        self.invoke_timeouts: set[tuple[str, int]] = set()  # (task, attempt) whose dispatch timed out
        self.invoke_failures: set[tuple[str, int]] = set()  # (task, attempt) whose dispatch surely failed
        self.claims: defaultdict[str, list[str]] = defaultdict(list)  # task -> the essentials that claimed it

    @contextlib.contextmanager
    def running(self, role: str) -> Iterator[None]:
        self.roles.append(role)
        try:
            yield
        finally:
            self.roles.pop()

    @contextlib.contextmanager
    def installed(self) -> Iterator[TableMoves]:
        original = botocore.client.BaseClient._make_api_call
        moves = self

        def _make_api_call(client: Any, operation_name: str, api_params: dict[str, Any]) -> Any:
            try:
                result = original(client, operation_name, api_params)
            except ReadTimeoutError:
                moves.timed_out(operation_name, api_params)
                raise
            except Exception:
                moves.failed(operation_name, api_params)
                raise
            moves.note(operation_name, api_params)
            return result

        botocore.client.BaseClient._make_api_call = _make_api_call  # type: ignore[method-assign]
        try:
            yield self
        finally:
            botocore.client.BaseClient._make_api_call = original  # type: ignore[method-assign]

    def _count(self, move: str, n: int = 1) -> None:
        if self.roles:
            self.moves[(self.roles[-1], move)] += n

    def timed_out(self, operation: str, params: dict[str, Any]) -> None:
        if operation == "Invoke" and params.get("FunctionName") in self.labourers:
            self.invoke_timeouts.add(self._attempt(params))

    def failed(self, operation: str, params: dict[str, Any]) -> None:
        if operation == "Invoke" and params.get("FunctionName") in self.labourers:
            self.invoke_failures.add(self._attempt(params))

    @staticmethod
    def _attempt(params: dict[str, Any]) -> tuple[str, int]:
        event = json.loads(params.get("Payload") or b"{}")
        return str(event.get("task_id")), int(event.get("attempts", 0))

    def note(self, operation: str, params: dict[str, Any]) -> None:
        if operation == "Invoke":
            if params.get("FunctionName") in self.labourers:
                self._count("invoked")
            return
        if operation == "TransactWriteItems":
            for item in params.get("TransactItems", []):
                if "Put" in item:
                    self._put(item["Put"]["TableName"], item["Put"]["Item"])
                elif "Update" in item:
                    self._update(item["Update"])
        elif operation == "PutItem":
            self._put(params["TableName"], params["Item"])
        elif operation == "UpdateItem":
            self._update(params)

    def _update(self, update: dict[str, Any]) -> None:
        """A claim adds an attempt (``ADD attempts :one``); a release takes it back."""
        if update.get("TableName") != self.tables.tasks or "attempts" not in update.get("UpdateExpression", ""):
            return
        task_id = update.get("Key", {}).get("task_id", {}).get("S", "")
        values = update.get("ExpressionAttributeValues", {})
        if any(v.get("N") == "-1" for v in values.values() if isinstance(v, dict)):
            if self.claims[task_id]:
                self.claims[task_id].pop()
        elif self.roles:
            self.claims[task_id].append(self.roles[-1])

    def _put(self, table: str, item: dict[str, Any]) -> None:
        if table == self.tables.closed:
            status = item.get("labourer_id_task_status", {}).get("S", "")
            self._count("closed_completed" if status.endswith("_1") else "closed_dead")
        elif table == self.tables.retry:
            self._count("to_retry")
        elif table == self.tables.tasks and item.get("task_id", {}).get("S", "").startswith("chaos-"):
            self._count("requeued")
        elif table == self.tables.tasks and item.get("state", {}).get("S") == "abandoned":
            self._count("given_back")  # a start mark written by whoever gave the attempt back


@dataclass
class ChaosRun:
    settings: ChaosSettings
    clock: Any
    system: Any
    faults: ApiFaults
    workers: SimulatedWorkers
    rng: random.Random
    second_orchestrator: Any = None
    second_scavenger: Any = None
    completions: Counter[str] = field(default_factory=Counter)
    counters: Counter[str] = field(default_factory=Counter)
    retries: LambdaRetries = field(default_factory=lambda: LambdaRetries(dict(TEMPLATE_RETRIES)))
    moves: TableMoves = field(default_factory=lambda: TableMoves(set()))
    stats: Counter[tuple[str, str]] = field(default_factory=Counter)

    @property
    def labourer_ids(self) -> list[str]:
        return [f"chaos_{i}" for i in range(self.settings.labourers)]

    # ---- the system's parts --------------------------------------------------------------------

    def assistant(self, processor: Any) -> Callable[[Any, Any], Any]:
        counted = self.counted("assistant", processor)

        def handler(event: Any, context: Any) -> Any:
            result = counted(event, context)
            if isinstance(result, dict) and result.get("outcome") == "completed":
                self.completions[result["task_id"]] += 1
            return result

        return handler

    def counted(self, role: str, processor: Any) -> Callable[[Any, Any], Any]:
        """Run an essential as ``role``: its table moves are attributed to it, its stats summed (failed runs too)."""

        def handler(event: Any, context: Any) -> Any:
            with self.moves.running(role):
                try:
                    return processor(event, context)
                finally:
                    for key, value in processor.stats.items():
                        self.stats[(role, key)] += value

        return handler

    def safely(self, name: str, run: Callable[[], Any], function: str | None = None) -> Any:
        """A rule-triggered run that fails is a failed async invocation: Lambda may retry it (the rule also
        fires again next minute)."""
        try:
            return run()
        except Exception as exc:
            self.counters[f"{name}_failed_runs"] += 1
            logging.getLogger(__name__).debug("%s failed: %s", name, exc)
            if function is not None:
                self.retries.failed(ROLES[function], function, {}, self.clock(), "run_failed")
            return None

    def interleave(self, first: Any, method: str, second: Callable[[], Any]) -> None:
        """Make ``first``'s next read of ``method`` run ``second`` right after it: both act on that read."""
        store = first.store
        real = getattr(type(store), method).__get__(store)

        def read_then_let_the_other_run(*args: Any, **kwargs: Any) -> Any:
            result = real(*args, **kwargs)
            setattr(store, method, real)
            self.counters[f"interleaved_{method}"] += 1
            self.safely(f"second_{method}", second)
            return result

        setattr(store, method, read_then_let_the_other_run)

    def interleave_before(self, first: Any, method: str, second: Callable[[], Any]) -> None:
        """Run ``second`` just before ``first``'s next call of ``method``: ``first`` acts on what it read earlier."""
        store = first.store
        real = getattr(type(store), method).__get__(store)

        def let_the_other_run_first(*args: Any, **kwargs: Any) -> Any:
            setattr(store, method, real)
            self.counters[f"interleaved_before_{method}"] += 1
            self.safely(f"before_{method}", second)
            return real(*args, **kwargs)

        setattr(store, method, let_the_other_run_first)

    def essentials(self) -> None:
        system = self.system
        orchestrator, scavenger = system.essentials["sosw_orchestrator"], system.essentials["sosw_scavenger"]
        orchestrate, scavenge = "sosw_orchestrator", "sosw_scavenger"
        roll = self.rng.random()
        if roll < self.settings.interleave_chance / 2:
            # The Orchestrator has read its free slots and the queue; before it claims, the Scavenger puts due
            # retries at the front and starts them in those slots: other tasks than the ones it read.
            self.interleave_before(orchestrator, "claim", lambda: self.second_scavenger({}, None))
            self.safely("orchestrator", lambda: system.lam.run(orchestrate, {}), orchestrate)
            orchestrator.store.__dict__.pop("claim", None)
        elif roll < self.settings.interleave_chance:
            self.interleave(orchestrator, "queued", lambda: self.second_orchestrator({}, None))
            self.safely("orchestrator", lambda: system.lam.run(orchestrate, {}), orchestrate)
            orchestrator.store.__dict__.pop("queued", None)
        else:
            self.safely("orchestrator", lambda: system.lam.run(orchestrate, {}), orchestrate)
            self.safely("second_orchestrator", lambda: self.second_orchestrator({}, None), orchestrate)
        self.drain()
        if self.rng.random() < self.settings.interleave_chance:
            self.interleave(scavenger, "expired", lambda: self.second_scavenger({}, None))
            self.safely("scavenger", lambda: system.lam.run(scavenge, {}), scavenge)
            scavenger.store.__dict__.pop("expired", None)
        else:
            self.safely("second_scavenger", lambda: self.second_scavenger({}, None), scavenge)
            self.safely("scavenger", lambda: system.lam.run(scavenge, {}), scavenge)
        self.drain()

    def drain(self) -> None:
        """Run queued async invocations; a WorkerAssistant invocation that fails is retried as Lambda does."""
        lam = self.system.lam
        while lam.queue:
            before = len(lam.errors)
            lam.drain()
            for error in lam.errors[before:]:
                if error.function == ASSISTANT:
                    if not self.retries.failed("assistant", ASSISTANT, error.event, self.clock(), "function_error"):
                        self.counters["reports_lost_by_assistant"] += 1  # to the on-failure destination
                else:
                    self.counters[f"{error.function}_function_errors"] += 1

    def lambda_retries_due(self) -> None:
        """Lambda's retries that are due now: the same event, to the same function."""
        for function, cause, event in self.retries.due(self.clock()):
            if function in (ASSISTANT, *self.labourer_ids):
                if function != ASSISTANT:
                    self.counters["worker_reruns"] += 1
                    self.counters[f"worker_reruns_caused_by_{cause}"] += 1
                self.system.lam.queue.append((function, event))
            else:
                self.safely(f"retried_{ROLES[function]}", lambda function=function: self.system.lam.run(function, {}),
                            function)  # fmt: skip
        self.drain()

    def worker_ends(self, pending: Pending) -> None:
        """A worker run ends: it reports through ganger's Worker, or crashes / times out (a function error)."""
        function = str(pending.event["labourer_id"])
        if pending.report is None:
            self.retries.failed("worker", function, pending.event, self.clock(), pending.kind)
            return
        try:
            delivered = self.report(pending.event, pending.report)
        except Exception:  # the worker raised into the Lambda runtime: its invocation failed
            self.counters["worker_report_raises"] += 1
            self.retries.failed("worker", function, pending.event, self.clock(), "report_failures")
            return
        if not delivered:
            self.counters["reports_lost_by_worker"] += 1

    def report(self, event: dict[str, Any], report: dict[str, Any]) -> bool:
        """The worker's report, sent by ganger's ``Worker`` (backoff within the run's remaining time)."""
        from ganger.worker import Worker

        waited = [0.0]
        worker = Worker(self.system.clients, ASSISTANT, sleep=lambda s: waited.__setitem__(0, waited[0] + s),
                        monotonic=lambda: waited[0])  # fmt: skip
        worker.context = _Remaining(self.settings.duration * 0.4, waited)
        worker.stats.update(report.get("stats") or {})
        result = report.get("result") or {}
        if report["action"] == "mark_task_as_failed":
            return worker.report(report["action"], event, reason="failing on purpose (chaos)")
        return worker.report(report["action"], event, result=result)

    def schedule(self, job: dict[str, Any]) -> None:
        """Deliver a job until the Scheduler finishes it; after a failure, wait out its lease first."""
        while True:
            try:
                self.system.lam.run("sosw_scheduler", job)
                return
            except Exception:
                self.counters["scheduler_redeliveries"] += 1
                self.clock.advance(SCHEDULER_LEASE + 1)
                self.drain()

    # ---- the run -------------------------------------------------------------------------------

    def jobs(self) -> list[dict[str, Any]]:
        s = self.settings
        jobs, made = [], 0
        while made < s.tasks:
            size = min(s.tasks_per_job, s.tasks - made)
            labourer = self.labourer_ids[len(jobs) % s.labourers]
            sections = [f"s{made + i}" for i in range(size)]
            jobs.append({"job": {"lambda_name": labourer, "job_id": f"chaos-{len(jobs)}",
                                 "payload": {"sections": sections, "isolate_sections": True}}})  # fmt: skip
            made += size
        return jobs

    def remaining(self) -> int:
        with self.faults.paused():
            return live_rows(self.system, "sosw_tasks") + live_rows(self.system, "sosw_retry_tasks")

    def drive(self) -> int:
        jobs = self.jobs()
        self.faults.active = True
        steps = 0
        while steps < self.settings.max_steps:
            steps += 1
            if jobs:
                self.schedule(jobs.pop(0))
            for pending in self.workers.due(self.clock()):
                self.worker_ends(pending)
            self.drain()
            self.lambda_retries_due()
            self.essentials()
            jump = self.rng.random() < self.settings.jump_chance
            self.clock.advance(self.rng.uniform(120, 600) if jump else STEP_SECONDS)
            self.counters["clock_jumps"] += int(jump)
            quiet = not jobs and not self.workers.pending and not self.retries.pending
            if quiet and steps % 5 == 0 and self.remaining() == 0:
                break
        self.faults.active = False
        return steps


@dataclass
class _Remaining:
    """The worker's Lambda context at the moment it reports: the time its run has left."""

    seconds: float
    waited: list[float]

    def get_remaining_time_in_millis(self) -> int:
        return int((self.seconds - self.waited[0]) * 1000)


def live_rows(system: Any, table: str) -> int:
    from ganger.tasks import MARKER_PREFIX

    kwargs: dict[str, Any] = {"TableName": table, "Select": "COUNT", "FilterExpression": "NOT begins_with(task_id, :m)",
                              "ExpressionAttributeValues": {":m": {"S": MARKER_PREFIX}}}  # fmt: skip
    total = 0
    while True:
        page = system.clients.dynamodb.scan(**kwargs)
        total += page["Count"]
        if "LastEvaluatedKey" not in page:
            return total
        kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]


def overlapping(runs: list[Run]) -> list[tuple[Run, Run]]:
    """Pairs of runs of different attempts where one started before the other had ended."""
    ordered = sorted(runs, key=lambda r: (r.start, r.end))
    pairs = []
    for earlier, later in itertools.pairwise(ordered):
        if later.start < earlier.end:
            pairs.append((earlier, later))
    return pairs


def most_at_once(runs: list[Run]) -> int:
    """The most runs in progress at any moment (a run ending when another starts is not overlapping)."""
    edges = sorted([(r.start, 1) for r in runs] + [(r.end, -1) for r in runs])
    running = peak = 0
    for _, step in edges:
        running += step
        peak = max(peak, running)
    return peak


def invariants(chaos: ChaosRun, task_ids: list[str]) -> list[str]:
    """Every broken invariant, one line each (empty when the run was sound)."""
    from ganger.tasks import STATUS_COMPLETED, STATUS_DEAD

    system, s = chaos.system, chaos.settings
    violations: list[str] = []
    closed = system.scan("sosw_closed_tasks")
    by_id = Counter(r["task_id"] for r in closed)
    rows = {r["task_id"]: r for r in closed}
    for task_id in task_ids:
        if by_id[task_id] != 1:
            violations.append(f"{task_id}: in the closed table {by_id[task_id]} times")
            continue
        row = rows[task_id]
        status = row["labourer_id_task_status"].rsplit("_", 1)[-1]
        if status not in (STATUS_COMPLETED, STATUS_DEAD):
            violations.append(f"{task_id}: closed with status {status!r}")
        if row.get("attempts", 0) > s.max_attempts:
            violations.append(f"{task_id}: closed after {row['attempts']} attempts (max {s.max_attempts})")
        if chaos.completions[task_id] > 1:  # 0 is possible: a completion whose response was lost
            violations.append(f"{task_id}: completed {chaos.completions[task_id]} times")
        if status == STATUS_DEAD and chaos.completions[task_id]:
            violations.append(f"{task_id}: dead, yet a report completed it")
    unknown = set(by_id) - set(task_ids)
    violations += [f"{t}: closed but never scheduled" for t in sorted(unknown)]
    for task_id, runs in chaos.workers.runs.items():
        if max(r.attempt for r in runs) > s.max_attempts:
            violations.append(f"{task_id}: a worker ran attempt {max(r.attempt for r in runs)}")
        for a, b in overlapping(runs):
            violations.append(f"{task_id}: attempt {b.attempt} started at {b.start:.0f} while attempt "
                              f"{a.attempt} ran until {a.end:.0f}")  # fmt: skip
    for labourer, runs in chaos.workers.by_labourer.items():
        peak = most_at_once(runs)
        if peak > s.concurrency:
            violations.append(f"{labourer}: {peak} workers ran at once, above its cap of {s.concurrency}")
    for table in ("sosw_tasks", "sosw_retry_tasks"):
        left = system.scan(table)
        violations += [f"{r['task_id']}: left in {table}" for r in left]
    if system.lam.queue:
        violations.append(f"{len(system.lam.queue)} invocations left in the Lambda queue")
    violations += [f"{p.event['task_id']}: its worker never ended" for *_, p in chaos.workers.pending]
    violations += [f"{t}: attempt {a} was consumed without a worker run" + (" (its Invoke timed out)" if timed else "")
                   for t, a, timed in attempts_without_run(chaos, closed)]  # fmt: skip
    violations += stat_mismatches(chaos)
    return violations


def attempts_without_run(chaos: ChaosRun, closed: list[dict[str, Any]]) -> list[tuple[str, int, bool]]:
    """(task, attempt, its dispatch timed out) for each attempt a closed task used that no worker ran."""
    missing = []
    for row in closed:
        task_id = row["task_id"]
        ran = {r.attempt for r in chaos.workers.runs.get(task_id, [])}
        for attempt in range(1, int(row.get("attempts", 0)) + 1):
            if attempt not in ran:
                missing.append((task_id, attempt, (task_id, attempt) in chaos.moves.invoke_timeouts))
    return missing


def stat_mismatches(chaos: ChaosRun) -> list[str]:
    """Each stat (summed over every run of the essential, failed runs included) against the moves it counts."""
    lines = []
    for role, moves in STAT_MOVES.items():
        for move, stats in moves.items():
            counted, moved = sum(chaos.stats[(role, stat)] for stat in stats), chaos.moves.moves[(role, move)]
            if counted != moved:
                lines.append(f"{role} stat {' + '.join(stats)} = {counted}, but it made {moved} such moves ({move})")
    return lines


def _claimer(chaos: ChaosRun, task_id: str, attempt: int) -> str:
    """The essential whose claim made this attempt (claims not given back, in order)."""
    claims = chaos.moves.claims.get(task_id, [])
    return claims[attempt - 1] if attempt <= len(claims) else "unknown"


def _dispatch_outcome(chaos: ChaosRun, task_id: str, attempt: int) -> str:
    """What became of this attempt's Invoke: it timed out, it failed and the task was not released, or there
    was none (the claiming run stopped before dispatching)."""
    if (task_id, attempt) in chaos.moves.invoke_timeouts:
        return "invoke_timed_out"
    if (task_id, attempt) in chaos.moves.invoke_failures:
        return "invoke_failed_not_released"
    return "never_invoked"


def by_invariant(violations: list[str]) -> dict[str, int]:
    """The lifecycle invariants (lost, run twice, overlapping, left over) apart from the two about waste."""
    counts = Counter(
        "attempts_without_run" if "without a worker run" in line else "stats_equal_moves" if " stat " in line
        else "lifecycle"
        for line in violations
    )  # fmt: skip
    return {key: counts[key] for key in ("lifecycle", "attempts_without_run", "stats_equal_moves")}


def summary(chaos: ChaosRun, steps: int, violations: list[str], seconds: float) -> dict[str, Any]:
    closed = chaos.system.scan("sosw_closed_tasks")
    without_run = attempts_without_run(chaos, closed)
    counters = chaos.counters
    dead = sum(1 for r in closed if r["labourer_id_task_status"].endswith("_0"))
    runs = sum(len(r) for r in chaos.workers.runs.values())
    fates = chaos.workers.fates
    worker_faults = sum(fates[f] for f in FAULT_FATES)
    api = chaos.faults.injected
    api_total = sum(chaos.faults.by_service.values())
    return {
        "tasks": chaos.settings.tasks,
        "labourers": chaos.settings.labourers,
        "completed": len(closed) - dead,
        "dead": dead,
        "retries": sum(int(r.get("attempts", 1)) - 1 for r in closed),
        "worker_runs": runs,
        "worker_faults": {f: fates[f] for f in FAULT_FATES},
        "worker_fault_share": round(worker_faults / max(runs, 1), 4),
        "worker_failure_reports": fates["fail"],
        "api_calls": chaos.faults.calls,
        "api_faults": dict(sorted(api.items())),
        "api_faults_by_service": dict(sorted(chaos.faults.by_service.items())),
        "api_fault_share": round(api_total / max(chaos.faults.calls, 1), 4),
        "faults_retried_by_botocore": chaos.faults.resends > 0,
        "faulted_calls_sent_again": chaos.faults.resent,
        "worker_reruns_caused_by_report_failures": counters["worker_reruns_caused_by_report_failures"],
        "worker_report_raises": counters["worker_report_raises"],
        "attempts_without_run": len(without_run),
        "attempts_without_run_after_invoke_timeout": sum(1 for *_, timed in without_run if timed),
        "attempts_without_run_by_claimer": dict(
            sorted(Counter(_claimer(chaos, task, attempt) for task, attempt, _ in without_run).items())
        ),
        "attempts_without_run_by_dispatch": dict(
            sorted(Counter(_dispatch_outcome(chaos, task, attempt) for task, attempt, _ in without_run).items())
        ),
        "attempts_given_back": {
            role: chaos.stats[(role, "given_back")] for role in STAT_MOVES if chaos.stats[(role, "given_back")]
        },
        "deliveries_not_run_after_start_mark": fates["not_run_start_marked"],
        "reports_lost": counters["reports_lost_by_worker"] + counters["reports_lost_by_assistant"],
        "reports_lost_by": {
            "worker": counters["reports_lost_by_worker"],
            "assistant": counters["reports_lost_by_assistant"],
        },
        "lambda_async_retries": {
            "maximum_retry_attempts": chaos.settings.lambda_retries,
            "retried": dict(sorted(chaos.retries.retried.items())),
            "to_on_failure_destination": dict(sorted(chaos.retries.to_destination.items())),
        },
        "stats_against_moves": {
            f"{role}.{'+'.join(stats)}": {
                "stat": sum(chaos.stats[(role, stat)] for stat in stats),
                "moves": chaos.moves.moves[(role, move)],
            }
            for role, moves in STAT_MOVES.items()
            for move, stats in moves.items()
        },
        "events": dict(sorted(chaos.counters.items())),
        "steps": steps,
        "simulated_seconds": round(chaos.clock() - START),
        "most_workers_at_once": {k: most_at_once(v) for k, v in sorted(chaos.workers.by_labourer.items())},
        "cap": chaos.settings.concurrency,
        "violations": len(violations),
        "violations_by_invariant": by_invariant(violations),
        "violation_examples": violations[:20],
        "seconds": round(seconds, 1),
    }


def _start_marker(clients: Any, clock: Any) -> Callable[[dict[str, Any]], bool]:
    """ganger's Worker marking an attempt's start (its retries of a faulted write take no clock time)."""
    from ganger.worker import Worker

    worker = Worker(clients, ASSISTANT, sleep=lambda s: None, clock=clock)
    return worker.mark_start


def run_chaos(settings: ChaosSettings) -> dict[str, Any]:
    """One chaos run from an empty in-process system to its JSON summary."""
    from moto import mock_aws

    from benchmarks.harness import Clock, InProcessSystem
    from essentials.orchestrator import Orchestrator
    from essentials.scavenger import Scavenger
    from ganger.local.moto_index import fast_queries
    from ganger.local.moto_speed import fast_transactions

    started = time.perf_counter()
    rng = random.Random(settings.seed)
    clock = Clock(START)
    labourer = {"max_simultaneous_invocations": settings.concurrency, "duration": settings.duration,
                "cooldown": settings.cooldown, "max_attempts": settings.max_attempts, "marks_start": True,
                "retry": {"base_seconds": 5, "factor": 2, "cap_seconds": 120}}  # fmt: skip
    env = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_DEFAULT_REGION": "us-east-1"}
    with _environment(env), mock_aws(), fast_transactions(), fast_queries():
        system = InProcessSystem(clock=clock)
        faults = ApiFaults(
            settings.api_fault_rate, random.Random(settings.seed + 1), lost_response_share=settings.lost_response_share
        )
        faults.resends = settings.botocore_retries
        moves = TableMoves({f"chaos_{i}" for i in range(settings.labourers)})
        # inside out: the Lambda router, the fault layer, then what the essentials saw succeed
        with system.lam.installed(), faults.installed(), moves.installed():
            system.deploy(labourers={f"chaos_{i}": dict(labourer) for i in range(settings.labourers)})
            system.config.put("sosw_scheduler_config", {
                "job_schema_variants": {"default": {"chunkable_attrs": ["section"]}},
                "rows_per_step": 100, "lease_seconds": SCHEDULER_LEASE})  # fmt: skip
            workers = SimulatedWorkers(settings, clock, random.Random(settings.seed + 2))
            workers.mark_start = _start_marker(system.clients, clock)
            chaos = ChaosRun(settings, clock, system, faults, workers, rng, moves=moves,
                             retries=LambdaRetries(settings.lambda_retries))  # fmt: skip
            for name in chaos.labourer_ids:
                system.register_worker(name, workers.handler)
            system.register_worker(ASSISTANT, chaos.assistant(system.essentials[ASSISTANT]))
            for function in ("sosw_orchestrator", "sosw_scavenger", "sosw_scheduler"):
                system.register_worker(function, chaos.counted(ROLES[function], system.essentials[function]))
            common = {"clients": system.clients, "clock": clock}
            chaos.second_orchestrator = chaos.counted(
                "orchestrator", Orchestrator(function_name="sosw_orchestrator", **common)
            )
            chaos.second_scavenger = chaos.counted("scavenger", Scavenger(function_name="sosw_scavenger", **common))
            steps = chaos.drive()
            task_ids = [f"chaos-{j}-{i}" for j, job in enumerate(chaos.jobs())
                        for i in range(len(job["job"]["payload"]["sections"]))]  # fmt: skip
            violations = invariants(chaos, task_ids)
            if steps >= settings.max_steps:
                violations.append(f"not quiet after {steps} steps")
            return summary(chaos, steps, violations, time.perf_counter() - started)


@contextlib.contextmanager
def _environment(values: dict[str, str]) -> Iterator[None]:
    saved = {k: os.environ.get(k) for k in values}
    os.environ.update({k: v for k, v in values.items() if k not in os.environ})
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)


def _retries(text: str) -> dict[str, int]:
    retries = dict(TEMPLATE_RETRIES)
    for part in filter(None, (p.strip() for p in text.split(","))):
        role, _, value = part.partition("=")
        if role not in TEMPLATE_RETRIES or not value.isdigit() or int(value) > 2:
            raise SystemExit(
                f"--lambda-retries: expected ROLE=0..2 with ROLE in {sorted(TEMPLATE_RETRIES)}, got {part!r}"
            )
        retries[role] = int(value)
    return retries


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", type=int, default=1000)
    parser.add_argument("--labourers", type=int, default=3)
    parser.add_argument("--api-faults", type=float, default=ChaosSettings.api_fault_rate)
    parser.add_argument("--worker-faults", type=float, default=ChaosSettings.worker_fault_rate)
    parser.add_argument(
        "--lost-responses",
        type=float,
        default=0.0,
        help="share of the injected timeouts raised after the call took effect",
    )
    parser.add_argument("--concurrency", type=int, default=ChaosSettings.concurrency)
    parser.add_argument("--seed", type=int, default=ChaosSettings.seed)
    parser.add_argument(
        "--lambda-retries",
        default=",".join(f"{k}={v}" for k, v in TEMPLATE_RETRIES.items()),
        help="MaximumRetryAttempts of Lambda's async retries per role (worker, assistant, orchestrator, scavenger); "
        "default: the templates' EventInvokeConfig",
    )
    parser.add_argument(
        "--botocore-retries",
        type=int,
        default=0,
        help="send a faulted call again up to N times, as botocore's standard mode would (default 0: every "
        "injected fault reaches ganger's code)",
    )
    parser.add_argument("--json", action="store_true", help="print only the JSON summary")
    parser.add_argument("--out", help="also write the JSON summary to this file")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.CRITICAL if args.json else logging.ERROR)
    settings = ChaosSettings(tasks=args.tasks, labourers=args.labourers, api_fault_rate=args.api_faults,
                             worker_fault_rate=args.worker_faults, concurrency=args.concurrency,
                             seed=args.seed, lost_response_share=args.lost_responses,
                             lambda_retries=_retries(args.lambda_retries),
                             botocore_retries=args.botocore_retries)  # fmt: skip
    with contextlib.redirect_stdout(io.StringIO()):  # Powertools prints its EMF metrics to stdout
        result = run_chaos(settings)
    text = json.dumps(result, indent=2)
    if args.out:
        with open(args.out, "w") as out:
            out.write(text + "\n")
    print(text)
    return 0 if result["violations"] == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
