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
- A Scheduler run that fails is redelivered, as Lambda's async retry would, after its lease; a failed
  WorkerAssistant invocation is retried twice, as Lambda retries an asynchronous invocation.

Then, once quiet, the invariants: every task is in the closed table exactly once, completed or dead;
no task completed twice; no attempt of a task ran while another attempt of it was running; no task
used more than ``max_attempts``; never more workers of a labourer running at once than its cap;
nothing is left in the task or retry tables or in any queue.
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
            if faults.active and service in FAULTED_SERVICES:
                faults.calls += 1
                if faults.rng.random() < faults.rate:
                    exc = faults.fault(service, operation_name)
                    after = isinstance(exc, ReadTimeoutError) and faults.rng.random() < faults.lost_response_share
                    faults.count(service, exc, after)
                    if after:
                        original(client, operation_name, api_params)
                    raise exc
            return original(client, operation_name, api_params)

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


class SimulatedWorkers:
    """Worker Lambdas that take time on the clock: a run starts when invoked and reports when it ends."""

    def __init__(self, settings: ChaosSettings, clock: Callable[[], float], rng: random.Random) -> None:
        self.settings = settings
        self.clock = clock
        self.rng = rng
        self.runs: dict[str, list[Run]] = defaultdict(list)
        self.by_labourer: dict[str, list[Run]] = defaultdict(list)
        self.fates: Counter[str] = Counter()
        self.pending: list[tuple[float, int, dict[str, Any]]] = []
        self._seq = 0

    def fate(self) -> str:
        roll = self.rng.random()
        fault_share = self.settings.worker_fault_rate / len(FAULT_FATES)
        for fate in FAULT_FATES:
            if roll < fault_share:
                return fate
            roll -= fault_share
        return "fail" if roll < self.settings.worker_fail_rate else "ok"

    def handler(self, event: dict[str, Any], context: Any) -> None:
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
            self._later(end, report)
        elif fate == "twice":
            self._later(end, report)
            self._later(end + self.rng.uniform(0, 2 * STEP_SECONDS), report)
        elif fate == "late":
            self._later(now + s.duration + s.cooldown + self.rng.uniform(STEP_SECONDS, 10 * STEP_SECONDS), report)

    def _later(self, at: float, report: dict[str, Any]) -> None:
        self._seq += 1
        heapq.heappush(self.pending, (at, self._seq, report))

    def due(self, now: float) -> list[dict[str, Any]]:
        reports = []
        while self.pending and self.pending[0][0] <= now:
            reports.append(heapq.heappop(self.pending)[2])
        return reports


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
    wa_retries: dict[int, int] = field(default_factory=dict)

    @property
    def labourer_ids(self) -> list[str]:
        return [f"chaos_{i}" for i in range(self.settings.labourers)]

    # ---- the system's parts --------------------------------------------------------------------

    def assistant(self, processor: Any) -> Callable[[Any, Any], Any]:
        def handler(event: Any, context: Any) -> Any:
            result = processor(event, context)
            if isinstance(result, dict) and result.get("outcome") == "completed":
                self.completions[result["task_id"]] += 1
            return result

        return handler

    def safely(self, name: str, run: Callable[[], Any]) -> Any:
        """A scheduled run that fails is just a failed run (the rule fires again next minute)."""
        try:
            return run()
        except Exception as exc:
            self.counters[f"{name}_failed_runs"] += 1
            logging.getLogger(__name__).debug("%s failed: %s", name, exc)
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
        roll = self.rng.random()
        if roll < self.settings.interleave_chance / 2:
            # The Orchestrator has read its free slots and the queue; before it claims, the Scavenger puts due
            # retries at the front and starts them in those slots: other tasks than the ones it read.
            self.interleave_before(orchestrator, "claim", lambda: self.second_scavenger({}, None))
            self.safely("orchestrator", lambda: system.lam.run("sosw_orchestrator", {}))
            orchestrator.store.__dict__.pop("claim", None)
        elif roll < self.settings.interleave_chance:
            self.interleave(orchestrator, "queued", lambda: self.second_orchestrator({}, None))
            self.safely("orchestrator", lambda: system.lam.run("sosw_orchestrator", {}))
            orchestrator.store.__dict__.pop("queued", None)
        else:
            self.safely("orchestrator", lambda: system.lam.run("sosw_orchestrator", {}))
            self.safely("second_orchestrator", lambda: self.second_orchestrator({}, None))
        self.drain()
        if self.rng.random() < self.settings.interleave_chance:
            self.interleave(scavenger, "expired", lambda: self.second_scavenger({}, None))
            self.safely("scavenger", lambda: system.lam.run("sosw_scavenger", {}))
            scavenger.store.__dict__.pop("expired", None)
        else:
            self.safely("second_scavenger", lambda: self.second_scavenger({}, None))
            self.safely("scavenger", lambda: system.lam.run("sosw_scavenger", {}))
        self.drain()

    def drain(self) -> None:
        """Run queued async invocations; retry a failed WorkerAssistant invocation twice, as Lambda does."""
        lam = self.system.lam
        while lam.queue:
            before = len(lam.errors)
            lam.drain()
            for error in lam.errors[before:]:
                if error.function != "sosw_worker_assistant":
                    continue
                key = id(error.event)
                if self.wa_retries.get(key, 0) < 2:
                    self.wa_retries[key] = self.wa_retries.get(key, 0) + 1
                    self.counters["assistant_async_retries"] += 1
                    lam.queue.append((error.function, error.event))

    def report(self, report: dict[str, Any]) -> None:
        """The worker's own Invoke of the WorkerAssistant; when it fails, the report is lost."""
        try:
            self.system.clients.lambda_.invoke(
                FunctionName="sosw_worker_assistant", InvocationType="Event", Payload=json.dumps(report).encode()
            )
        except Exception:
            self.counters["reports_lost"] += 1

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
            for report in self.workers.due(self.clock()):
                self.report(report)
            self.drain()
            self.essentials()
            jump = self.rng.random() < self.settings.jump_chance
            self.clock.advance(self.rng.uniform(120, 600) if jump else STEP_SECONDS)
            self.counters["clock_jumps"] += int(jump)
            if not jobs and not self.workers.pending and steps % 5 == 0 and self.remaining() == 0:
                break
        self.faults.active = False
        return steps


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
    violations += [f"{r['task_id']}: its report was never delivered" for *_, r in chaos.workers.pending]
    return violations


