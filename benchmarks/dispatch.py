"""Dispatch under simulated time: event-driven dispatch beside the minute tick, on the same workloads.

    python -m benchmarks.dispatch --json [--chart benchmarks/results/dispatch.png] [--write]

The real essentials, slot counter and task store run on in-process moto with the repo's tables and
config; only time is simulated (``benchmarks/simlambda.py``): every Invoke takes 20 ms of its calling
thread, a worker runs for the workload's duration and then reports through the WorkerAssistant.

Modes: ``event`` (labourers with ``"dispatch": "event"``: tasks start when they are written, when a slot
frees up and when retries come due; the minute tick as the safety net) and ``tick`` (``"dispatch":
"tick"`` and one Invoke after another: only the Orchestrator's minute rule starts tasks, the sosw model
and ganger before event dispatch). The minute rules fire 30 s after the first job in both modes.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import botocore.client

from benchmarks.workload import prepare_environment, stdout_to_stderr
from ganger.billing import Meter

T0 = 1_800_000_000.0
TICK_PHASE = 30.0
WORKER = "bench_worker"
MODES = ("event", "tick")


@dataclass(frozen=True)
class Workload:
    name: str
    cap: int
    duration: float
    jobs: list[tuple[float, int]]  # (seconds after T0, tasks in the job)
    fanout: bool = False  # queue everything first, then one Orchestrator run starts it

    @property
    def tasks(self) -> int:
        return sum(n for _, n in self.jobs)


WORKLOADS = {
    "latency": Workload("latency", cap=10, duration=1.0, jobs=[(0.0, 3)]),
    "throughput": Workload("throughput", cap=100, duration=2.0, jobs=[(0.0, 2000)]),
    "burst": Workload("burst", cap=40, duration=1.0, jobs=[(i / 30, 1) for i in range(30 * 60)]),
    "fanout": Workload("fanout", cap=10_000, duration=600.0, jobs=[(0.0, 10_000)], fanout=True),
}


@dataclass
class Record:
    accepted: dict[str, float] = field(default_factory=dict)  # job id -> Scheduler run started
    starts: dict[str, float] = field(default_factory=dict)  # task id -> first worker start
    job_of: dict[str, str] = field(default_factory=dict)
    completions: list[float] = field(default_factory=list)
    intervals: list[tuple[float, float]] = field(default_factory=list)


def _percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))
    return ordered[index]


def _max_running(intervals: list[tuple[float, float]]) -> int:
    edges = sorted([(s, 1) for s, _ in intervals] + [(e, -1) for _, e in intervals], key=lambda x: (x[0], x[1]))
    running = peak = 0
    for _, step in edges:
        running += step
        peak = max(peak, running)
    return peak


def _labourer(workload: Workload, mode: str, cap: int | None = None) -> dict[str, Any]:
    return {WORKER: {"type": "lambda", "arn": WORKER, "max_simultaneous_invocations": workload.cap if cap is None
                     else cap, "duration": max(60, int(workload.duration * 3)), "cooldown": 30, "max_attempts": 3,
                     "retry": {"base_seconds": 1, "factor": 2, "cap_seconds": 60}, "dispatch": mode}}  # fmt: skip


def _job(workload: Workload, index: int, tasks: int) -> dict[str, Any]:
    payload = {"sections": [f"s{i}" for i in range(tasks)], "isolate_sections": True}
    return {"job": {"lambda_name": WORKER, "payload": payload}, "job_id": f"{workload.name}-{index}"}


def run(workload: Workload, mode: str, counter: Any = None) -> dict[str, Any]:
    """One workload in one mode, in a fresh in-process moto."""
    from moto import mock_aws

    from benchmarks.harness import CONFIG_DIR, deploy_tables
    from benchmarks.simlambda import SimClock, SimLambda
    from essentials.orchestrator import Orchestrator
    from essentials.scavenger import Scavenger
    from essentials.scheduler import Scheduler
    from essentials.worker_assistant import WorkerAssistant
    from examples.ganger_worker import ExampleWorker
    from ganger.clients import AwsClients
    from ganger.config import ConfigStore, load_folder
    from ganger.documents import validate
    from ganger.labourer import LABOURERS_DOCUMENT
    from ganger.local.moto_speed import fast_transactions

    record = Record()
    with mock_aws(), fast_transactions():
        import boto3

        clock = SimClock(T0)
        sim = SimLambda(clock)
        clients = AwsClients(region="us-east-1")
        deploy_tables(boto3.client("cloudformation", region_name="us-east-1"))
        config = ConfigStore(clients.dynamodb)
        load_folder(config, CONFIG_DIR, validate)
        config.put(LABOURERS_DOCUMENT, {"labourers": _labourer(workload, mode, 0 if workload.fanout else None)})
        common: dict[str, Any] = {"clients": clients, "clock": clock, "config_clock": clock}
        essentials = {
            "sosw_scheduler": Scheduler(function_name="sosw_scheduler", **common),
            "sosw_orchestrator": Orchestrator(function_name="sosw_orchestrator", **common),
            "sosw_scavenger": Scavenger(function_name="sosw_scavenger", **common),
            "sosw_worker_assistant": WorkerAssistant(function_name="sosw_worker_assistant", **common),
        }
        if mode == "tick":
            essentials["sosw_orchestrator"].dispatch_pool_size = 1
        worker = ExampleWorker(clients=clients)

        def scheduler(event: Any, context: Any) -> Any:
            record.accepted[event["job_id"]] = clock.now
            return essentials["sosw_scheduler"](event, context)

        def ticking(name: str) -> Any:
            def handler(event: Any, context: Any) -> Any:
                if not event and not workload.fanout:  # the minute rule: the next one in a minute
                    sim.at(clock.now + 60.0, name, {})
                return essentials[name](event, context)

            return handler

        def assistant(event: Any, context: Any) -> Any:
            result = essentials["sosw_worker_assistant"](event, context)
            if isinstance(result, dict) and result.get("outcome") == "completed":
                record.completions.append(clock.now)
            return result

        def bench_worker(event: Any, context: Any) -> Any:
            task_id = event["task_id"]
            record.starts.setdefault(task_id, clock.now)
            record.job_of[task_id] = event.get("job_id", "")
            record.intervals.append((clock.now, clock.now + workload.duration))
            return worker(event, context)

        sim.register("sosw_scheduler", scheduler)
        sim.register("sosw_orchestrator", ticking("sosw_orchestrator"))
        sim.register("sosw_scavenger", ticking("sosw_scavenger"))
        sim.register("sosw_worker_assistant", assistant)
        sim.register(WORKER, bench_worker, duration=workload.duration)
        for index, (offset, tasks) in enumerate(workload.jobs):
            sim.at(T0 + offset, "sosw_scheduler", _job(workload, index, tasks))
        if not workload.fanout:
            sim.at(T0 + TICK_PHASE, "sosw_orchestrator", {})
            sim.at(T0 + TICK_PHASE + 0.5, "sosw_scavenger", {})
        wall = time.perf_counter()
        meter = Meter()
        with sim.installed(), metered(meter), counter.installed() if counter is not None else contextlib.nullcontext():
            if workload.fanout:
                return _fanout(workload, mode, sim, clock, config, essentials, record, wall)
            _run_until_done(workload, sim, record)
        if sim.errors:
            raise RuntimeError(f"{len(sim.errors)} invocations failed, first: {sim.errors[0]}")
    figures = _figures(workload, mode, record, time.perf_counter() - wall, sim)
    figures["units"] = meter.units.to_dict()
    return figures


@contextlib.contextmanager
def metered(meter: Meter) -> Iterator[Meter]:
    """Meter the billable units of every AWS request made in this process while the block runs."""
    original = botocore.client.BaseClient._make_api_call

    def _make_api_call(client: Any, operation_name: str, api_params: dict[str, Any]) -> Any:
        response = original(client, operation_name, api_params)
        meter.record(client.meta.service_model.service_name, operation_name, api_params, response)
        return response

    botocore.client.BaseClient._make_api_call = _make_api_call
    try:
        yield meter
    finally:
        botocore.client.BaseClient._make_api_call = original


def _run_until_done(workload: Workload, sim: Any, record: Record) -> None:
    limit = T0 + 3600 * 6
    while len(record.completions) < workload.tasks:
        pending = sim.step()
        if pending is None or pending.at > limit:
            raise RuntimeError(
                f"{workload.name}: only {len(record.completions)} of {workload.tasks} completed; "
                f"errors {sim.errors[:2]}"
            )


def _fanout(workload: Workload, mode: str, sim: Any, clock: Any, config: Any, essentials: dict[str, Any],
            record: Record, wall: float) -> dict[str, Any]:  # fmt: skip
    """Queue every task with the labourer at cap 0, then raise the cap and let one Orchestrator run start them."""
    from ganger.labourer import LABOURERS_DOCUMENT

    while sim.next_at() is not None:
        sim.step()
    queued_at = clock.now
    config.put(LABOURERS_DOCUMENT, {"labourers": _labourer(workload, mode)}, expected_version=None)
    for processor in essentials.values():
        for cached in (processor._config, processor._labourers):
            if cached is not None:
                cached.invalidate()
    run_at = queued_at + 1.0
    sim.at(run_at, "sosw_orchestrator", {})
    sim.step()
    while sim.next_at() is not None and sim.next_at() <= run_at + 3600 and len(record.starts) < workload.tasks:
        sim.step()
    if len(record.starts) < workload.tasks:
        raise RuntimeError(f"fanout: only {len(record.starts)} of {workload.tasks} started by one run")
    spread = max(record.starts.values()) - run_at
    figures = _figures(workload, mode, record, time.perf_counter() - wall, sim, accepted_override=run_at)
    figures["dispatch_seconds"] = round(spread, 3)
    figures["dispatch_per_min"] = round(workload.tasks / spread * 60) if spread > 0 else None
    figures["pool_size"] = essentials["sosw_orchestrator"].dispatch_pool_size
    return figures


def _figures(workload: Workload, mode: str, record: Record, wall: float, sim: Any,
             accepted_override: float | None = None) -> dict[str, Any]:  # fmt: skip
    latencies = [
        start - (accepted_override if accepted_override is not None else record.accepted[record.job_of[task_id]])
        for task_id, start in record.starts.items()
    ]
    first = min(record.accepted.values()) if accepted_override is None else accepted_override
    last = max(record.completions) if record.completions else max(record.starts.values())
    makespan = last - first
    ideal = workload.cap / workload.duration
    if workload.name == "burst":
        ideal = min(ideal, len(workload.jobs) / (workload.jobs[-1][0] + 1 / 30))
    figures: dict[str, Any] = {
        "tasks": workload.tasks,
        "cap": workload.cap,
        "duration_s": workload.duration,
        "start_p50_s": round(_percentile(latencies, 0.5), 3),
        "start_p95_s": round(_percentile(latencies, 0.95), 3),
        "start_max_s": round(max(latencies), 3),
        "makespan_s": round(makespan, 3),
        "tasks_per_s": round(workload.tasks / makespan, 3) if makespan > 0 else None,
        "ideal_tasks_per_s": round(ideal, 3),
        "max_running": _max_running(record.intervals),
        "invocations": dict(sim.invocations),
        "wall_seconds": round(wall, 1),
    }
    if figures["tasks_per_s"] is not None:
        figures["of_ideal"] = round(figures["tasks_per_s"] / ideal, 3)
    if workload.name == "burst":  # still queued 1 s after the last photo arrived (the start-latency budget)
        end = T0 + workload.jobs[-1][0] + 1.0
        figures["backlog_at_end"] = sum(
            1 for task_id, start in record.starts.items() if start > end + 1e-9 and record.accepted[
                record.job_of[task_id]] <= end)  # fmt: skip
    figures["_series"] = {"latencies": latencies, "intervals": record.intervals, "t0": first}
    return figures


def run_all(workloads: list[str], modes: list[str]) -> dict[str, Any]:
    from benchmarks.counting import ApiCallCounter

    results: dict[str, Any] = {"modes": {m: {} for m in modes}}
    for mode in modes:
        for name in workloads:
            counter = ApiCallCounter() if name == "throughput" else None
            print(f"running {name} in {mode} mode ...", file=sys.stderr)
            figures = run(WORKLOADS[name], mode, counter)
            if counter is not None:
                total = counter.total()
                figures["calls"] = total
                figures["calls_per_task"] = round(total / WORKLOADS[name].tasks, 3)
                figures["calls_by_operation"] = counter.by_operation()
            results["modes"][mode][name] = figures
    event_throughput = results["modes"].get("event", {}).get("throughput")
    if event_throughput is not None:
        results["calls_per_task"] = event_throughput["calls_per_task"]
    return results


def strip_series(results: dict[str, Any]) -> dict[str, Any]:
    return {
        **results,
        "modes": {
            mode: {name: {k: v for k, v in fig.items() if k != "_series"} for name, fig in workloads.items()}
            for mode, workloads in results["modes"].items()
        },
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.dispatch", description=__doc__.split("\n\n")[0])
    parser.add_argument("--json", action="store_true", help="print the results as JSON")
    parser.add_argument("--workloads", default=",".join(WORKLOADS), help="comma-separated (default: all)")
    parser.add_argument("--modes", default=",".join(MODES), help="comma-separated: event,tick (default: both)")
    parser.add_argument("--chart", type=Path, help="draw the PNG chart (needs matplotlib) to this path")
    parser.add_argument("--write", type=Path, help="also write the JSON results to this file")
    args = parser.parse_args(argv)
    workloads = [w for w in args.workloads.split(",") if w]
    modes = [m for m in args.modes.split(",") if m]
    unknown = [w for w in workloads if w not in WORKLOADS] + [m for m in modes if m not in MODES]
    if unknown:
        parser.error(f"unknown workload or mode: {', '.join(unknown)}")
    prepare_environment()
    with stdout_to_stderr():
        results = run_all(workloads, modes)
        from ganger import cost

        results["usd_per_million_tasks"] = cost.dispatch_usd_per_million(results)
        if args.chart is not None:
            from benchmarks.dispatch_chart import draw

            draw(results, args.chart)
    clean = strip_series(results)
    clean["median_note"] = "simulated time: figures are exact for this model, not noisy wall-clock samples"
    text = json.dumps(clean, indent=1)
    if args.write is not None:
        args.write.write_text(text + "\n")
    print(text if args.json else _table(clean))
    return 0


def _table(results: dict[str, Any]) -> str:
    lines = [f"{'workload':<11} {'mode':<6} {'p50 s':>7} {'p95 s':>7} {'makespan':>9} {'tasks/s':>8} "
             f"{'ideal':>7} {'max run':>8} {'cap':>6}"]  # fmt: skip
    for mode, workloads in results["modes"].items():
        for name, f in workloads.items():
            lines.append(
                f"{name:<11} {mode:<6} {f['start_p50_s']:>7} {f['start_p95_s']:>7} {f['makespan_s']:>9} "
                f"{f['tasks_per_s']!s:>8} {f['ideal_tasks_per_s']:>7} {f['max_running']:>8} {f['cap']:>6}"
            )
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
