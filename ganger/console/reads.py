"""What each page shows, read through the operator layer (``ganger.ops``) with index queries only.

One ``ConsoleReads`` serves every request; it builds a fresh ``Ops`` per page (no I/O in its constructor), so a
page always shows the labourers document as stored now.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from ganger.audit import AuditEvent, AuditTrail
from ganger.clients import AwsClients
from ganger.config import ConfigStore, StoredDocument
from ganger.console.counts import COUNT_CAP, Bounded, BoundedCounts
from ganger.console.dead import DeadGroup, group_dead
from ganger.console.history import History
from ganger.console.insights import insights_url, on_aws, worker_log_group
from ganger.console.series import Figures, Timeline, figures, last_pause
from ganger.console.timeline import Step, timeline
from ganger.cost import report
from ganger.ecology import Ecology
from ganger.labourer import LABOURERS_DOCUMENT, Labourer
from ganger.ops.config import Checked, check_documents, list_documents, table_documents
from ganger.ops.context import Ops
from ganger.ops.labourers import LabourerRow, list_labourers
from ganger.ops.tasks import locate, task_view
from ganger.ops.why import Why, task_why
from ganger.task_state import CLOSED_STATUS, TaskState
from ganger.tasks import STATUS_COMPLETED, STATUS_DEAD, Task

HOUR = 3600
DAY = 86400
QUEUED_SHOWN = 10  # queued tasks listed (each with its why) on a labourer's page
DEAD_READ = 300  # dead tasks read per labourer for /dead (newest first; a redriven group makes room for more)
OVERVIEW_CAP = 100  # the overview refreshes every 2 s: its counts stop sooner (a long queue: its span, ~N)
LABOURER_CAP = 100  # a labourer's page the same: exact up to here, then ~N (the queue) or N+
OVERVIEW_THREADS = 8  # labourers read at once (on AWS the reads wait on the network, not on the CPU)
CHART_SAMPLE = 200  # the overview's charts: the newest completed tasks of the last hour read per labourer
CHARTS_EVERY = 30.0  # seconds: /api/overview (every 2 s) reads the charts' sample again at most this often
TIMELINE_SAMPLE = 300  # a labourer's timeline: its newest completed and dead tasks read (each)
RUNNING_READ = 300  # a labourer's timeline: the attempts holding a slot now read, at most


@dataclass(frozen=True)
class OverviewRow:
    """One labourer on the overview."""

    labourer: str
    running: int | None
    cap: int | None
    configured_cap: int
    queued: Bounded
    oldest_queued_age: int | None
    completed_1h: Bounded
    dead_24h: Bounded
    health: int
    paused: bool
    paused_reason: str
    figures: Figures | None = None  # the charts' figures (None: not read for this row)

    def view(self) -> dict[str, Any]:
        return {
            "labourer": self.labourer, "running": self.running, "cap": self.cap,
            "configured_cap": self.configured_cap, "queued": self.queued.view(),
            "oldest_queued_age": self.oldest_queued_age, "completed_1h": self.completed_1h.view(),
            "dead_24h": self.dead_24h.view(), "health": self.health, "paused": self.paused,
            "paused_reason": self.paused_reason,
        }  # fmt: skip


@dataclass(frozen=True)
class Waiting:
    task: Task
    why: Why


@dataclass(frozen=True)
class LabourerPage:
    row: LabourerRow
    overview: OverviewRow
    entry: dict[str, Any]  # its entry of the labourers document, as stored
    version: int  # of the labourers document
    waiting: list[Waiting] = field(default_factory=list)
    timeline: Timeline | None = None


@dataclass(frozen=True)
class TaskPage:
    view: dict[str, Any]
    state: TaskState
    steps: list[Step]
    why: Why | None
    audited: bool  # the audit trail was read (earlier attempts' steps come from it)
    logs_url: str | None = None  # on AWS: CloudWatch Logs Insights over its worker's log group, filtered by its id


@dataclass(frozen=True)
class DocumentRow:
    name: str
    version: int
    has_schema: bool
    error: str  # "" when valid


class ConsoleReads:
    """Page data. ``audit`` reads a task's audit rows when the trail's table is known."""

    def __init__(self, clients: AwsClients, audit: AuditTrail | None = None, clock: Callable[[], float] = time.time):
        self.clients = clients
        self.audit = audit
        self.clock = clock
        self._ecology = Ecology(clients.cloudwatch)
        self._figures: dict[str, Figures] = {}  # the last figures of each labourer, reused by /api/overview

    def ops(self) -> Ops:
        return Ops(self.clients)

    def _row(self, ops: Ops, row: LabourerRow, now: float, cap: int = COUNT_CAP, charts: bool | None = None
             ) -> OverviewRow:  # fmt: skip
        """``charts``: None, no figures; True, read now; False, the last ones when younger than CHARTS_EVERY."""
        lab, counts = row.labourer, BoundedCounts(self.clients.dynamodb, ops.store.tables, cap)
        live = [s for s in row.counters if s is not None]
        front = ops.store.queued(lab.id, now, limit=1, lanes=lab.lane_count)
        return OverviewRow(
            labourer=lab.id,
            running=sum(s.held for s in live) if live else None,
            cap=sum(s.cap for s in live) if live else None,
            configured_cap=lab.max_simultaneous_invocations,
            queued=counts.queued_or_span(lab, now, front[0].greenfield if front else None),
            oldest_queued_age=int(now - front[0].created_at) if front else None,
            completed_1h=counts.completed(lab, now - HOUR),
            dead_24h=counts.dead(lab, now - DAY),
            health=self._ecology.status(lab) if lab.health_metrics else 4,
            paused=lab.paused or any(s.paused for s in live),
            paused_reason=lab.paused_reason,
            figures=None if charts is None else self._charts(ops, lab, now, fresh=charts),
        )

    def _charts(self, ops: Ops, lab: Labourer, now: float, fresh: bool) -> Figures:
        """The overview's figures: the newest ``CHART_SAMPLE`` completed tasks of the last hour (one Query per
        lane), kept for ``CHARTS_EVERY`` seconds only to spare the 2-second refresh (a restart reads them again)."""
        last = self._figures.get(lab.id)
        if not fresh and last is not None and 0 <= now - last.sample.now < CHARTS_EVERY:
            return last
        history = History(self.clients.dynamodb, ops.store.tables)
        found = figures(history.closed(lab, STATUS_COMPLETED, now - HOUR, now, CHART_SAMPLE))
        self._figures[lab.id] = found
        return found

    def overview(self, fresh_charts: bool = True) -> list[OverviewRow]:
        """Every labourer: slot counters (one read each), a bounded COUNT per figure, the queue's front, the
        charts' sample (``fresh_charts`` False: read again only when older than ``CHARTS_EVERY``)."""
        ops, now = self.ops(), self.clock()
        rows = list_labourers(ops)
        with ThreadPoolExecutor(max_workers=max(1, min(OVERVIEW_THREADS, len(rows)))) as pool:
            return list(pool.map(lambda row: self._row(ops, row, now, OVERVIEW_CAP, fresh_charts), rows))

    def labourer(self, name: str) -> LabourerPage:
        """Its limits, counters, document entry and the first queued tasks with what holds each."""
        ops, now = self.ops(), self.clock()
        lab = ops.labourer(name)
        row = LabourerRow(lab, ops.store.slots.read_lanes(lab.id, lab.lane_count))
        stored = ops.config.get(LABOURERS_DOCUMENT)
        document = stored.value if stored is not None and isinstance(stored.value, dict) else {}
        entry = dict(document.get("labourers", {}).get(name) or {})
        queued = ops.store.queued(lab.id, now, limit=QUEUED_SHOWN, lanes=lab.lane_count)
        waiting = [Waiting(task, task_why(ops, task.task_id, now, self._ecology.readings)) for task in queued]
        version = stored.version if stored is not None else 0
        overview = self._row(ops, row, now, LABOURER_CAP)
        return LabourerPage(row, overview, entry, version, waiting, self._timeline(ops, lab, now, overview.cap))

    def _timeline(self, ops: Ops, lab: Labourer, now: float, cap: int | None) -> Timeline:
        """Running over the last hour: the newest completed and dead tasks (one Query per lane each) and the
        attempts holding a slot now (one Query per lane), each bounded."""
        history, since = History(self.clients.dynamodb, ops.store.tables), now - HOUR
        return Timeline(
            completed=history.closed(lab, STATUS_COMPLETED, since, now, TIMELINE_SAMPLE),
            dead=history.closed(lab, STATUS_DEAD, since, now, TIMELINE_SAMPLE),
            invoked=history.invoked(lab, now, RUNNING_READ),
            invoked_limit=RUNNING_READ,
            cap=cap,
            configured_cap=lab.max_simultaneous_invocations,
            paused=last_pause(lab.paused, lab.paused_at, lab.resumed_at, since, now),
        )

    def task(self, task_id: str) -> TaskPage | None:
        """The task wherever it is (GetItems), its audit rows (one Query) and, when queued, why it waits."""
        ops, now = self.ops(), self.clock()
        found = locate(ops, task_id, now)
        if found is None:
            return None
        events: list[AuditEvent] = self.audit.events(task_id) if self.audit is not None else []
        why = task_why(ops, task_id, now, self._ecology.readings) if found.state is TaskState.QUEUED else None
        steps = timeline(found.task, found.state, events)
        audited = self.audit is not None and bool(self.audit.table)
        return TaskPage(task_view(found), found.state, steps, why, audited, self._logs_url(ops, found.task))

    def _logs_url(self, ops: Ops, task: Task) -> str | None:
        if not on_aws(self.clients.dynamodb):
            return None
        lab = ops.labourers().get(task.labourer_id)
        group = worker_log_group(lab.type, lab.function_name) if lab is not None else None
        return insights_url(self.clients.dynamodb.meta.region_name, group, task.task_id) if group else None

    def dead(self, since_seconds: float = 7 * DAY) -> list[DeadGroup]:
        """Dead tasks of every labourer closed within ``since_seconds`` (at most ``DEAD_READ`` each, newest
        first, from the closed table's index), grouped by masked error."""
        ops, now = self.ops(), self.clock()
        tasks: list[Task] = []
        for lab in ops.labourers().values():
            tasks += self.dead_of(ops, lab, now - since_seconds)
        return group_dead(tasks)

    @staticmethod
    def dead_of(ops: Ops, lab: Labourer, since: float) -> list[Task]:
        return ops.store.closed(lab.id, CLOSED_STATUS[TaskState.DEAD], since, limit=DEAD_READ, lanes=lab.lane_count)

    def documents(self) -> list[DocumentRow]:
        """Every config document with its version, validated against its schema."""
        store = self.ops().config
        checked: dict[str, Checked] = {c.name: c for c in check_documents(table_documents(store))}
        return [
            DocumentRow(d.name, d.version, d.has_schema, str(checked[d.name].error or "") if d.name in checked else "")
            for d in list_documents(store)
        ]

    def document(self, name: str) -> StoredDocument | None:
        return self.config_store().get(name)

    def config_store(self) -> ConfigStore:
        return self.ops().config

    @staticmethod
    def cost() -> dict[str, Any]:
        return report()
