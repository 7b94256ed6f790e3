"""The dispatch benchmark's chart: tasks running over time and the start-latency distribution, event beside
tick, for the throughput and burst workloads (matplotlib, from the ``dev`` extra)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

WORKLOADS = ("throughput", "burst")
COLOURS = {"event": "#1f77b4", "tick": "#d62728"}
WINDOW_SECONDS = 240  # enough to see the tick's once-a-minute waves beside event dispatch's steady level


def running_over_time(
    intervals: list[tuple[float, float]], t0: float, step: float = 0.25
) -> tuple[list[float], list[int]]:
    """Tasks running at each ``step`` seconds from ``t0`` (a sweep over start/end edges)."""
    if not intervals:
        return [], []
    end = max(e for _, e in intervals)
    starts = sorted(s for s, _ in intervals)
    ends = sorted(e for _, e in intervals)
    times, counts = [], []
    i = j = 0
    t = t0
    while t <= end + step:
        while i < len(starts) and starts[i] <= t:
            i += 1
        while j < len(ends) and ends[j] <= t:
            j += 1
        times.append(t - t0)
        counts.append(i - j)
        t += step
    return times, counts


def draw(results: dict[str, Any], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    workloads = [w for w in WORKLOADS if any(w in m for m in results["modes"].values())]
    fig, axes = plt.subplots(len(workloads), 2, figsize=(12, 4 * len(workloads)), squeeze=False)
    for row, name in enumerate(workloads):
        running_ax, latency_ax = axes[row]
        for mode, by_workload in results["modes"].items():
            figures = by_workload.get(name)
            if not figures:
                continue
            series = figures["_series"]
            times, counts = running_over_time(series["intervals"], series["t0"])
            running_ax.plot(times, counts, color=COLOURS.get(mode), label=f"{mode} (max {figures['max_running']})")
            latencies = sorted(series["latencies"])
            fraction = [(i + 1) / len(latencies) for i in range(len(latencies))]
            label = f"{mode}: p50 {figures['start_p50_s']} s, p95 {figures['start_p95_s']} s"
            latency_ax.step(latencies, fraction, where="post", color=COLOURS.get(mode), label=label)
            cap = figures["cap"]
        running_ax.axhline(cap, color="grey", linestyle="--", linewidth=1, label=f"cap {cap}")
        running_ax.set_xlim(0, WINDOW_SECONDS)
        running_ax.set_title(f"{name}: tasks running (first {WINDOW_SECONDS // 60} minutes)")
        running_ax.set_xlabel("seconds since the first job")
        running_ax.set_ylabel("running")
        running_ax.legend(loc="upper right")
        latency_ax.set_xscale("symlog", linthresh=1)
        latency_ax.set_title(f"{name}: start latency (job accepted -> worker started)")
        latency_ax.set_xlabel("seconds (log scale above 1 s)")
        latency_ax.set_ylabel("fraction of tasks started")
        latency_ax.legend(loc="lower right")
    fig.suptitle("ganger dispatch: event-driven vs the minute tick (simulated time, 20 ms per Invoke)")
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)
