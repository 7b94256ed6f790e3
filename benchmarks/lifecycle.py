"""One job of N tasks through ganger's whole lifecycle, counting every AWS API call.

    python -m benchmarks.lifecycle --tasks 1000 --json

Runs under in-process moto with the repo's tables (yaml/) and config (config/), the four
essentials and the example worker (examples/sosw_protocol_worker.py, which reports through the
sosw protocol). Each tick is one minute of the system: the Orchestrator, then the invocations it
caused (workers and their reports), then the Scavenger; the clock advances 60 s per tick. With
event-driven dispatch (the default) the job's tasks start as the Scheduler writes them and each
completion hands its slot to the next task, so the job is usually done before the first tick. The run
ends when all N tasks are in the closed table, and fails loudly otherwise.

Wall seconds measure in-process moto more than ganger: moto's DynamoDB is the bottleneck.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import sys
import time
import tracemalloc
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from benchmarks.counting import ApiCallCounter
from benchmarks.workload import (
    LABOURER,
    PHASE_NOTES,
    PHASES,
    TICK_SECONDS,
    expected_failures,
    labourer_labeller,
    other_labourers_calls,
    peak_rss_mb,
    prepare_environment,
    sections_job,
    stdout_to_stderr,
    verify_all_closed,
)
from ganger.local.moto_fast import fast_moto

BUDGET_CALLS_PER_TASK = 4.1
BUDGET_IDLE_CALLS_PER_LABOURER = 2
IDLE_NOTE = (
    "warm runs: the processors' config documents are cached (30 s TTL) after their first run; "
    "idle_calls_per_labourer_config_refresh is a run that re-reads them"
)


class LifecycleError(RuntimeError):
    """The run did not bring every task to the closed table."""


@dataclass
class Progress:
    completed: int = 0
    failed_reports: int = 0
    outcomes: dict[str, int] = field(default_factory=dict)

    def note(self, result: Any) -> None:
        outcome = result.get("outcome") if isinstance(result, dict) else None
        if outcome is None:
            return
        self.outcomes[outcome] = self.outcomes.get(outcome, 0) + 1
        if outcome == "completed":
            self.completed += 1


WORKERS = ("sosw", "ganger")


def _worker_handler(system: Any, kind: str) -> Any:
    """The example worker: sosw's protocol (reports only the task id) or ganger's (token and task snapshot)."""
    if kind == "ganger":
        from examples.ganger_worker import ExampleWorker

        return ExampleWorker(clients=system.clients)
    from examples import sosw_protocol_worker

    return sosw_protocol_worker.lambda_handler


def _instrument(system: Any, counter: ApiCallCounter, progress: Progress, worker_kind: str = "sosw") -> None:
    """Re-register the worker and the WorkerAssistant so their calls land in their phases."""
    worker = counter.phased("report", _worker_handler(system, worker_kind))
    system.register_worker(LABOURER, worker)
    assistant = system.essentials["sosw_worker_assistant"]

    def worker_assistant(event: Any, context: Any) -> Any:
        action = event.get("action") if isinstance(event, dict) else None
        with counter.phase("archive" if action == "mark_task_as_completed" else "retry"):
            result = assistant(event, context)
        progress.note(result)
        return result

    system.lam.register("sosw_worker_assistant", worker_assistant)
    scavenger = system.essentials["sosw_scavenger"]
    scavenger.scavenge = counter.phased("retry", scavenger.scavenge)


def _tick(system: Any, counter: ApiCallCounter) -> None:
    with counter.phase("dispatch"):
        system.lam.run("sosw_orchestrator", {})
    with counter.phase("report"):
        system.lam.drain()
    with counter.phase("scavenge"):
        system.lam.run("sosw_scavenger", {})
        system.lam.drain()


def _idle(system: Any, counter: ApiCallCounter) -> dict[str, Any]:
    """API calls of one Orchestrator run and one Scavenger run with nothing queued, per labourer."""
    labourers = len(system.essentials["sosw_orchestrator"].labourers())
    vars(system.essentials["sosw_scavenger"]).pop("scavenge", None)  # idle calls stay in the idle phase
    with counter.phase("idle_warmup"):
        system.run("sosw_orchestrator")
        system.run("sosw_scavenger")

    def measure(name: str, refresh: bool) -> float:
        processor = system.essentials[name]
        if refresh:
            for cached in (processor._config, processor._labourers):
                if cached is not None:
                    cached.invalidate()
        window = counter.window()
        with counter.phase("idle"):
            system.run(name)
        return round(window.total() / labourers, 3)

    warm = {"orchestrator": measure("sosw_orchestrator", False), "scavenger": measure("sosw_scavenger", False)}
    window = counter.window()
    with counter.phase("idle"):
        system.run("sosw_orchestrator")
        system.run("sosw_scavenger")
    warm_by_operation = window.calls()
    refresh = {"orchestrator": measure("sosw_orchestrator", True), "scavenger": measure("sosw_scavenger", True)}
    return {"labourers": labourers, "warm": warm, "warm_by_operation": warm_by_operation, "refresh": refresh}


def run_ganger(
    tasks: int = 1000,
    fail_every: int = 0,
    measure_idle: bool = True,
    max_ticks: int | None = None,
    trace_memory: bool = False,
    worker: str = "ganger",
    emulator: str = "inprocess",
) -> dict[str, Any]:
    """Run the lifecycle once in a fresh embedded AWS (``emulator``: in this process, or its own) and
    return the figures."""
    from benchmarks.harness import Clock, InProcessSystem
    from examples import sosw_protocol_worker

    limit = max_ticks if max_ticks is not None else 3 * (tasks // 100 + 1) + 20
    counter = ApiCallCounter()
    progress = Progress()
    if trace_memory:
        tracemalloc.start()
    started, cpu_started = time.perf_counter(), time.process_time()
    emulated: dict[str, Any] = {}
    with _embedded_aws(emulator, emulated):
        sosw_protocol_worker._lambda = None  # its cached client may belong to an earlier mock
        clock = Clock(time.time())
        # The essentials' config cache (30 s TTL) ages with the simulated clock, as on AWS: with one-minute
        # ticks every Orchestrator and Scavenger run re-reads its config, whatever moto's speed.
        system = InProcessSystem(clock=clock, config_clock=clock)
        with system.lam.installed(), counter.installed():
            with counter.phase("setup"):
                system.deploy()
                orchestrator = system.essentials["sosw_orchestrator"]
                counter.labeller = labourer_labeller(set(orchestrator.labourers()))
                # A deployed labourer has its slot counter: the Orchestrator sets it up at its first run with
                # work (about 20 calls, once per labourer, not per job).
                labourer = orchestrator.labourers()[LABOURER]
                orchestrator.slots(labourer, labourer.max_simultaneous_invocations, clock())
            _instrument(system, counter, progress, worker)
            with counter.phase("schedule"):
                scheduled = system.schedule(sections_job(tasks, fail_every))
            ticks = 0
            while progress.completed < tasks:
                if ticks >= limit:
                    raise LifecycleError(
                        f"only {progress.completed} of {tasks} tasks completed after {ticks} ticks "
                        f"(outcomes {progress.outcomes}, function errors {system.lam.errors[:3]})"
                    )
                _tick(system, counter)
                clock.advance(TICK_SECONDS)
                ticks += 1
            if system.lam.errors:
                raise LifecycleError(f"{len(system.lam.errors)} invocations failed, first: {system.lam.errors[0]}")
            with counter.phase("check"):
                verified = verify_all_closed(system, tasks, LifecycleError, "")
            idle = _idle(system, counter) if measure_idle else None
    elapsed = time.perf_counter() - started
    cpu = time.process_time() - cpu_started
    peak_traced = tracemalloc.get_traced_memory()[1] if trace_memory else None
    if trace_memory:
        tracemalloc.stop()
    report = _report(tasks, fail_every, counter, scheduled, ticks, verified, idle, elapsed, progress, peak_traced)
    report["emulator"] = {"where": emulator, **emulated}
    # wall seconds depend on what else the machine runs; this process's CPU seconds less so
    report["cpu_seconds"] = round(cpu, 1)
    return {"system": "ganger", "worker": worker, **report}


EMULATORS = ("inprocess", "process")


@contextlib.contextmanager
def _embedded_aws(where: str, figures: dict[str, Any]) -> Iterator[None]:
    """moto in this process (fastest), or in its own process over loopback HTTP, so this process's peak RSS
    is ganger's alone and the table rows count against the emulator, as they would against DynamoDB."""
    if where == "inprocess":
        from moto import mock_aws

        with mock_aws(), fast_moto():
            yield
        return
    from benchmarks.emulator import emulator_process

    with emulator_process() as emulator:
        os.environ["AWS_ENDPOINT_URL"] = emulator.url
        try:
            yield
        finally:
            os.environ.pop("AWS_ENDPOINT_URL", None)
    figures["peak_rss_mb"] = emulator.peak_rss_mb