def summary(chaos: ChaosRun, steps: int, violations: list[str], seconds: float) -> dict[str, Any]:
    closed = chaos.system.scan("sosw_closed_tasks")
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
        "faults_retried_by_botocore": False,
        "events": dict(sorted(chaos.counters.items())),
        "steps": steps,
        "simulated_seconds": round(chaos.clock() - START),
        "most_workers_at_once": {k: most_at_once(v) for k, v in sorted(chaos.workers.by_labourer.items())},
        "cap": chaos.settings.concurrency,
        "violations": len(violations),
        "violation_examples": violations[:20],
        "seconds": round(seconds, 1),
    }


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
                "cooldown": settings.cooldown, "max_attempts": settings.max_attempts,
                "retry": {"base_seconds": 5, "factor": 2, "cap_seconds": 120}}  # fmt: skip
    env = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_DEFAULT_REGION": "us-east-1"}
    with _environment(env), mock_aws(), fast_transactions(), fast_queries():
        system = InProcessSystem(clock=clock)
        faults = ApiFaults(
            settings.api_fault_rate, random.Random(settings.seed + 1), lost_response_share=settings.lost_response_share
        )
        with system.lam.installed(), faults.installed():
            system.deploy(labourers={f"chaos_{i}": dict(labourer) for i in range(settings.labourers)})
            system.config.put("sosw_scheduler_config", {
                "job_schema_variants": {"default": {"chunkable_attrs": ["section"]}},
                "rows_per_step": 100, "lease_seconds": SCHEDULER_LEASE})  # fmt: skip
            workers = SimulatedWorkers(settings, clock, random.Random(settings.seed + 2))
            chaos = ChaosRun(settings, clock, system, faults, workers, rng)
            for name in chaos.labourer_ids:
                system.register_worker(name, workers.handler)
            system.register_worker("sosw_worker_assistant", chaos.assistant(system.essentials["sosw_worker_assistant"]))
            common = {"clients": system.clients, "clock": clock}
            chaos.second_orchestrator = Orchestrator(function_name="sosw_orchestrator", **common)
            chaos.second_scavenger = Scavenger(function_name="sosw_scavenger", **common)
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
    parser.add_argument("--json", action="store_true", help="print only the JSON summary")
    parser.add_argument("--out", help="also write the JSON summary to this file")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.CRITICAL if args.json else logging.ERROR)
    settings = ChaosSettings(tasks=args.tasks, labourers=args.labourers, api_fault_rate=args.api_faults,
                             worker_fault_rate=args.worker_faults, concurrency=args.concurrency,
                             seed=args.seed, lost_response_share=args.lost_responses)  # fmt: skip
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
