"""The read pages: overview, a labourer, a task, dead tasks, config documents, cost. Each takes what
``ganger.console.reads`` read and returns HTML; none reads anything itself."""

from __future__ import annotations

import dataclasses
import json
from typing import Any

from ganger.config import StoredDocument
from ganger.console import charts
from ganger.console.dead import DeadGroup
from ganger.console.forms import LIMIT_FIELDS, Proposal, limit_value
from ganger.console.layout import Html, age, dl, esc, form, link, page, table, when
from ganger.console.reads import DocumentRow, LabourerPage, OverviewRow, TaskPage

FOLD_AT = 400  # characters of JSON shown before a value is folded
OVERVIEW_COLUMNS = ("labourer", "running / cap", "queued", "oldest queued", "completed 1 h", "dead 24 h", "health",
                    "paused", "start latency (1 h)", "completions a minute (1 h)")  # fmt: skip


def gauge(running: int | None, cap: int | None) -> Html:
    if running is None or cap is None:
        return Html('<span class="muted">no counter yet</span>')
    return Html(f'<meter min="0" max="{max(cap, 1)}" value="{running}"></meter> {running} / {cap}')


def chart_cells(row: OverviewRow) -> list[Html]:
    """The overview's two charts of a row (the live refresh sends them as they are rendered here)."""
    if row.figures is None:
        return [Html(""), Html("")]
    return [charts.latency_chart(row.figures), charts.completions_chart(row.figures)]


def charts_at(row: OverviewRow) -> str:
    """When the row's charts were read (the live refresh redraws them when this changes)."""
    return "" if row.figures is None else f"{row.figures.sample.now:.3f}"


def overview_cells(row: OverviewRow) -> list[object]:
    paused = f"paused: {row.paused_reason}" if row.paused else "no"
    return [link(f"/labourers/{row.labourer}", row.labourer), gauge(row.running, row.cap), str(row.queued),
            age(row.oldest_queued_age), str(row.completed_1h), str(row.dead_24h), row.health, paused,
            *chart_cells(row)]  # fmt: skip


def overview(rows: list[OverviewRow], allowed: bool) -> Html:
    body = table(OVERVIEW_COLUMNS, [overview_cells(r) for r in rows], "labourers",
                 [{"data-labourer": r.labourer, "data-charts-at": charts_at(r)} for r in rows])  # fmt: skip
    note = Html('<p class="muted">updated <span id="updated">now</span>, live every 2 s (GET /api/overview). '
                "Counts stop at 100 (100+; a longer queue: ~N from its positions); health 0 Bad .. 4 High. "
                "Charts: from each labourer's newest 200 completed tasks of the last hour (the caption says the "
                "span they cover; grey ticks: minutes not read), read again at most every 30 s; start latency: "
                "created (the Scheduler wrote the task) to invoked (its slot claimed), for tasks done at their first "
                "attempt, p50 blue, p95 orange per 5 minutes.</p>")  # fmt: skip
    return page("overview", Html(body + note), allowed, script=True)


def folded(value: Any) -> Html:
    text = json.dumps(value, indent=1, sort_keys=True)
    if len(text) <= FOLD_AT:
        return Html(f"<pre>{esc(text)}</pre>")
    return Html(f"<details><summary><code>{esc(text[:80])}…</code> ({len(text):,} characters)</summary>"
                f"<pre>{esc(text)}</pre></details>")  # fmt: skip


