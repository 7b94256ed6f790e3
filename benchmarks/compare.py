"""ganger against sosw 0.7.51 on the same workload, in one process; plus growth and cold-start figures.

    python -m benchmarks.compare --tasks 1000 --sosw-tasks 200 --json
    python -m benchmarks.compare --growth --sizes 1000,10000,100000 --json
    python -m benchmarks.compare --cold-start --json
    python -m benchmarks.compare --all --write        # results in benchmarks/results/<date>.json

The workload is one job of N tasks for one Lambda labourer, every worker succeeding; then the same
with 10% of the tasks failing their first attempt. Each system runs in its own ``mock_aws()``.
sosw's Scheduler is quadratic (a query per created task that reads the whole queue), so
``--sosw-tasks`` caps its size, and ganger also runs at that size for per-task figures at equal size.
"""

from __future__ import annotations

import argparse
import datetime
import importlib.util
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from benchmarks.workload import PHASE_NOTES, PHASES, prepare_environment, ratio, stdout_to_stderr

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results"
FAIL_EVERY = 10
VARIANTS = {"all_succeed": 0, "ten_percent_fail_once": FAIL_EVERY}
_DROP = ("phases",)


def _trim(report: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in report.items() if k not in _DROP}


def ratios(ganger: dict[str, Any], sosw: dict[str, Any]) -> dict[str, Any]:
    """ganger / sosw for the per-task figures of two runs of the same size (below 1: ganger is cheaper)."""
    tasks_g, tasks_s = ganger["tasks"], sosw["tasks"]
    return {
        "calls_per_task": ratio(ganger["calls_per_task"], sosw["calls_per_task"]),
        "calls_per_task_by_phase": {
            p: ratio(ganger["calls_per_task_by_phase"][p], sosw["calls_per_task_by_phase"][p]) for p in PHASES
        },
        "seconds_per_task": ratio(ganger["seconds"]["total"] / tasks_g, sosw["seconds"]["total"] / tasks_s),
        "seconds_per_task_by_phase": {
            p: ratio(ganger["seconds"][p] / tasks_g, sosw["seconds"][p] / tasks_s) for p in PHASES
        },
    }


def compare(tasks: int, sosw_tasks: int, meta: bool = True, variants: dict[str, int] | None = None) -> dict[str, Any]:
    """Both systems on both variants."""
    from benchmarks.lifecycle import run_ganger
    from benchmarks.sosw_system import run_sosw

    result: dict[str, Any] = {
        "workload": {
            "job": "one job, sections chunked with isolate_sections: one task per section, one Lambda labourer",
            "labourer": "config/ganger_labourers.json example_worker (max_simultaneous_invocations 100); the "
            "repo's other labourers are deployed too (idle) in both systems",
            "tick": "Orchestrator, then the invocations it caused, then Scavenger; the clock advances 60 s",
            "tasks": tasks,
            "sosw_tasks": sosw_tasks,
            "fail_variant": f"every {FAIL_EVERY}th task fails its first attempt",
        },
        "phases": PHASE_NOTES,
    }
    for name, fail_every in (variants or VARIANTS).items():
        ganger = run_ganger(tasks, fail_every, measure_idle=fail_every == 0)
        equal = ganger if sosw_tasks == tasks else run_ganger(sosw_tasks, fail_every, measure_idle=False)
        sosw = run_sosw(sosw_tasks, fail_every, meta=meta)
        result[name] = {
            "ganger": _trim(ganger),
            "ganger_at_sosw_size": _trim(equal),
            "sosw": _trim(sosw),
            "ratios_ganger_over_sosw_at_equal_size": ratios(equal, sosw),
        }
    result["summary"] = _summary(result)
    return result


def _summary(result: dict[str, Any]) -> dict[str, Any]:
    summary = {}
    for name in VARIANTS:
        if name not in result:
            continue
        runs = result[name]
        summary[name] = {
            "ganger_calls_per_task": runs["ganger"]["calls_per_task"],
            "ganger_calls_per_task_at_sosw_size": runs["ganger_at_sosw_size"]["calls_per_task"],
            "sosw_calls_per_task": runs["sosw"]["calls_per_task"],
            "sosw_calls_per_task_without_meta": runs["sosw"]["calls_per_task_without_meta"],
            "ganger_calls_per_task_benchmark_labourer_only": runs["ganger"]["calls_per_task_benchmark_labourer_only"],
            "sosw_calls_per_task_benchmark_labourer_only": runs["sosw"]["calls_per_task_benchmark_labourer_only"],
            "calls_ratio_at_equal_size": runs["ratios_ganger_over_sosw_at_equal_size"]["calls_per_task"],
            "seconds_ratio_at_equal_size": runs["ratios_ganger_over_sosw_at_equal_size"]["seconds_per_task"],
            "ganger_schedule_seconds_per_1000_tasks": runs["ganger"]["schedule_seconds_per_1000_tasks"],
            "sosw_schedule_seconds_per_1000_tasks": runs["sosw"]["schedule_seconds_per_1000_tasks"],
        }
    return summary


