"""Per-labourer state of the system, as an operator sees it (``ganger status``)."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from ganger.ecology import Ecology
from ganger.labourer import Labourer
from ganger.tasks import STATUS_COMPLETED, STATUS_DEAD, TaskStore

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


def labourer_status(store: TaskStore, labourer: Labourer, now: float, ecology: Ecology | None = None) -> LabourerStatus:
    """Counts from the tables (COUNT queries, paginated); health from CloudWatch when metrics are set."""
    front = store.queued(labourer.id, now, limit=1)
    running_after = labourer.running_after(now)
    return LabourerStatus(
        labourer=labourer.id,
        queued=store.count_queued(labourer.id, now),
        running=store.count_running(labourer.id, running_after),
        expired=store.count_expired(labourer.id, now, running_after),
        retrying=store.count_retrying(labourer.id),
        completed_1h=store.count_closed(labourer.id, STATUS_COMPLETED, now - HOUR),
        completed_24h=store.count_closed(labourer.id, STATUS_COMPLETED, now - DAY),
        dead_1h=store.count_closed(labourer.id, STATUS_DEAD, now - HOUR),
        dead_24h=store.count_closed(labourer.id, STATUS_DEAD, now - DAY),
        oldest_queued_age=int(now - front[0].created_at) if front else None,
        health=ecology.status(labourer) if ecology is not None and labourer.health_metrics else 4,
    )