def limits_form(data: LabourerPage, token: str, allowed: bool, proposal: Proposal | None) -> Html:
    """The limits editor: values as stored (or as submitted), the schema's error next to its field."""
    entry = proposal.new["labourers"][data.row.labourer.id] if proposal is not None else data.entry
    lab = data.row.labourer
    rows = []
    for name, label in LIMIT_FIELDS.items():
        value = limit_value(entry, _default(lab, name), name)
        error = ""
        if proposal is not None and proposal.error is not None and proposal.field == name:
            error = f'<span class="error" id="error-{name}">{esc(proposal.error.problem)}</span>'
        rows.append(f'<label>{esc(label)} <input name="{name}" value="{esc(value)}"></label>{error}')
    general = ""
    if proposal is not None and proposal.error is not None and proposal.field is None:
        general = f'<p class="error">{esc(proposal.error)}</p>'
    disabled = "" if allowed else " disabled"
    return Html(
        f'<form method="post" action="/labourers/{esc(lab.id)}/limits" id="limits">{general}'
        f'<input type="hidden" name="csrf" value="{esc(token)}">'
        f'<input type="hidden" name="version" value="{proposal.version if proposal else data.version}">'
        + "".join(f"<div>{r}</div>" for r in rows)
        + f'<button type="submit"{disabled}>check and show the diff</button></form>'
    )


def _default(lab: Any, name: str) -> Any:
    """A limit's value when the entry leaves it out: the Labourer's default (``rate`` as its fields)."""
    head = name.partition(".")[0]
    value = getattr(lab, head, None)
    return dataclasses.asdict(value) if dataclasses.is_dataclass(value) and not isinstance(value, type) else value


def labourer(data: LabourerPage, token: str, allowed: bool, proposal: Proposal | None = None) -> Html:
    lab, view, row = data.row.labourer, data.row.view(), data.overview
    facts = dl([
        ("type", lab.type), ("running / cap", gauge(row.running, row.cap)),
        ("configured cap", lab.max_simultaneous_invocations), ("lanes", lab.lane_count),
        ("queued", str(row.queued)), ("oldest queued", age(row.oldest_queued_age)), ("health", row.health),
        ("dispatch", lab.dispatch), ("max attempts", lab.max_attempts),
        ("duration + cooldown", f"{lab.duration} + {lab.cooldown} s"),
        ("paused", f"yes since {when(view['paused_at'])}: {lab.paused_reason}" if row.paused else "no"),
    ])  # fmt: skip
    if row.paused:
        toggle = form(f"/labourers/{lab.id}/resume", token, [], "resume…", allowed, "resume")
    else:
        toggle = form(f"/labourers/{lab.id}/pause", token, [], "pause…", allowed, "pause")
    waiting = table(
        ("task", "queued since", "why it waits"),
        [(link(f"/tasks/{w.task.task_id}", w.task.task_id), when(w.task.created_at), w.why.text) for w in data.waiting],
        "waiting",
    )
    timeline = "" if data.timeline is None else f"<h2>capacity, the last hour</h2>{charts.timeline(data.timeline)}"
    body = Html(
        f"{facts}{toggle}{timeline}<h2>limits</h2><p class='muted'>ganger_labourers version {data.version}; saved "
        f"only if nobody changed it since, after a diff</p>{limits_form(data, token, allowed, proposal)}"
        f"<h2>queued tasks (first {len(data.waiting)})</h2>{waiting}"
    )
    return page(f"labourer {lab.id}", body, allowed)


def after(seconds: float | None) -> str:
    if seconds is None:
        return ""
    return f"+{seconds:.1f} s" if seconds < 10 else f"+{seconds:,.0f} s"


def task(data: TaskPage, allowed: bool) -> Html:
    view = data.view
    facts = dl([("state", view["state"]), ("labourer", link(f"/labourers/{view['labourer_id']}", view["labourer_id"])),
                ("attempts", view["attempts"]), ("job", view["job_id"] or "-"), ("table", view["table"]),
                ("failure reason", view["failure_reason"] or "-")])  # fmt: skip
    steps = table(
        ("when", "step", "after", "detail"),
        [(when(s.at), s.what, after(s.after), s.detail) for s in data.steps],
        "attempts",
    )
    note = "" if data.audited else "<p class='muted'>earlier attempts' moments: in the audit trail, off here</p>"
    why = f"<h2>why it waits</h2><p id='why'>{esc(data.why.text)}</p>" if data.why is not None else ""
    logs = ""
    if data.logs_url is not None:
        logs = (f'<p><a id="logs" href="{esc(data.logs_url)}" target="_blank" rel="noopener noreferrer">its worker\'s '
                "logs in CloudWatch Logs Insights</a>, filtered by its id (the last 7 days)</p>")  # fmt: skip
    body = Html(
        f"{facts}{logs}<h2>attempts</h2>{steps}{note}{why}<h2>payload</h2>{folded(view['payload'])}"
        f"<h2>result</h2>{folded(view['result'])}<h2>stats</h2>{folded(view['stats'])}"
    )
    return page(f"task {view['task_id']}", body, allowed)


