"""One labourer at scale on DynamoDB as AWS runs it: today's single counter beside ganger's lanes.

    python -m benchmarks.scale --json [--workloads cap100,cap1k,cap10k] [--designs single,ganger]
                               [--write benchmarks/results/scale.json] [--chart benchmarks/results/scale.png] [--jobs N]

The real essentials (Scheduler, Orchestrator, WorkerAssistant, Scavenger), the task store and in-process
moto run on one simulated clock (``benchmarks/simtime.py``): every invocation is an actor, and every
DynamoDB request goes through the contention model (``ganger.local.contention``: transactions hold
their items, conflicting ones are cancelled, a key takes at most 1,000 write units a second) and takes
its time. Workers run for the workload's duration and report through ganger's ``Worker``.

Designs: ``single`` (one slot counter and one index key per labourer, every hand-off checking the
counter in its transaction: ganger before lanes) and ``ganger`` (the labourer's lanes, hand-offs that
touch no counter). ``single`` stops after 30 s of simulated steady state: it only has to show its ceiling.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import json
import os
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from benchmarks import scale_figures
from benchmarks.processes import default_jobs, run_in_processes
from benchmarks.scale_figures import T0, Record
from benchmarks.workload import prepare_environment, stdout_to_stderr

WORKER = "bench_worker"
JOB_SIZE = 1000  # tasks per job (an Event payload stays far below Lambda's 256 KB)
SINGLE_STEADY_SECONDS = 30.0


@dataclass(frozen=True)
class Workload:
    name: str
    cap: int
    duration: float
    tasks: int
    arrivals: tuple[tuple[float, int], ...] = ()  # (seconds after T0, tasks): jobs as they arrive; default all at 0

    @property
    def ideal_per_s(self) -> float:
        return self.cap / self.duration


WORKLOADS = {
    "cap100": Workload("cap100", 100, 1.0, 3_000),
    "cap1k": Workload("cap1k", 1_000, 1.0, 20_000),
    "cap10k": Workload("cap10k", 10_000, 2.0, 50_000),
    # start latency on the contending DynamoDB (not in the default run): an idle labourer, and photos arriving
    # 30 a second for 60 s into cap 40 (the dispatch benchmark's workloads)
    "latency": Workload("latency", 10, 1.0, 3, ((0.0, 3),)),
    "burst": Workload("burst", 40, 1.0, 1_800, tuple((i / 30, 1) for i in range(1_800))),
}
DEFAULT_WORKLOADS = ("cap100", "cap1k", "cap10k")
# labourer settings per design (fields the Labourer of this checkout does not know are left out)
DESIGNS: dict[str, dict[str, Any]] = {
    "single": {"lanes": 1, "handoff_guard": "transaction"},
    "ganger": {},
}


def labourer_document(workload: Workload, design: str) -> dict[str, Any]:
    from ganger.labourer import Labourer

    known = {f.name for f in dataclasses.fields(Labourer)}
    entry: dict[str, Any] = {
        "type": "lambda", "arn": WORKER, "max_simultaneous_invocations": workload.cap,
        "duration": max(60, int(workload.duration * 3)), "cooldown": 30, "max_attempts": 3,
        "retry": {"base_seconds": 1, "factor": 2, "cap_seconds": 60}, "dispatch": "event",
    }  # fmt: skip
    entry.update({k: v for k, v in DESIGNS[design].items() if k in known})
    return {WORKER: entry}


def _jobs(workload: Workload) -> list[tuple[float, dict[str, Any]]]:
    """(when, job): the workload's arrivals, or all its tasks at once in jobs of ``JOB_SIZE`` 10 ms apart."""
    arrivals = workload.arrivals or tuple(
        (index * 0.01, min(JOB_SIZE, workload.tasks - start))
        for index, start in enumerate(range(0, workload.tasks, JOB_SIZE))
    )
    jobs, first = [], 0
    for index, (offset, count) in enumerate(arrivals):
        payload = {"sections": [f"s{first + i}" for i in range(count)], "isolate_sections": True}
        jobs.append(
            (offset, {"job": {"lambda_name": WORKER, "payload": payload}, "job_id": f"{workload.name}-{index}"})
        )
        first += count
    return jobs


