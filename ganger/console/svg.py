"""Inline SVG, rendered server-side (no script, no library: the pages' CSP is ``default-src 'self'``).

Three shapes: bars (a count per bucket), lines (a figure per bucket, gaps where there is none) and steps (a level
over time, with dashed horizontal marks and shaded spans). A bucket that was not read (``None``) is drawn as a
grey tick on the baseline, never as a zero bar. Every text goes through ``esc``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from ganger.console.layout import Html, esc

UNREAD = "#d0d0d0"
COLOURS = ("#2f6fb0", "#c2410c", "#15803d")


def _svg(width: int, height: int, css: str, label: str, body: str, data: Mapping[str, object] | None = None) -> Html:
    """The chart's frame: its label as title and aria-label, its figures as data- attributes, a baseline."""
    body = f'<line x1="0" y1="{height - 0.5}" x2="{width}" y2="{height - 0.5}" stroke="#e3e3e3"/>' + body
    attrs = "".join(f' data-{k}="{esc(v)}"' for k, v in (data or {}).items())
    return Html(
        f'<svg class="chart {esc(css)}" width="{width}" height="{height}" viewBox="0 0 {width} {height}" '
        f'role="img" aria-label="{esc(label)}"{attrs} xmlns="http://www.w3.org/2000/svg"><title>{esc(label)}</title>'
        f"{body}</svg>"
    )


def _num(value: float) -> str:
    return f"{value:.1f}".rstrip("0").rstrip(".")


def bars(values: Sequence[int | None], label: str, css: str = "bars", width: int = 180, height: int = 36) -> Html:
    """One bar per bucket, scaled to the largest; each with its count as a tooltip."""
    top = max([v for v in values if v is not None] + [1])
    step = width / max(1, len(values))
    parts = []
    for i, value in enumerate(values):
        x = _num(i * step + 0.5)
        w = _num(max(1.0, step - 1))
        if value is None:
            parts.append(f'<rect class="unread" x="{x}" y="{height - 2}" width="{w}" height="2" fill="{UNREAD}">'
                         "<title>not read</title></rect>")  # fmt: skip
            continue
        h = (height - 2) * value / top
        parts.append(f'<rect x="{x}" y="{_num(height - h)}" width="{w}" height="{_num(h)}" fill="{COLOURS[0]}" '
                     f'data-value="{value}"><title>{value}</title></rect>')  # fmt: skip
    total = sum(v for v in values if v is not None)
    return _svg(width, height, css, label, "".join(parts), {"total": total, "max": top})


def lines(series: Mapping[str, Sequence[float | None]], label: str, css: str = "lines", width: int = 180,
          height: int = 36) -> Html:  # fmt: skip
    """A polyline per series over the same buckets (the first series first colour), broken where a value is
    missing; the scale is shared, from 0 to the largest value."""
    top = max([v for s in series.values() for v in s if v is not None] + [1])
    count = max([len(s) for s in series.values()] + [1])
    step = width / count
    parts = []
    for colour, (name, values) in zip(COLOURS, series.items(), strict=False):
        runs: list[list[str]] = [[]]
        for i, value in enumerate(values):
            if value is None:
                runs.append([])
                continue
            runs[-1].append(f"{_num(i * step + step / 2)},{_num(height - 1 - (height - 2) * value / top)}")
        for run in (r for r in runs if r):
            if len(run) == 1:
                x, y = run[0].split(",")
                parts.append(f'<circle cx="{x}" cy="{y}" r="1.5" fill="{colour}"/>')
            else:
                parts.append(f'<polyline class="{esc(name)}" points="{" ".join(run)}" fill="none" '
                             f'stroke="{colour}" stroke-width="1.5"/>')  # fmt: skip
    return _svg(width, height, css, label, "".join(parts), {"max": _num(top)})


@dataclass(frozen=True)
class Mark:
    """A dashed horizontal line at ``level`` with its label."""

    level: float
    label: str


@dataclass(frozen=True)
class Span:
    """A shaded stretch of time with its label."""

    start: float
    end: float
    label: str


@dataclass(frozen=True)
class Axis:
    """The time axis: from ``start`` to ``end`` (epoch seconds), with labels at ``ticks``."""

    start: float
    end: float
    ticks: list[tuple[float, str]] = field(default_factory=list)


def steps(points: Sequence[tuple[float, int]], axis: Axis, label: str, marks: Sequence[Mark] = (),
          spans: Sequence[Span] = (), css: str = "steps", width: int = 720, height: int = 170) -> Html:  # fmt: skip
    """A level over time (a step line from ``points``), with marks (cap) and spans (paused, not read)."""
    left, right, top_pad, bottom = 40, 10, 16, 20
    plot_w, plot_h = width - left - right, height - top_pad - bottom
    top = max([p[1] for p in points] + [m.level for m in marks] + [1])
    length = max(axis.end - axis.start, 1e-9)

    def x(t: float) -> str:
        return _num(left + plot_w * (min(max(t, axis.start), axis.end) - axis.start) / length)

    def y(v: float) -> str:
        return _num(top_pad + plot_h - plot_h * v / top)

    parts = [f'<rect class="span" x="{x(s.start)}" y="{top_pad}" width="{_num(float(x(s.end)) - float(x(s.start)))}" '
             f'height="{plot_h}" fill="#fde9c8"><title>{esc(s.label)}</title></rect>' for s in spans]  # fmt: skip
    parts.append(f'<line x1="{left}" y1="{y(0)}" x2="{width - right}" y2="{y(0)}" stroke="#999"/>')
    parts += [f'<text x="{left - 4}" y="{_num(float(y(v)) + 4)}" text-anchor="end" font-size="10">{_num(v)}</text>'
              for v in sorted({0, top})]  # fmt: skip
    for colour, mark in zip(COLOURS[1:] * len(marks), marks, strict=False):
        parts.append(f'<line class="mark" x1="{left}" y1="{y(mark.level)}" x2="{width - right}" y2="{y(mark.level)}" '
                     f'stroke="{colour}" stroke-dasharray="4 3"><title>{esc(mark.label)}</title></line>'
                     f'<text x="{width - right}" y="{_num(float(y(mark.level)) - 3)}" text-anchor="end" font-size="10" '
                     f'fill="{colour}">{esc(mark.label)}</text>')  # fmt: skip
    path = []
    for i, (t, level) in enumerate(points):
        if i:
            path.append(f"{x(t)},{y(points[i - 1][1])}")
        path.append(f"{x(t)},{y(level)}")
    if path:
        parts.append(f'<polyline class="level" points="{" ".join(path)}" fill="none" stroke="{COLOURS[0]}" '
                     'stroke-width="1.5"/>')  # fmt: skip
    parts += [f'<text x="{x(t)}" y="{height - 6}" text-anchor="middle" font-size="10">{esc(text)}</text>'
              for t, text in axis.ticks]  # fmt: skip
    peak = max([p[1] for p in points] + [0])
    return _svg(width, height, css, label, "".join(parts), {"points": len(points), "peak": peak})
