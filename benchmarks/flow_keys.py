"""Flow control by concurrency key (issue 22, item 1), through the real essentials under simulated time on the
contending DynamoDB (``benchmarks.scale``'s machinery):

    python -m benchmarks.flow_keys --json [--workloads noisy_neighbour,per_key_cap] [--write FILE]

- ``noisy_neighbour``: cap 100, tasks of 1 s; key A queues 10,000 tasks at t = 0, key B 20 at t = 10 s:
  ``late_key_start_p95_s`` (B's start latency after its job was accepted) and ``utilisation`` (tasks at work /
  cap, from A's first completion until the backlog ends: the queue never empties before then);
- ``per_key_cap``: cap 100, ``max_per_key`` 2, 50 keys of 20 tasks each: ``max_running_per_key``,
  ``max_per_key``, ``max_running``, ``cap``.

Each workload is a function returning its figures, so that ``benchmarks.flow`` can register them.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from benchmarks.dispatch import _max_running
from benchmarks.scale import WORKER, Workload, _bench_worker, _quiet
from benchmarks.scale_figures import T0, Record, _busy
from benchmarks.workload import prepare_environment, stdout_to_stderr

KEY_FIELD = "chat_id"
JOB_SIZE = 1000


@dataclass(frozen=True)
class KeyedJob:
    at: float  # seconds after T0
    key: str
    tasks: int
    job_id: str


@dataclass
class KeyedRun:
    record: Record
    key_of: dict[str, str] = field(default_factory=dict)  # task id -> key
    sim_errors: list[str] = field(default_factory=list)
    simulated_s: float = 0.0
    wall_s: float = 0.0


def jobs_for(key: str, tasks: int, at: float, prefix: str) -> list[KeyedJob]:
    """A key's tasks as jobs of at most ``JOB_SIZE``, 10 ms apart."""
    return [
        KeyedJob(at + index * 0.01, key, min(JOB_SIZE, tasks - start), f"{prefix}-{key}-{index}")
        for index, start in enumerate(range(0, tasks, JOB_SIZE))
    ]


def labourer_entry(cap: int, duration: float, **keys: Any) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "type": "lambda", "arn": WORKER, "max_simultaneous_invocations": cap,
        "duration": max(60, int(duration * 3)), "cooldown": 30, "max_attempts": 3,
        "retry": {"base_seconds": 1, "factor": 2, "cap_seconds": 60}, "dispatch": "event",
    }  # fmt: skip
    entry.update(keys)
    return entry