def run(workload: Workload, design: str, report: Callable[[dict[str, Any]], None] | None = None) -> dict[str, Any]:
    """One workload in one design, in a fresh in-process moto on a fresh simulated clock. ``report`` gets the
    figures before moto is torn down (a process of ``--jobs`` ends there)."""
    from moto import mock_aws

    from benchmarks.counting import ApiCallCounter
    from benchmarks.dispatch import metered
    from benchmarks.harness import CONFIG_DIR, deploy_tables
    from benchmarks.simtime import Sim, SimLambdas
    from essentials.orchestrator import Orchestrator
    from essentials.scavenger import Scavenger
    from essentials.scheduler import Scheduler
    from essentials.worker_assistant import WorkerAssistant
    from ganger.billing import Meter
    from ganger.clients import AwsClients
    from ganger.config import ConfigStore, load_folder
    from ganger.documents import validate
    from ganger.labourer import LABOURERS_DOCUMENT
    from ganger.local.contention import ContentionModel, ContentionParams
    from ganger.local.moto_contention import contending
    from ganger.local.moto_fast import fast_moto
    from ganger.local.moto_untracked import untracked_models
    from ganger.tasks import TaskStore

    record = Record()
    sim = Sim(T0)
    lambdas = SimLambdas(sim)
    model = ContentionModel({}, ContentionParams())
    counter, meter = ApiCallCounter(), Meter()
    with mock_aws(), fast_moto(), untracked_models():
        import boto3

        clients = AwsClients(region="us-east-1")
        deploy_tables(boto3.client("cloudformation", region_name="us-east-1"))
        config = ConfigStore(clients.dynamodb)
        load_folder(config, CONFIG_DIR, validate)
        config.put(LABOURERS_DOCUMENT, {"labourers": labourer_document(workload, design)})

        def container(cls: Any, name: str) -> Any:
            def factory() -> Any:
                processor = cls(function_name=name, clients=clients, clock=sim.clock, config_clock=sim.clock)
                processor._store = TaskStore(clients.dynamodb, sleep=sim.sleep)  # every backoff in simulated time
                return processor

            return factory

        for name, cls in (("sosw_orchestrator", Orchestrator), ("sosw_scavenger", Scavenger)):
            lambdas.register_containers(name, container(cls, name))
        schedulers = container(Scheduler, "sosw_scheduler")

        def scheduler_factory() -> Any:
            processor = schedulers()

            def handler(event: Any, context: Any) -> Any:
                record.accepted.setdefault(event.get("job_id", ""), sim.now)
                return processor(event, context)

            return handler

        lambdas.register_containers("sosw_scheduler", scheduler_factory)
        assistants = container(WorkerAssistant, "sosw_worker_assistant")

        def assistant_factory() -> Any:
            processor = assistants()

            def handler(event: Any, context: Any) -> Any:
                try:
                    result = processor(event, context)
                except Exception:
                    record.assistant_errors += 1
                    raise
                outcome = result.get("outcome", "?") if isinstance(result, dict) else "?"
                record.outcomes[outcome] += 1
                if outcome == "completed":
                    record.completions.append(sim.now)
                return result

            return handler

        lambdas.register_containers("sosw_worker_assistant", assistant_factory)
        lambdas.register(WORKER, _bench_worker(workload, sim, clients, record))
        for offset, job in _jobs(workload):
            lambdas.invoke_at(T0 + offset, "sosw_scheduler", job)
        for minute in range(0, 30):
            lambdas.invoke_at(T0 + 30 + 60 * minute, "sosw_orchestrator", {})
            lambdas.invoke_at(T0 + 30.5 + 60 * minute, "sosw_scavenger", {})
        wall = time.perf_counter()
        with contending(model, sim.clock, sim.elapse), lambdas.installed(), metered(meter), counter.installed(), \
                _collecting_rarely():  # fmt: skip
            sim.run_until(_finished(workload, design, record), limit=T0 + 1800)
            wall = time.perf_counter() - wall
            figures = scale_figures.figures(workload, design, record, sim, model, counter, meter, wall)
            if report is not None:
                report(figures)
            sim.close()  # the handlers still at work unwind while the mocks stand
    return figures