def _report(
    tasks: int,
    fail_every: int,
    counter: ApiCallCounter,
    scheduled: dict[str, Any],
    ticks: int,
    verified: dict[str, int],
    idle: dict[str, Any] | None,
    elapsed: float,
    progress: Progress,
    peak_traced: int | None,
) -> dict[str, Any]:
    report: dict[str, Any] = {
        "tasks": tasks,
        "failing_first_attempt": expected_failures(tasks, fail_every),
        **counter.summary(PHASES, tasks),
    }
    other = other_labourers_calls(report)
    report["calls_for_other_labourers"] = other
    report["calls_per_task_benchmark_labourer_only"] = round((report["calls"] - other) / tasks, 3)
    seconds = report["seconds"]
    seconds["setup"] = round(counter.seconds.get("setup", 0.0), 3)
    seconds["run_including_setup_and_checks"] = round(elapsed, 3)
    report.update(
        {
            "schedule_seconds_per_1000_tasks": round(seconds["schedule"] * 1000 / tasks, 3),
            "seconds_per_1000_tasks": round(seconds["total"] * 1000 / tasks, 3),
            "ticks": ticks,
            "tick_seconds": TICK_SECONDS,
            "scheduled": {k: v for k, v in scheduled.items() if k != "job_id"},
            "report_outcomes": progress.outcomes,
            "verified": verified,
            "peak_rss_mb": peak_rss_mb(),
            "phases": PHASE_NOTES,
            "note": "in-process moto; wall seconds are dominated by moto's DynamoDB, not by ganger",
            "config_cache": "ages with the simulated clock: each one-minute tick re-reads the essentials' config "
            "documents (30 s TTL), as on AWS",
        }
    )
    if peak_traced is not None:
        report["peak_traced_python_mb"] = round(peak_traced / 2**20, 1)
    within = report["calls_per_task"] <= BUDGET_CALLS_PER_TASK
    if idle is not None:
        report["labourers"] = idle["labourers"]
        report["idle_calls_per_labourer"] = idle["warm"]
        report["idle_calls_by_operation"] = idle["warm_by_operation"]
        report["idle_calls_per_labourer_config_refresh"] = idle["refresh"]
        report["idle_note"] = IDLE_NOTE
        within = within and all(v <= BUDGET_IDLE_CALLS_PER_LABOURER for v in idle["warm"].values())
    report["budget"] = {
        "calls_per_task": BUDGET_CALLS_PER_TASK,
        "idle_calls_per_labourer": BUDGET_IDLE_CALLS_PER_LABOURER,
    }
    report["within_budget"] = within
    return report


