"""The charts the pages show, from what ``ganger.console.history`` read: each with a caption saying what it
covers ("the last 200 completed: 14:02-14:05 UTC"), since a full sample covers less than the hour.

- the overview, per labourer: start latency p50 / p95 per 5 minutes and completions per minute over the last
  hour, from its newest completed tasks;
- a labourer's page: its capacity timeline, running over the last hour (each attempt from its invocation to its
  close, from the newest completed and dead tasks, plus the attempts holding a slot now) against its cap now
  and its configured cap, its last pause shaded.
"""

from __future__ import annotations

import time

from ganger.console import svg
from ganger.console.layout import Html, esc
from ganger.console.series import Figures, Sample, Timeline


def clock(epoch: float) -> str:
    return time.strftime("%H:%M", time.gmtime(epoch))


def span(sample: Sample, what: str) -> str:
    """What a sample covers, in words."""
    if not sample.tasks:
        return f"no task {what} in the last hour"
    if sample.full:
        return f"the last {len(sample.tasks)} {what}: {clock(sample.covered_from)}-{clock(sample.now)} UTC"
    return f"all {len(sample.tasks)} {what} in the last hour ({clock(sample.since)}-{clock(sample.now)} UTC)"


def _seconds(value: float | None) -> str:
    return "-" if value is None else f"{value:,.0f} s"


def latency_chart(found: Figures) -> Html:
    label = (f"start latency p50 {_seconds(found.p50)}, p95 {_seconds(found.p95)} over {found.latencies} tasks; "
             f"{span(found.sample, 'completed')}")  # fmt: skip
    chart = svg.lines({"p50": found.latency_p50, "p95": found.latency_p95}, label, "latency")
    return Html(f'{chart}<div class="caption">p50 {esc(_seconds(found.p50))} · p95 {esc(_seconds(found.p95))}</div>')


def completions_chart(found: Figures) -> Html:
    read = [v for v in found.per_minute if v is not None]
    rate = f"{sum(read) / len(read):,.1f}" if read else "-"
    label = f"completions a minute (mean {rate}); {span(found.sample, 'completed')}"
    chart = svg.bars(found.per_minute, label, "completions")
    return Html(f'{chart}<div class="caption">{esc(span(found.sample, "completed"))}</div>')


def timeline(line: Timeline) -> Html:
    points = line.running()
    marks = [svg.Mark(line.configured_cap, f"configured cap {line.configured_cap}")]
    if line.cap is not None and line.cap != line.configured_cap:
        marks.append(svg.Mark(line.cap, f"cap now {line.cap}"))
    spans = [svg.Span(a, b, f"paused {clock(a)}-{clock(b)} UTC") for a, b in line.paused]
    if line.covered_from > line.since:
        spans.append(svg.Span(line.since, line.covered_from, "not read: older than the newest closed tasks read"))
    first = int(line.since) + 600 - int(line.since) % 600  # every 10 minutes
    ticks: list[tuple[float, str]] = [(t, clock(t)) for t in range(first, int(line.now), 600)]
    axis = svg.Axis(line.since, line.now, ticks)
    peak = max([p[1] for p in points] + [0])
    label = f"running over the last hour (peak {peak}, now {points[-1][1]}), cap now {line.cap}"
    chart = svg.steps(points, axis, label, marks, spans, "timeline")
    capped = (f"; only the {line.invoked_limit} newest running attempts were read"
              if len(line.invoked) >= line.invoked_limit else "")  # fmt: skip
    notes = (
        f"running from {clock(line.covered_from)} UTC: each attempt from its invocation to its close, from "
        f"{span(line.completed, 'completed')} and {span(line.dead, 'dead')}, plus the {len(line.invoked)} attempts "
        f"holding a slot now{capped}. Attempts that ended in a retry are not drawn (a retry row keeps no attempt "
        "times). The cap is drawn as it is now: its counter keeps no history (the effective cap follows health)."
    )
    return Html(f'{chart}<p class="muted" id="timeline-notes">{esc(notes)}</p>')