def simulate(entry: dict[str, Any], jobs: list[KeyedJob], duration: float, limit_s: float = 1800.0) -> KeyedRun:
    """Run the jobs through the real essentials on the contention model until every task has completed."""
    from moto import mock_aws

    from benchmarks.harness import CONFIG_DIR, deploy_tables
    from benchmarks.simtime import Sim, SimLambdas
    from essentials.orchestrator import Orchestrator
    from essentials.scavenger import Scavenger
    from essentials.scheduler import Scheduler
    from essentials.worker_assistant import WorkerAssistant
    from ganger.clients import AwsClients
    from ganger.config import ConfigStore, load_folder
    from ganger.documents import validate
    from ganger.labourer import LABOURERS_DOCUMENT
    from ganger.local.contention import ContentionModel, ContentionParams
    from ganger.local.moto_contention import contending
    from ganger.local.moto_fast import fast_moto
    from ganger.tasks import TaskStore

    run = KeyedRun(Record())
    record = run.record
    total = sum(job.tasks for job in jobs)
    sim = Sim(T0)
    lambdas = SimLambdas(sim)
    model = ContentionModel({}, ContentionParams())
    with mock_aws(), fast_moto():
        import boto3

        clients = AwsClients(region="us-east-1")
        deploy_tables(boto3.client("cloudformation", region_name="us-east-1"))
        config = ConfigStore(clients.dynamodb)
        load_folder(config, CONFIG_DIR, validate)
        config.put(LABOURERS_DOCUMENT, {"labourers": {WORKER: entry}})

        def container(cls: Any, name: str, wrap: Callable[[Any], Any] | None = None) -> Callable[[], Any]:
            def factory() -> Any:
                processor = cls(function_name=name, clients=clients, clock=sim.clock, config_clock=sim.clock)
                processor._store = TaskStore(clients.dynamodb, sleep=sim.sleep)
                return wrap(processor) if wrap else processor

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

        for name, cls in (("sosw_orchestrator", Orchestrator), ("sosw_scavenger", Scavenger)):
            lambdas.register_containers(name, container(cls, name))
        lambdas.register_containers("sosw_scheduler", container(Scheduler, "sosw_scheduler", accepting))
        lambdas.register_containers("sosw_worker_assistant", container(WorkerAssistant, "sosw_worker_assistant",
                                                                       reporting))  # fmt: skip
        worker = _bench_worker(Workload("keys", 0, duration, total), sim, clients, record)

        def keyed_worker(event: dict[str, Any], context: Any) -> None:
            run.key_of.setdefault(event["task_id"], str(event.get(KEY_FIELD, "")))
            worker(event, context)

        lambdas.register(WORKER, keyed_worker)
        for job in jobs:
            payload = {KEY_FIELD: job.key, "sections": [f"s{i}" for i in range(job.tasks)], "isolate_sections": True}
            event = {"job": {"lambda_name": WORKER, "payload": payload}, "job_id": job.job_id}
            lambdas.invoke_at(T0 + job.at, "sosw_scheduler", event)
        for minute in range(0, int(limit_s // 60)):
            lambdas.invoke_at(T0 + 30 + 60 * minute, "sosw_orchestrator", {})
            lambdas.invoke_at(T0 + 30.5 + 60 * minute, "sosw_scavenger", {})
        wall = time.perf_counter()
        with contending(model, sim.clock, sim.elapse), lambdas.installed():
            sim.run_until(lambda: len(record.completions) >= total, limit=T0 + limit_s)
        run.wall_s = round(time.perf_counter() - wall, 1)
    run.sim_errors = sim.errors[:3]
    run.simulated_s = round(sim.now - T0, 2)
    return run


def _intervals(run: KeyedRun, duration: float) -> dict[str, list[tuple[float, float]]]:
    by_key: dict[str, list[tuple[float, float]]] = defaultdict(list)
    for task, starts in run.record.starts.items():
        by_key[run.key_of.get(task, "")].extend((s, s + duration) for s in starts)
    return by_key


def _p95(values: list[float]) -> float | None:
    ordered = sorted(values)
    return round(ordered[int(0.95 * (len(ordered) - 1))], 3) if ordered else None


def noisy_neighbour(backlog: int = 10_000, late: int = 20, late_at: float = 10.0, cap: int = 100,
                    duration: float = 1.0) -> dict[str, Any]:  # fmt: skip
    """Key A's backlog at t = 0, key B's few tasks at ``late_at``: how soon B starts, and whether the slots stay
    busy meanwhile."""
    jobs = jobs_for("A", backlog, 0.0, "nn") + jobs_for("B", late, late_at, "nn")
    run = simulate(labourer_entry(cap, duration, concurrency_key=KEY_FIELD), jobs, duration)
    record = run.record
    late_starts = [
        starts[0] - record.accepted[record.job_of[task]]
        for task, starts in record.starts.items()
        if run.key_of.get(task) == "B" and record.job_of.get(task) in record.accepted
    ]
    intervals = [i for spans in _intervals(run, duration).values() for i in spans]
    completions = sorted(record.completions)
    window = (completions[0], completions[-1] - duration) if len(completions) > 1 else None
    busy = _busy(intervals, window) if window and window[1] > window[0] else 0.0
    return {
        "cap": cap,
        "tasks": backlog + late,
        "completed": len(completions),
        "late_key_tasks_started": len(late_starts),
        "late_key_start_p95_s": _p95(late_starts),
        "late_key_start_max_s": round(max(late_starts), 3) if late_starts else None,
        "utilisation": round(busy / cap, 3),
        "utilisation_window_s": [round(w - T0, 2) for w in window] if window else None,
        "max_running": _max_running(intervals),
        "errors": run.sim_errors,
        "simulated_s": run.simulated_s,
        "wall_s": run.wall_s,
    }


def per_key_cap(keys: int = 50, per_key: int = 20, max_per_key: int = 2, cap: int = 100,
                duration: float = 1.0) -> dict[str, Any]:  # fmt: skip
    """Many keys at once with a per-key cap: no key ever runs more than its cap, the labourer never more than its."""
    jobs = [job for k in range(keys) for job in jobs_for(f"k{k}", per_key, k * 0.001, "pk")]
    entry = labourer_entry(cap, duration, concurrency_key=KEY_FIELD, max_per_key=max_per_key)
    run = simulate(entry, jobs, duration)
    by_key = _intervals(run, duration)
    intervals = [i for spans in by_key.values() for i in spans]
    return {
        "keys": keys,
        "tasks": keys * per_key,
        "completed": len(run.record.completions),
        "max_running_per_key": max((_max_running(spans) for spans in by_key.values()), default=0),
        "max_per_key": max_per_key,
        "max_running": _max_running(intervals),
        "cap": cap,
        "reruns": sum(1 for starts in run.record.starts.values() if len(starts) > 1),
        "errors": run.sim_errors,
        "simulated_s": run.simulated_s,
        "wall_s": run.wall_s,
    }


WORKLOADS: dict[str, Callable[[], dict[str, Any]]] = {"noisy_neighbour": noisy_neighbour, "per_key_cap": per_key_cap}


def checks(workloads: dict[str, dict[str, Any]]) -> dict[str, bool]:
    """The issue's thresholds for the workloads that ran."""
    found: dict[str, bool] = {}
    if "noisy_neighbour" in workloads:
        nn = workloads["noisy_neighbour"]
        found["noisy_neighbour"] = (nn["late_key_start_p95_s"] or 99) <= 1 and nn["utilisation"] >= 0.9
    if "per_key_cap" in workloads:
        pk = workloads["per_key_cap"]
        found["per_key_cap"] = pk["max_running_per_key"] <= pk["max_per_key"] and pk["max_running"] <= pk["cap"]
    return found


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.flow_keys", description=__doc__.split("\n\n")[0])
    parser.add_argument("--json", action="store_true", help="print the results as JSON")
    parser.add_argument("--workloads", default=",".join(WORKLOADS), help=f"comma-separated, of {', '.join(WORKLOADS)}")
    parser.add_argument("--write", help="also write the JSON results to this file")
    args = parser.parse_args(argv)
    names = [w for w in args.workloads.split(",") if w]
    unknown = [w for w in names if w not in WORKLOADS]
    if unknown:
        parser.error(f"unknown workload: {', '.join(unknown)}")
    prepare_environment()
    results: dict[str, Any] = {"workloads": {}}
    with stdout_to_stderr(), _quiet():
        for name in names:
            print(f"running {name} ...", file=sys.stderr, flush=True)
            results["workloads"][name] = WORKLOADS[name]()
    results["checks"] = checks(results["workloads"])
    text = json.dumps(results, indent=1)
    if args.write:
        with open(args.write, "w") as out:
            out.write(text + "\n")
    print(text if args.json else "\n".join(f"{k}: {'ok' if v else 'FAIL'}" for k, v in results["checks"].items()))
    return 0 if all(results["checks"].values()) else 1


if __name__ == "__main__":
    sys.exit(main())
