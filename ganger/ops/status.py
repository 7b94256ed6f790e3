"""Per-labourer state of the system, as an operator sees it (``ganger status``)."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from ganger.ecology import Ecology
from ganger.labourer import Labourer
from ganger.ops.context import Ops
from ganger.ops.reads import TaskReads
from ganger.task_state import TaskState

HOUR = 3600
DAY = 86400


@dataclass(frozen=True)
class LabourerStatus:
    labourer: str
    queued: int
    running: int
    expired: int
    retrying: int
    completed_1h: int
    completed_24h: int
    dead_1h: int
    dead_24h: int
    oldest_queued_age: int | None
    health: int

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def labourer_status(reads: TaskReads, labourer: Labourer, now: float, ecology: Ecology | None = None) -> LabourerStatus:
    """Counts from the tables (COUNT queries, paginated); health from CloudWatch when metrics are set."""
    front = reads.store.queued(labourer.id, now, limit=1, lanes=labourer.lane_count)

    def count(state: TaskState, since: float = 0) -> int:
        return reads.count_in_state(labourer, state, now, since)

    return LabourerStatus(
        labourer=labourer.id,
        queued=count(TaskState.QUEUED),
        running=count(TaskState.RUNNING),
        expired=count(TaskState.EXPIRED),
        retrying=count(TaskState.RETRYING),
        completed_1h=count(TaskState.COMPLETED, now - HOUR),
        completed_24h=count(TaskState.COMPLETED, now - DAY),
        dead_1h=count(TaskState.DEAD, now - HOUR),
        dead_24h=count(TaskState.DEAD, now - DAY),
        oldest_queued_age=int(now - front[0].created_at) if front else None,
        health=ecology.status(labourer) if ecology is not None and labourer.health_metrics else 4,
    )


def system_status(ops: Ops, now: float, only: list[str] | None = None) -> list[LabourerStatus]:
    """Every configured labourer's status (or only those named)."""
    ecology = Ecology(ops.clients.cloudwatch)
    labourers = ops.labourers().values()
    return [labourer_status(ops.reads, lab, now, ecology) for lab in labourers if not only or lab.id in only]


def activity_counts(ops: Ops, now: float, closed: bool = True) -> dict[str, dict[str, int]]:
    """Per labourer: queued, invoked (``running``: running or expired) and retrying tasks, and with
    ``closed`` the completed and dead ones of all time (local mode's progress line and its idle check)."""
    live = (TaskState.QUEUED, TaskState.RUNNING, TaskState.EXPIRED, TaskState.RETRYING)
    states = live + ((TaskState.COMPLETED, TaskState.DEAD) if closed else ())
    result = {}
    for labourer in ops.labourers().values():
        n = {state: ops.reads.count_in_state(labourer, state, now) for state in states}
        row = {"queued": n[TaskState.QUEUED], "running": n[TaskState.RUNNING] + n[TaskState.EXPIRED],
               "retrying": n[TaskState.RETRYING]}  # fmt: skip
        if closed:
            row.update(completed=n[TaskState.COMPLETED], dead=n[TaskState.DEAD])
        result[labourer.id] = row
    return result