def dead(groups: list[DeadGroup], token: str, allowed: bool) -> Html:
    rows = [
        (link(f"/labourers/{g.labourer_id}", g.labourer_id), g.kind, g.error, len(g.tasks), when(g.first_seen),
         when(g.last_seen), link(f"/tasks/{g.tasks[0].task_id}", g.tasks[0].task_id),
         form("/dead/redrive", token, [("group", g.key)], f"redrive {len(g.tasks)}…", allowed, css="redrive"))
        for g in groups
    ]  # fmt: skip
    headers = ("labourer", "type", "error (ids and numbers masked)", "tasks", "first seen", "last seen", "e.g.", "")
    note = "dead tasks closed in the last 7 days, the newest 300 of each labourer"
    body = Html(f"<p class='muted'>{note}</p>{table(headers, rows, 'groups')}")
    return page("dead tasks", body, allowed)


def documents(rows: list[DocumentRow], allowed: bool) -> Html:
    body = table(
        ("document", "version", "schema", "valid"),
        [(link(f"/config/{r.name}", r.name), r.version, "schema" if r.has_schema else "JSON object",
          r.error or "ok") for r in rows],
        "documents",
    )  # fmt: skip
    return page("config", body, allowed)


def document(name: str, stored: StoredDocument | None, token: str, allowed: bool, proposal: Proposal | None) -> Html:
    version = proposal.version if proposal else (stored.version if stored else 0)
    text = json.dumps(stored.value if stored else {}, indent=1, sort_keys=True)
    error = ""
    if proposal is not None and proposal.error is not None:
        error = f'<p class="error" id="error-text">{esc(proposal.error)}</p>'
    disabled = "" if allowed else " disabled"
    body = Html(
        f"<p class='muted'>version {version}; checked against its schema, saved only after a diff and only if "
        f"nobody changed it since</p>"
        f'<form method="post" action="/config/{esc(name)}" id="editor">{error}'
        f'<input type="hidden" name="csrf" value="{esc(token)}"><input type="hidden" name="version" value="{version}">'
        f'<textarea name="text" rows="24" cols="100">{esc(text)}</textarea>'
        f'<div><button type="submit"{disabled}>check and show the diff</button></div></form>'
    )
    return page(f"config {name}", body, allowed)


def cost(data: dict[str, Any], allowed: bool) -> Html:
    prices = data["prices"]
    rows: list[tuple[object, ...]] = []
    for name, system in data["systems"].items():
        rows.append((Html(f"<strong>{esc(name)}</strong>"), f"{system['usd_per_million_tasks']:.2f}"))
        rows += [(Html(f"&nbsp;&nbsp;{esc(item)}"), f"{value:.2f}") for item, value in system["lines"].items()]
    body = Html(
        f"<p>orchestration cost per 1,000,000 tasks (USD, on-demand list prices {esc(prices['region'])}, as of "
        f"{esc(prices['as_of'])}); units metered over {esc(data['tasks_measured'])} tasks: {esc(data['profile'])}</p>"
        + table(("system / line", "USD per million tasks"), rows, "cost")
        + f"<p class='muted'>excluded: {esc(data['excluded'])}</p>"
    )
    return page("cost", body, allowed)
