"""One chaos run: the in-process system driven step by step on the clock, with faults everywhere."""

from __future__ import annotations

import contextlib
import logging
import os
import random
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from benchmarks.chaos.faults import ApiFaults
from benchmarks.chaos.invariants import invariants
from benchmarks.chaos.lambdas import LambdaRetries, Pending, SimulatedWorkers
from benchmarks.chaos.moves import TableMoves
from benchmarks.chaos.report import summary
from benchmarks.chaos.settings import (
    ASSISTANT,
    FLOW_PRIORITIES,
    ROLES,
    SCHEDULER_LEASE,
    START,
    STEP_SECONDS,
    TEMPLATE_RETRIES,
    ChaosSettings,
    flow_entries,
    tenant_of,
)


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
            job: dict[str, Any] = {"lambda_name": labourer, "job_id": f"chaos-{len(jobs)}",
                                   "payload": {"sections": sections, "isolate_sections": True}}  # fmt: skip
            if s.flow:  # a tenant for the keyed labourer, a priority for every labourer's queue
                turn = len(jobs) // s.labourers  # the labourer's own job count
                job["payload"]["tenant"] = tenant_of(turn)
                job["priority"] = FLOW_PRIORITIES[turn % len(FLOW_PRIORITIES)]
            jobs.append({"job": job})
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


def _start_marker(clients: Any, clock: Any) -> Callable[[dict[str, Any]], bool]:
    """ganger's Worker marking an attempt's start (its retries of a faulted write take no clock time)."""
    from ganger.worker import Worker

    worker = Worker(clients, ASSISTANT, sleep=lambda s: None, clock=clock)
    return worker.mark_start


def run_chaos(settings: ChaosSettings) -> dict[str, Any]:
    """One chaos run from an empty in-process system to its JSON summary."""
    from moto import mock_aws

    from benchmarks.chaos.contention import DENSITY, contended
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
    contention = contended(clock) if settings.contention else contextlib.nullcontext()
    with _environment(env), mock_aws(), fast_transactions(), fast_queries(), contention as model:
        system = InProcessSystem(clock=clock)
        faults = ApiFaults(
            settings.api_fault_rate, random.Random(settings.seed + 1), lost_response_share=settings.lost_response_share
        )
        faults.resends = settings.botocore_retries
        moves = TableMoves({f"chaos_{i}" for i in range(settings.labourers)})
        # inside out: the Lambda router, the fault layer, then what the essentials saw succeed
        with system.lam.installed(), faults.installed(), moves.installed():
            if settings.flow:
                system.deploy(labourers=flow_entries(labourer, settings.labourers))
            else:
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
            result = summary(chaos, steps, violations, time.perf_counter() - started)
            if model is not None:
                per_task = round(model.counts.conflicts / settings.tasks, 3)
                result["contention"] = {**model.counts.to_dict(), "density": DENSITY, "conflicts_per_task": per_task}
            return result


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