def _finished(workload: Workload, design: str, record: Record) -> Any:
    def done() -> bool:
        if len(record.completions) >= workload.tasks:
            return True
        if design == "single" and record.completions:
            return record.completions[-1] - record.completions[0] >= SINGLE_STEADY_SECONDS + workload.duration
        return False

    return done


def _bench_worker(workload: Workload, sim: Any, clients: Any, record: Record) -> Any:
    """A labourer that works ``duration`` seconds, then reports through ganger's Worker (its token and
    snapshot). Two actors per run (start, report) so that no thread waits out the work."""
    from examples.ganger_worker import ExampleWorker
    from ganger.worker import task_snapshot

    def handler(event: dict[str, Any], context: Any) -> None:
        record.starts[event["task_id"]].append(sim.now)
        record.job_of.setdefault(event["task_id"], str(event.get("job_id", "")))

        def report() -> None:
            worker = ExampleWorker(clients=clients, sleep=sim.sleep, monotonic=sim.clock, clock=sim.clock)
            worker.context = context
            worker._task = task_snapshot(event)  # what Worker.__call__ keeps for its report
            if not worker.report("mark_task_as_completed", event, result={"sum": 0, "count": 0}):
                record.reports_not_sent += 1

        sim.spawn(f"{WORKER}-report", report, at=sim.now + workload.duration)

    return handler


def run_all(workloads: list[str], designs: list[str], jobs: int = 1) -> dict[str, Any]:
    """Every (design, workload), in this process one after another (``jobs`` 1) or each in a process of its
    own, ``jobs`` at a time, longest first; the results come in the same shape and order either way."""
    from ganger.local.contention import ContentionParams

    results: dict[str, Any] = {"model": ContentionParams().to_dict(), "designs": {d: {} for d in designs}}
    pairs = [(design, name) for design in designs for name in workloads]
    figures: dict[tuple[str, str], dict[str, Any]] = {}
    if jobs > 1 and len(pairs) > 1:
        specs = [f"{design}:{name}" for design, name in pairs]
        done = run_in_processes("benchmarks.scale", specs, jobs, _expected_cost,
                                lambda spec, f: _progress(*spec.split(":"), f))  # fmt: skip
        figures = {tuple(spec.split(":")): f for spec, f in done.items()}  # type: ignore[misc]
    for design, name in pairs:
        if (design, name) not in figures:
            print(f"running {name} with the {design} design ...", file=sys.stderr, flush=True)
            figures[design, name] = run(WORKLOADS[name], design)
            _progress(design, name, figures[design, name])
        results["designs"][design][name] = figures[design, name]
    return results


def _progress(design: str, name: str, figures: dict[str, Any]) -> None:
    shown = {k: figures[k] for k in ("completions_per_s", "of_ideal", "max_running", "wall_s")}
    print(f"  {design} {name}: {json.dumps(shown)}", file=sys.stderr, flush=True)


def _expected_cost(spec: str) -> tuple[int, bool]:
    """Longest first: the most tasks, ganger before single at the same size (``single`` stops early)."""
    design, _, name = spec.partition(":")
    return (WORKLOADS[name].tasks, design == "ganger")


