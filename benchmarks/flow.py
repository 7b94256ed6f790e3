"""Flow control under simulated time: keys, rates, priorities, pause and delayed tasks (issue 22's benchmark).

    python -m benchmarks.flow --json [--workloads noisy_neighbour,per_key_cap,rate,priority,pause,delayed] [--scale 1.0]
                              [--write benchmarks/results/flow.json]

Each workload runs the real essentials (Scheduler, Orchestrator, WorkerAssistant, Scavenger) with ganger's
``Worker`` reporting, on one simulated clock and the contending DynamoDB (``benchmarks.scale``'s machinery:
``benchmarks/simtime.py`` actors, ``ganger.local.contention``), and prints
``{"workloads": {...}, "usd_per_million_tasks": x, "checks": {...}}``. A workload is one function registered in
``WORKLOADS``: it gets a ``Scale`` (``--scale`` below 1 shrinks the task counts, for the fast test) and returns
its figures; ``CHECKS`` holds the issue's "Done when" threshold of each.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from benchmarks.scale import WORKER, _bench_worker, _quiet
from benchmarks.scale_figures import T0, Record
from benchmarks.workload import prepare_environment, stdout_to_stderr


@dataclass(frozen=True)
class Scale:
    """Task counts are multiplied by ``factor`` (at least ``floor`` each)."""

    factor: float = 1.0

    def n(self, count: int, floor: int = 10) -> int:
        return max(floor, int(count * self.factor))


@dataclass
class Run:
    """What one simulated run saw: the record of starts and completions, the units billed, the simulator."""

    record: Record
    sim: Any
    meter: Any
    model: Any
    marks: dict[str, float] = field(default_factory=dict)  # named moments (pause returned, resume issued ...)

    def first_starts(self) -> dict[str, float]:
        return {task: runs[0] for task, runs in self.record.starts.items()}


@dataclass
class Spec:
    labourer: dict[str, Any]
    jobs: list[tuple[float, dict[str, Any]]]
    duration: float
    done: Callable[[Run], bool]
    limit_s: float = 900.0
    actions: list[tuple[float, str, Callable[[Any, Run], None]]] = field(default_factory=list)
    wake_ahead_seconds: float = 62.0


def labourer_entry(cap: int, duration: float, **extra: Any) -> dict[str, Any]:
    return {"type": "lambda", "arn": WORKER, "max_simultaneous_invocations": cap,
            "duration": max(60, int(duration * 3)), "cooldown": 30, "max_attempts": 3,
            "retry": {"base_seconds": 1, "factor": 2, "cap_seconds": 60}, "dispatch": "event", **extra}  # fmt: skip


def job(job_id: str, first: int, count: int, **fields: Any) -> dict[str, Any]:
    payload = {"sections": [f"s{first + i}" for i in range(count)], "isolate_sections": True}
    return {"job": {"lambda_name": WORKER, "payload": payload, **fields}, "job_id": job_id}


def jobs_of(prefix: str, at: float, tasks: int, size: int = 1000, **fields: Any) -> list[tuple[float, dict[str, Any]]]:
    """``tasks`` tasks in jobs of ``size``, 10 ms apart from ``at``."""
    return [(at + i * 0.01, job(f"{prefix}-{i}", start, min(size, tasks - start), **fields))
            for i, start in enumerate(range(0, tasks, size))]  # fmt: skip


def simulate(spec: Spec) -> Run:
    """One run in a fresh in-process moto on a fresh simulated clock (as ``benchmarks.scale.run``)."""
    from moto import mock_aws

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
    from ganger.tasks import TaskStore

    sim = Sim(T0)
    lambdas = SimLambdas(sim)
    run = Run(Record(), sim, Meter(), ContentionModel({}, ContentionParams()))
    record = run.record
    with mock_aws(), fast_moto():
        import boto3

        clients = AwsClients(region="us-east-1")
        deploy_tables(boto3.client("cloudformation", region_name="us-east-1"))
        config = ConfigStore(clients.dynamodb)
        load_folder(config, CONFIG_DIR, validate)
        scavenger = config.get("sosw_scavenger_config")
        value = scavenger.value if scavenger is not None else {}
        config.put("sosw_scavenger_config", {**value, "wake_ahead_seconds": spec.wake_ahead_seconds})
        config.put(LABOURERS_DOCUMENT, {"labourers": {WORKER: spec.labourer}})

        def container(cls: Any, name: str, wrap: Callable[[Any], Any] | None = None) -> Callable[[], Any]:
            def factory() -> Any:
                processor = cls(function_name=name, clients=clients, clock=sim.clock, config_clock=sim.clock)
                processor._store = TaskStore(clients.dynamodb, sleep=sim.sleep)  # every wait in simulated time
                return processor if wrap is None else wrap(processor)

            return factory

        def accepting(processor: Any) -> Any:
            def handler(event: Any, context: Any) -> Any:
                record.accepted.setdefault(event.get("job_id", ""), sim.now)
                return processor(event, context)

            return handler

        def reporting(processor: Any) -> Any:
            def handler(event: Any, context: Any) -> Any:
                result = processor(event, context)
                outcome = result.get("outcome", "?") if isinstance(result, dict) else "?"
                record.outcomes[outcome] += 1
                if outcome == "completed":
                    record.completions.append(sim.now)
                return result

            return handler

        lambdas.register_containers("sosw_orchestrator", container(Orchestrator, "sosw_orchestrator"))
        lambdas.register_containers("sosw_scavenger", container(Scavenger, "sosw_scavenger"))
        lambdas.register_containers("sosw_scheduler", container(Scheduler, "sosw_scheduler", accepting))
        lambdas.register_containers("sosw_worker_assistant", container(WorkerAssistant, "sosw_worker_assistant",
                                                                        reporting))  # fmt: skip
        lambdas.register(WORKER, _bench_worker(_Duration(spec.duration), sim, clients, record))
        for offset, body in spec.jobs:
            lambdas.invoke_at(T0 + offset, "sosw_scheduler", body)
        for minute in range(int(spec.limit_s // 60) + 1):
            lambdas.invoke_at(T0 + 30 + 60 * minute, "sosw_orchestrator", {})
            lambdas.invoke_at(T0 + 30.5 + 60 * minute, "sosw_scavenger", {})
        for offset, name, action in spec.actions:
            sim.spawn(name, lambda action=action: action(clients, run), at=T0 + offset)  # type: ignore[misc]
        with contending(run.model, sim.clock, sim.elapse), lambdas.installed(), metered(run.meter):
            sim.run_until(lambda: spec.done(run), limit=T0 + spec.limit_s)
    return run


@dataclass(frozen=True)
class _Duration:
    duration: float


def _p95(values: list[float]) -> float | None:
    ordered = sorted(values)
    return round(ordered[int(0.95 * (len(ordered) - 1))], 3) if ordered else None


def max_in_window(times: list[float], window: float = 1.0) -> int:
    """The most starts in any half-open window [t, t + window)."""
    ordered, best, low = sorted(times), 0, 0
    for high, at in enumerate(ordered):
        while ordered[low] <= at - window:
            low += 1
        best = max(best, high - low + 1)
    return best


def _common(run: Run) -> dict[str, Any]:
    units = run.meter.units.to_dict()
    return {
        "completed": len(run.record.completions),
        "started": len(run.record.starts),
        "units": units,
        "conflicts": run.model.counts.conflicts,
        "errors": run.sim.errors[:3],
        "simulated_s": round(run.sim.now - T0, 2),
    }


# ---- the workloads ---------------------------------------------------------------------------------------


def rate(scale: Scale) -> dict[str, Any]:
    """Cap 1,000, rate 50 a second with burst 50, 5,000 tasks of 0.1 s."""
    per_second, burst, tasks = 50.0, 50, scale.n(5000, floor=300)
    spec = Spec(labourer_entry(1000, 0.1, rate={"per_second": per_second, "burst": burst}),
                jobs_of("rate", 0.0, tasks), 0.1, lambda run: len(run.record.completions) >= tasks,
                limit_s=tasks / per_second + 120)  # fmt: skip
    run = simulate(spec)
    starts = sorted(run.first_starts().values())
    first, last = (starts[0], starts[-1]) if starts else (T0, T0)
    steady = [t for t in starts if t >= first + 1.0]
    achieved = len(steady) / (last - first - 1.0) if last - first > 1.0 else 0.0
    return {"max_starts_in_1s": max_in_window(starts), "limit_1s": int(per_second + burst),
            "achieved_per_s": round(achieved, 2), "rate_per_s": per_second, "tasks": tasks, **_common(run)}  # fmt: skip


def priority(scale: Scale) -> dict[str, Any]:
    """Cap 100, 10,000 tasks of 1 s at priority 0, then 100 at priority 5 at t = 10 s."""
    backlog, urgent = scale.n(10_000, floor=1500), 100
    jobs = [*jobs_of("backfill", 0.0, backlog), (10.0, job("urgent", 0, urgent, priority=5))]

    def done(run: Run) -> bool:
        return sum(1 for task in run.record.starts if task.startswith("urgent-")) >= urgent

    run = simulate(Spec(labourer_entry(100, 1.0), jobs, 1.0, done, limit_s=300))
    accepted = run.record.accepted.get("urgent", T0 + 10)
    latencies = [at - accepted for task, at in run.first_starts().items() if task.startswith("urgent-")]
    return {"high_start_p95_s": _p95(latencies), "high_started": len(latencies), "high_tasks": urgent,
            "backlog_tasks": backlog, **_common(run)}  # fmt: skip


def pause(scale: Scale) -> dict[str, Any]:
    """A backlog (cap 100, tasks of 1 s) paused at t = 10 s and resumed at t = 30 s."""
    from ganger.ops.context import Ops
    from ganger.ops.labourers import set_pause

    tasks = scale.n(5000, floor=3000)

    def pausing(paused: bool, mark: str) -> Callable[[Any, Run], None]:
        def act(clients: Any, run: Run) -> None:
            from ganger.tasks import TaskStore

            run.marks[f"{mark}_issued"] = run.sim.now
            ops = Ops(clients, store=TaskStore(clients.dynamodb, sleep=run.sim.sleep))
            set_pause(ops, WORKER, paused, run.sim.now, reason="benchmark", wait=run.sim.sleep)
            run.marks[f"{mark}_returned"] = run.sim.now

        return act

    actions = [(10.0, "pause", pausing(True, "pause")), (30.0, "resume", pausing(False, "resume"))]

    def done(run: Run) -> bool:
        return run.sim.now >= T0 + 35 or len(run.record.completions) >= tasks

    run = simulate(Spec(labourer_entry(100, 1.0), jobs_of("paused", 0.0, tasks), 1.0, done, 60, actions))
    starts = [at for runs in run.record.starts.values() for at in runs]
    paused_at, resumed_at = run.marks.get("pause_returned", T0 + 10), run.marks.get("resume_issued", T0 + 30)
    after = [at for at in starts if at >= resumed_at]
    return {"starts_while_paused": sum(1 for at in starts if paused_at <= at < resumed_at),
            "resume_first_start_s": round(min(after) - resumed_at, 3) if after else None,
            "pause_returned_s": round(paused_at - T0, 3), "resume_issued_s": round(resumed_at - T0, 3),
            "tasks": tasks, **_common(run)}  # fmt: skip


def delayed(scale: Scale) -> dict[str, Any]:
    """1,000 tasks with launch times spread over 5 minutes (100 jobs of 10, one launch time each)."""
    tasks, per_job, spread = scale.n(1000, floor=100), 10, 300.0
    count = max(1, tasks // per_job)
    launches = {f"delayed-{i}": math.ceil(T0 + 5 + spread * i / count) for i in range(count)}
    jobs = [(0.01 * i, job(job_id, 0, per_job, desired_launch_time=at)) for i, (job_id, at) in
            enumerate(launches.items())]  # fmt: skip
    total = count * per_job
    run = simulate(Spec(labourer_entry(100, 1.0), jobs, 1.0, lambda run: len(run.record.starts) >= total,
                        limit_s=spread + 120))  # fmt: skip
    late = []
    early = 0
    for task, at in run.first_starts().items():
        due = launches[run.record.job_of[task]]
        early += at < due
        late.append(at - due)
    return {"early_starts": early, "late_p95_s": _p95(late), "tasks": total, "started": len(late), **_common(run)}


def noisy_neighbour(scale: Scale) -> dict[str, Any]:
    """Key A's backlog of 10,000 at t = 0, key B's 20 at t = 10 s (``benchmarks.flow_keys``)."""
    from benchmarks import flow_keys

    return flow_keys.noisy_neighbour(backlog=scale.n(10_000, floor=2000))


def per_key_cap(scale: Scale) -> dict[str, Any]:
    """50 keys of 20 tasks at cap 100 with ``max_per_key`` 2 (``benchmarks.flow_keys``)."""
    from benchmarks import flow_keys

    return flow_keys.per_key_cap(per_key=scale.n(20, floor=5))


WORKLOADS: dict[str, Callable[[Scale], dict[str, Any]]] = {
    "noisy_neighbour": noisy_neighbour,
    "per_key_cap": per_key_cap,
    "rate": rate,
    "priority": priority,
    "pause": pause,
    "delayed": delayed,
}

# the "Done when" per workload: True when the figures meet it
CHECKS: dict[str, Callable[[dict[str, Any]], bool]] = {
    "noisy_neighbour": lambda f: (f["late_key_start_p95_s"] or 99) <= 1 and f["utilisation"] >= 0.9,
    "per_key_cap": lambda f: f["max_running_per_key"] <= f["max_per_key"] and f["max_running"] <= f["cap"],
    "rate": lambda f: f["max_starts_in_1s"] <= f["limit_1s"] and f["achieved_per_s"] >= 0.95 * f["rate_per_s"],
    "priority": lambda f: f["high_start_p95_s"] is not None and f["high_start_p95_s"] <= 1.5,
    "pause": lambda f: f["starts_while_paused"] == 0 and (f["resume_first_start_s"] or 99) <= 1,
    "delayed": lambda f: f["early_starts"] == 0 and f["late_p95_s"] is not None and f["late_p95_s"] <= 1,
}


def usd_per_million(workloads: dict[str, dict[str, Any]]) -> float | None:
    """Every billable unit the runs used, over the tasks they started, at on-demand prices (``ganger.cost``)."""
    from ganger.cost import Assumptions, Prices, UnitProfile, ganger_lines

    units: dict[str, Any] = {}
    tasks = 0
    for figures in workloads.values():
        if "units" not in figures:  # the keyed workloads (``benchmarks.flow_keys``) do not meter their units
            continue
        tasks += figures["started"]
        for name, value in figures["units"].items():
            if isinstance(value, dict):  # requests per function
                merged = units.setdefault(name, {})
                for key, count in value.items():
                    merged[key] = merged.get(key, 0) + count
            else:
                units[name] = units.get(name, 0) + value
    if not tasks:
        return None
    return round(sum(ganger_lines(UnitProfile(tasks, units, "flow"), Prices(), Assumptions()).values()), 2)


def run_all(names: list[str], scale: Scale) -> dict[str, Any]:
    results: dict[str, dict[str, Any]] = {}
    for name in names:
        print(f"running {name} ...", file=sys.stderr, flush=True)
        results[name] = WORKLOADS[name](scale)
    checks = {name: CHECKS[name](figures) for name, figures in results.items() if name in CHECKS}
    return {"workloads": results, "usd_per_million_tasks": usd_per_million(results), "checks": checks,
            "scale": scale.factor}  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.flow", description=__doc__.split("\n\n")[0])
    parser.add_argument("--json", action="store_true", help="print the results as JSON")
    parser.add_argument("--workloads", default=",".join(WORKLOADS), help=f"comma-separated, of {', '.join(WORKLOADS)}")
    parser.add_argument("--scale", type=float, default=1.0, help="multiply the task counts (the fast test: 0.1)")
    parser.add_argument("--write", type=Path, help="also write the JSON results to this file")
    args = parser.parse_args(argv)
    names = [name for name in args.workloads.split(",") if name]
    unknown = [name for name in names if name not in WORKLOADS]
    if unknown:
        parser.error(f"unknown workload: {', '.join(unknown)}")
    prepare_environment()
    with stdout_to_stderr(), _quiet():
        results = run_all(names, Scale(args.scale))
    text = json.dumps(results, indent=1)
    if args.write is not None:
        args.write.write_text(text + "\n")
    if args.json:
        print(text)
    else:
        for name, ok in results["checks"].items():
            print(f"{name:<10} {'ok' if ok else 'FAILS'}  {json.dumps(results['workloads'][name], default=str)[:200]}")
    return 0 if all(results["checks"].values()) else 1


if __name__ == "__main__":
    sys.exit(main())
