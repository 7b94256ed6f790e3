"""The scale benchmark's rate: tasks at work over the steady window (Little's law), not completions counted in it."""

from __future__ import annotations

from benchmarks.scale import Workload
from benchmarks.scale_figures import _busy, _steady_window


def waves(cap: int, period: float, count: int) -> list[float]:
    """Every slot's tasks start together: a wave of ``cap`` starts each ``period`` seconds."""
    return [wave * period for wave in range(count) for _ in range(cap)]


def test_the_rate_of_waves_is_not_skewed_by_where_the_window_cuts_them() -> None:
    # 100 slots, 1 s tasks, the next wave 0.25 s after the last ends: 80 completions a second, exactly.
    workload = Workload("w", cap=100, duration=1.0, tasks=3_000)
    starts = waves(100, 1.25, 30)
    completions = sorted(s + 1.0 for s in starts)
    window = _steady_window(workload, completions)
    assert window is not None
    counted = sum(1 for t in completions if window[0] <= t <= window[1]) / (window[1] - window[0])
    busy = _busy([(s, s + 1.0) for s in starts], window)
    assert abs(busy / workload.duration - 80.0) < 2.0
    assert counted > 1.02 * busy / workload.duration, (
        "counting completions in a window that begins and ends on a wave over-counts it"
    )


def test_busy_clips_work_to_the_window() -> None:
    assert _busy([(0.0, 1.0), (0.5, 1.5), (2.0, 3.0)], (0.5, 2.5)) == (0.5 + 1.0 + 0.5) / 2.0