def format_table(report: dict[str, Any]) -> str:
    """A readable summary of one report."""
    tasks = report["tasks"]
    lines = [
        f"{report['system']}: {tasks} tasks in {report['ticks']} ticks of {report['tick_seconds']:.0f} s, "
        f"{report['calls']} API calls = {report['calls_per_task']} per task "
        f"(budget {report['budget']['calls_per_task']}; within budget: {report['within_budget']})",
        "",
        f"{'phase':<10} {'calls':>8} {'per task':>9} {'seconds':>9}",
    ]
    for phase, calls in report["calls_by_phase"].items():
        lines.append(f"{phase:<10} {calls:>8} {calls / tasks:>9.3f} {report['seconds'][phase]:>9.2f}")
    lines += ["", f"{'operation':<32} {'calls':>8} {'per task':>9}"]
    for operation, calls in report["calls_by_operation"].items():
        lines.append(f"{operation:<32} {calls:>8} {calls / tasks:>9.3f}")
    if "idle_calls_per_labourer" in report:
        idle = report["idle_calls_per_labourer"]
        refresh = report["idle_calls_per_labourer_config_refresh"]
        lines += [
            "",
            f"idle calls per labourer ({report['labourers']} labourer(s), warm config): "
            f"orchestrator {idle['orchestrator']}, scavenger {idle['scavenger']} "
            f"(budget {report['budget']['idle_calls_per_labourer']}); "
            f"with a config re-read: orchestrator {refresh['orchestrator']}, scavenger {refresh['scavenger']}",
        ]
    lines.append(
        f"schedule: {report['seconds']['schedule']:.2f} s ({report['schedule_seconds_per_1000_tasks']} s per "
        f"1,000 tasks); peak RSS {report['peak_rss_mb']} MB; {report['note']}"
    )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.lifecycle", description=__doc__.split("\n\n")[0])
    parser.add_argument("--tasks", type=int, default=1000, help="tasks in the one job (default 1000)")
    parser.add_argument("--fail-every", type=int, default=0, help="every n-th task fails its first attempt")
    parser.add_argument("--no-idle", action="store_true", help="skip the idle-run measurement")
    parser.add_argument("--tracemalloc", action="store_true", help="also report the peak traced Python heap (slow)")
    parser.add_argument("--json", action="store_true", help="print the report as JSON")
    parser.add_argument("--worker", choices=WORKERS, default="ganger",
                        help="the example worker's protocol: ganger (the default) or sosw (reports only the task id, "
                        "so the WorkerAssistant reads the task before archiving it)")  # fmt: skip
    parser.add_argument("--emulator", choices=EMULATORS, default="inprocess",
                        help="where the embedded AWS runs: in this process (fastest) or its own (this process's "
                        "peak RSS is then ganger's alone)")  # fmt: skip
    args = parser.parse_args(argv)
    if args.tasks < 1:
        parser.error("--tasks must be at least 1")
    prepare_environment()
    with stdout_to_stderr():
        report = run_ganger(
            args.tasks,
            args.fail_every,
            measure_idle=not args.no_idle,
            trace_memory=args.tracemalloc,
            worker=args.worker,
            emulator=args.emulator,
        )
    print(json.dumps(report, indent=1) if args.json else format_table(report))
    return 0


if __name__ == "__main__":
    sys.exit(main())