# ---- growth --------------------------------------------------------------------------------------


def _lifecycle_subprocess(tasks: int, timeout: float, emulator: str = "inprocess") -> dict[str, Any]:
    """One ganger lifecycle in a fresh interpreter, so its peak memory is its own."""
    command = [sys.executable, "-m", "benchmarks.lifecycle", "--tasks", str(tasks), "--json", "--no-idle",
               "--emulator", emulator]  # fmt: skip
    try:
        done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=timeout, check=False)
    except subprocess.TimeoutExpired:
        return {"tasks": tasks, "error": f"did not finish within {timeout:.0f} s"}
    if done.returncode != 0:
        return {"tasks": tasks, "error": done.stderr.strip().splitlines()[-1:] or ["failed"]}
    report = json.loads(done.stdout)
    return {
        "tasks": tasks,
        "calls_per_task": report["calls_per_task"],
        "calls_by_operation": report["calls_by_operation"],
        "ticks": report["ticks"],
        "seconds_per_1000_tasks": report["seconds_per_1000_tasks"],
        "schedule_seconds": report["seconds"]["schedule"],
        "schedule_seconds_per_1000_tasks": report["schedule_seconds_per_1000_tasks"],
        "seconds_by_phase": {p: report["seconds"][p] for p in PHASES},
        "peak_rss_mb": report["peak_rss_mb"],
        "emulator": report.get("emulator", {}),
        "wall_seconds": report["seconds"]["run_including_setup_and_checks"],
        "cpu_seconds": report.get("cpu_seconds"),
    }


def growth(sizes: list[int], timeout: float, emulator: str = "process") -> dict[str, Any]:
    started = time.perf_counter()
    runs = [_lifecycle_subprocess(n, timeout, emulator) for n in sizes]
    wall = time.perf_counter() - started
    where = {
        "inprocess": "moto runs in the benchmark's process, so its peak RSS includes every table row (about 2.5 MB "
        "per 1,000 closed tasks)",
        "process": "moto runs in its own process (benchmarks/emulator.py) reached over loopback HTTP, so peak_rss_mb "
        "is ganger's process alone and emulator.peak_rss_mb holds the table rows, as DynamoDB would",
    }[emulator]
    return {
        "sizes_requested": sizes,
        "emulator": emulator,
        "runs": runs,
        "wall_seconds_all_sizes": round(wall, 1),
        "flat": growth_flatness(runs),
        "note": f"each size in its own interpreter (peak RSS is that run's); {where}. moto's Query reads only its "
        "page (ganger/local/moto_index.py), its transactions copy only their items (moto_speed.py), it writes "
        "responses without walking their shape (moto_serialize.py) and parses each expression once (moto_parse.py), "
        "so wall seconds grow about linearly; schedule seconds per 1,000 tasks shows scheduling is linear",
    }