def _one(spec: str) -> int:
    """A child of ``--jobs``: one design:workload, its figures as JSON on stdout; the process then ends at
    once (moto's teardown would only free what the exit frees)."""
    design, _, name = spec.partition(":")
    prepare_environment()
    out = os.fdopen(os.dup(1), "w")  # stdout: the figures; what the systems print goes to stderr

    def exit_with(figures: dict[str, Any]) -> None:
        out.write(json.dumps(figures) + "\n")
        out.flush()
        os._exit(0)

    with stdout_to_stderr(), _quiet():
        run(WORKLOADS[name], design, report=exit_with)
    raise AssertionError("run returns only after its report")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.scale", description=__doc__.split("\n\n")[0])
    parser.add_argument("--json", action="store_true", help="print the results as JSON")
    choices = ", ".join(WORKLOADS)
    parser.add_argument("--workloads", default=",".join(DEFAULT_WORKLOADS),
                        help=f"comma-separated, of {choices} (default: {','.join(DEFAULT_WORKLOADS)})")  # fmt: skip
    parser.add_argument("--designs", default=",".join(DESIGNS), help="comma-separated: single,ganger")
    parser.add_argument("--jobs", type=int, default=default_jobs(),
                        help="run each design and workload in a process of its own, this many at a time, longest "
                        f"first; 1: all in this process, one after another (default: {default_jobs()}, the CPUs "
                        "this process may use, at most 4)")  # fmt: skip
    parser.add_argument("--write", type=Path, help="also write the JSON results to this file")
    parser.add_argument("--chart", type=Path, help="draw completions per second against cap (needs matplotlib)")
    parser.add_argument("--one", help=argparse.SUPPRESS)  # design:workload, for the processes of --jobs
    args = parser.parse_args(argv)
    workloads = [w for w in args.workloads.split(",") if w]
    designs = [d for d in args.designs.split(",") if d]
    if args.one:
        designs, workloads = [args.one.partition(":")[0]], [args.one.partition(":")[2]]
    unknown = [w for w in workloads if w not in WORKLOADS] + [d for d in designs if d not in DESIGNS]
    if unknown:
        parser.error(f"unknown workload or design: {', '.join(unknown)}")
    if args.jobs < 1:
        parser.error("--jobs must be at least 1")
    if args.one:
        return _one(args.one)
    prepare_environment()
    with stdout_to_stderr(), _quiet():
        results = run_all(workloads, designs, args.jobs)
    text = json.dumps(results, indent=1)
    if args.write is not None:
        args.write.write_text(text + "\n")
    if args.chart is not None:
        from benchmarks.scale_chart import draw

        draw(results, args.chart)
    print(text if args.json else _table(results))
    return 0


@contextlib.contextmanager
def _collecting_rarely() -> Iterator[None]:
    """A run makes millions of short-lived objects and few cycles: the collector's default thresholds spend
    about a tenth of its CPU walking what reference counting frees anyway."""
    import gc

    previous = gc.get_threshold()
    gc.set_threshold(200_000, 50, 1_000)
    try:
        yield
    finally:
        gc.set_threshold(*previous)


@contextlib.contextmanager
def _quiet() -> Iterator[None]:
    """Conflicts and throttles are expected here: ganger's warnings about them would drown the progress."""
    import logging

    previous = logging.root.manager.disable
    logging.disable(logging.WARNING)
    try:
        yield
    finally:
        logging.disable(previous)


def _table(results: dict[str, Any]) -> str:
    lines = [f"{'design':<7} {'workload':<8} {'per s':>8} {'ideal':>7} {'of ideal':>8} {'max run':>8} "
             f"{'confl/task':>10} {'$/M':>6}"]  # fmt: skip
    for design, workloads in results["designs"].items():
        for name, f in workloads.items():
            lines.append(f"{design:<7} {name:<8} {f['completions_per_s']:>8} {f['ideal_per_s']:>7} "
                         f"{f['of_ideal']:>8} {f['max_running']:>8} {f['conflicts_per_task']:>10} "
                         f"{f['usd_per_million_tasks']!s:>6}")  # fmt: skip
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
