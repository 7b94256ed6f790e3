"""The figures of one scale run: throughput over the steady window, start latency, conflicts, dollars."""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from benchmarks.dispatch import _max_running

if TYPE_CHECKING:
    from benchmarks.scale import Workload

T0 = 1_800_000_000.0


@dataclass
class Record:
    starts: defaultdict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    accepted: dict[str, float] = field(default_factory=dict)  # job id -> its Scheduler run started
    job_of: dict[str, str] = field(default_factory=dict)
    completions: list[float] = field(default_factory=list)
    outcomes: Counter[str] = field(default_factory=Counter)
    reports_not_sent: int = 0
    assistant_errors: int = 0


def figures(workload: Workload, design: str, record: Record, sim: Any, model: Any, counter: Any, meter: Any,
             wall: float) -> dict[str, Any]:  # fmt: skip
    from ganger.cost import Assumptions, Prices, UnitProfile, ganger_lines

    completions = sorted(record.completions)
    done = len(completions)
    window = _steady_window(workload, completions)
    intervals = [(s, s + workload.duration) for runs in record.starts.values() for s in runs]
    counted = sum(1 for t in completions if window[0] <= t <= window[1]) / (window[1] - window[0]) if window else 0.0
    rate = _busy(intervals, window) / workload.duration if window else 0.0
    units = meter.units.to_dict()
    per = max(1, done)
    usd = sum(ganger_lines(UnitProfile(per, units, "scale"), Prices(), Assumptions()).values()) if done else None
    counts = model.counts
    latencies = sorted(runs[0] - record.accepted[record.job_of[task]] for task, runs in record.starts.items()
                       if record.job_of.get(task) in record.accepted)  # fmt: skip
    return {
        "cap": workload.cap,
        "tasks": workload.tasks,
        "duration_s": workload.duration,
        "completed": done,
        "stopped_early": done < workload.tasks,
        "completions_per_s": round(rate, 1),
        "completions_counted_per_s": round(counted, 1),
        "ideal_per_s": round(workload.ideal_per_s, 1),
        "of_ideal": round(rate / workload.ideal_per_s, 3),
        "steady_window_s": [round(window[0] - T0, 2), round(window[1] - T0, 2)] if window else None,
        "max_running": _max_running(intervals),
        "start_p50_s": round(latencies[len(latencies) // 2], 3) if latencies else None,
        "start_p95_s": round(latencies[int(0.95 * (len(latencies) - 1))], 3) if latencies else None,
        "conflicts_per_task": round(counts.conflicts / per, 3),
        "throttles_per_task": round(counts.throttles / per, 3),
        "reports_failed": _reports_failed(record),
        "finished_rerun": sum(1 for runs in record.starts.values() if len(runs) > 1),
        "wcu_per_task": round((units["dynamodb_table_write_units"] + units["dynamodb_index_write_units"]) / per, 2),
        "usd_per_million_tasks": round(usd, 2) if usd is not None else None,
        "calls_per_task": round(counter.total() / per, 3),
        "assistant_outcomes": dict(record.outcomes),
        "contention": counts.to_dict(),
        "errors": sim.errors[:3],
        "error_count": len(sim.errors),
        "simulated_s": round(sim.now - T0, 2),
        "wall_s": round(wall, 1),
    }


def _reports_failed(record: Record) -> int:
    """Reports whose outcome was not recorded: never sent, a WorkerAssistant that raised, or one that found
    the report late (every attempt here reports once, in time)."""
    late = sum(n for outcome, n in record.outcomes.items() if outcome != "completed")
    return record.reports_not_sent + record.assistant_errors + late


def _busy(intervals: list[tuple[float, float]], window: tuple[float, float]) -> float:
    """Tasks at work on average over the window (slot-seconds of work inside it / its length). By Little's law
    a labourer completes busy / duration tasks a second; unlike counting the completions that fall inside the
    window, this is not skewed by where the window's ends cut the waves of tasks that start together."""
    start, end = window
    return sum(max(0.0, min(b, end) - max(a, start)) for a, b in intervals) / (end - start)


def _steady_window(workload: Workload, completions: list[float]) -> tuple[float, float] | None:
    """From one task duration after the first completion (the ramp) to the 90th percentile completion
    (or the last, for a run stopped early): the rate a labourer with a backlog keeps."""
    if len(completions) < 10:
        return None
    start = completions[0] + workload.duration
    end = completions[int(0.9 * (len(completions) - 1))] if len(completions) >= workload.tasks else completions[-1]
    return (start, end) if end > start else None