def growth_flatness(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """How the largest run compares: calls per task against the smallest run's, peak RSS against the next largest's."""
    done = sorted((r for r in runs if "error" not in r), key=lambda r: r["tasks"])
    if len(done) < 2:
        return {}
    smallest, previous, largest = done[0], done[-2], done[-1]
    return {
        "calls_per_task_change_percent": round(
            100 * (largest["calls_per_task"] - smallest["calls_per_task"]) / smallest["calls_per_task"], 2
        ),
        "calls_per_task_sizes": [smallest["tasks"], largest["tasks"]],
        "peak_rss_ratio": ratio(largest["peak_rss_mb"], previous["peak_rss_mb"]),
        "peak_rss_sizes": [previous["tasks"], largest["tasks"]],
    }


# ---- cold start ------------------------------------------------------------------------------------

_IMPORT_TIMER = (
    "import importlib, sys, time; t = time.perf_counter(); importlib.import_module(sys.argv[1]); "
    "print(time.perf_counter() - t)"
)


def _modules(folder: str) -> list[str]:
    """Every module of the package, its subpackages' too (the processors have one per feature)."""
    paths = (p.relative_to(ROOT).with_suffix("") for p in (ROOT / folder).rglob("*.py"))
    return sorted(".".join(p.parts) for p in paths if p.name not in ("__init__", "__main__"))


def _import_seconds(module: str, repeats: int) -> dict[str, Any]:
    samples = []
    for _ in range(repeats):
        done = subprocess.run(
            [sys.executable, "-c", _IMPORT_TIMER, module],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
            env=dict(os.environ),
        )
        if done.returncode != 0:
            return {"error": (done.stderr.strip().splitlines() or ["import failed"])[-1]}
        samples.append(float(done.stdout.strip().splitlines()[-1]))
    return {
        "median_ms": round(statistics.median(samples) * 1000, 1),
        "samples_ms": [round(s * 1000, 1) for s in samples],
    }


def cold_start(repeats: int = 5) -> dict[str, Any]:
    modules = _modules("essentials") + _modules("processors")
    sosw = ["sosw.scheduler", "sosw.orchestrator", "sosw.scavenger", "sosw.worker_assistant"]
    if importlib.util.find_spec("sosw") is None:
        sosw = []
    return {
        "method": f"a fresh interpreter per sample imports the module and times it (perf_counter); median of {repeats}",
        "ganger": {m: _import_seconds(m, repeats) for m in modules},
        "sosw_0_7_51": {m: _import_seconds(m, repeats) for m in sosw},
    }


# ---- output ----------------------------------------------------------------------------------------


def write_results(results: dict[str, Any]) -> Path:
    """Merge into benchmarks/results/<UTC date>.json (one key per mode)."""
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / f"{datetime.datetime.now(datetime.UTC):%Y-%m-%d}.json"
    existing = json.loads(path.read_text()) if path.exists() else {}
    existing.update(results)
    path.write_text(json.dumps(existing, indent=1, sort_keys=True) + "\n")
    return path


def format_results(results: dict[str, Any]) -> str:
    lines = []
    for name, figures in results.get("compare", {}).get("summary", {}).items():
        lines.append(f"{name}:")
        lines += [f"  {key:<42} {value}" for key, value in figures.items()]
        runs = results["compare"][name]
        lines.append(f"  {'phase':<10} {'ganger/task':>12} {'sosw/task':>10} {'ratio':>8}")
        for phase in PHASES:
            g = runs["ganger_at_sosw_size"]["calls_per_task_by_phase"][phase]
            s = runs["sosw"]["calls_per_task_by_phase"][phase]
            lines.append(f"  {phase:<10} {g:>12} {s:>10} {ratio(g, s)!s:>8}")
    for run in results.get("growth", {}).get("runs", []):
        if "error" in run:
            lines.append(f"growth {run['tasks']}: {run['error']}")
        else:
            lines.append(
                f"growth {run['tasks']:>7}: {run['calls_per_task']} calls/task, "
                f"{run['seconds_per_1000_tasks']} s per 1,000 tasks, schedule "
                f"{run['schedule_seconds_per_1000_tasks']} s per 1,000, peak RSS {run['peak_rss_mb']} MB"
                + (
                    f" (emulator {run['emulator']['peak_rss_mb']} MB)"
                    if run.get("emulator", {}).get("peak_rss_mb")
                    else ""
                )
            )
    for group, modules in results.get("cold_start", {}).items():
        if isinstance(modules, dict):
            for module, figures in modules.items():
                lines.append(f"import {module:<36} {figures.get('median_ms', figures.get('error'))} ms ({group})")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.compare", description=__doc__.split("\n\n")[0])
    parser.add_argument("--tasks", type=int, default=1000, help="ganger's job size (default 1000)")
    parser.add_argument(
        "--sosw-tasks", type=int, default=200, help="sosw's job size (quadratic scheduling; default 200)"
    )
    parser.add_argument(
        "--no-sosw-meta", action="store_true", help="turn off sosw's MetaHandler (on by default in sosw)"
    )
    parser.add_argument("--growth", action="store_true", help="ganger at several sizes (see --sizes)")
    parser.add_argument("--sizes", default="1000,10000", help="growth sizes, comma-separated (e.g. 1000,10000,100000)")
    parser.add_argument("--growth-timeout", type=float, default=3600, help="seconds allowed per growth size")
    parser.add_argument("--emulator", choices=("inprocess", "process"), default="process",
                        help="growth: moto in its own process (the default: peak RSS is ganger's alone, as on "
                        "AWS where the rows live in DynamoDB) or in each run's process (peak RSS counts every "
                        "row)")  # fmt: skip
    parser.add_argument("--cold-start", action="store_true", help="import time of every essential and processor")
    parser.add_argument("--all", action="store_true", help="comparison, growth and cold start")
    parser.add_argument("--write", action="store_true", help="also write benchmarks/results/<date>.json")
    parser.add_argument("--json", action="store_true", help="print the results as JSON")
    args = parser.parse_args(argv)
    prepare_environment()
    results: dict[str, Any] = {}
    with stdout_to_stderr():
        if args.all or not (args.growth or args.cold_start):
            results["compare"] = compare(args.tasks, args.sosw_tasks, meta=not args.no_sosw_meta)
        if args.all or args.growth:
            sizes = [int(n) for n in args.sizes.split(",") if n.strip()]
            results["growth"] = growth(sizes, args.growth_timeout, args.emulator)
        if args.all or args.cold_start:
            results["cold_start"] = cold_start()
    if args.write:
        print(f"written to {write_results(results)}", file=sys.stderr)
    print(json.dumps(results, indent=1) if args.json else format_results(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
