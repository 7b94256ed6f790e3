"""COUNT queries that stop at a cap: a page answers in bounded time however long a queue or history grows.

A COUNT query still reads every index entry it counts (1 MB a page), so counting a 100,000-task queue on every
overview refresh would cost hundreds of read units and seconds of latency. Past ``COUNT_CAP`` the console shows
"10,000+" instead, which is what an operator needs from a backlog that size.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ganger.labourer import Labourer
from ganger.tasks import (
    CLOSED_INDEX,
    GREENFIELD_INDEX,
    MARKER_PREFIX,
    QUEUE_BASE,
    STATUS_COMPLETED,
    STATUS_DEAD,
    TableNames,
)

COUNT_CAP = 10_000
PAGE = 1000


@dataclass(frozen=True)
class Bounded:
    """A count, and whether it stopped at the cap (the true number is at least ``value``)."""

    value: int
    capped: bool = False
    about: int | None = None  # past the cap: an estimate (a queue's span of positions), shown as "~N"

    def __str__(self) -> str:
        if self.capped and self.about is not None and self.about > self.value:
            return f"~{self.about:,}"
        return f"{self.value:,}+" if self.capped else f"{self.value:,}"

    def view(self) -> dict[str, Any]:
        return {"value": self.value, "capped": self.capped, "about": self.about, "text": str(self)}


class BoundedCounts:
    """Queued and closed counts of a labourer over its lanes, each at most ``cap``."""

    def __init__(self, dynamodb: Any, tables: TableNames, cap: int = COUNT_CAP) -> None:
        self._ddb = dynamodb
        self._tables = tables
        self._cap = cap

    def queued(self, labourer: Labourer, now: float) -> Bounded:
        return self._sum(
            {
                "TableName": self._tables.tasks,
                "IndexName": GREENFIELD_INDEX,
                "KeyConditionExpression": "labourer_id = :l AND greenfield < :now",
                "ExpressionAttributeValues": {":l": {"S": key}, ":now": {"N": str(int(now))}},
            }
            for key in labourer.queue_keys()
        )

    def queued_or_span(self, labourer: Labourer, now: float, front: int | None) -> Bounded:
        """Queued, counted up to the cap; past it, about how many from the queue's span of positions: the
        labourer's tail position (one GetItem of its position counter) less the front task's greenfield. An
        upper bound: tasks taken from the middle of the span (another lane's, a cancelled one) still count."""
        counted = self.queued(labourer, now)
        if not counted.capped or front is None:
            return counted
        item = self._ddb.get_item(TableName=self._tables.tasks, Key={"task_id": {"S": f"{MARKER_PREFIX}queue#"
                                  f"{labourer.id}"}}).get("Item") or {}  # fmt: skip
        tail = QUEUE_BASE + int(item.get("tail", {}).get("N", "0"))
        return Bounded(counted.value, True, max(counted.value, tail - front + 1))

    def completed(self, labourer: Labourer, since: float) -> Bounded:
        return self._closed(labourer, STATUS_COMPLETED, since)

    def dead(self, labourer: Labourer, since: float) -> Bounded:
        return self._closed(labourer, STATUS_DEAD, since)

    def _closed(self, labourer: Labourer, status: str, since: float) -> Bounded:
        return self._sum(
            {
                "TableName": self._tables.closed,
                "IndexName": CLOSED_INDEX,
                "KeyConditionExpression": "labourer_id_task_status = :s AND closed_at >= :t",
                "ExpressionAttributeValues": {":s": {"S": f"{key}_{status}"}, ":t": {"N": str(int(since))}},
            }
            for key in labourer.queue_keys()
        )

    def _sum(self, queries: Any) -> Bounded:
        total = 0
        for query in queries:
            total += self._count(dict(query), self._cap + 1 - total)  # one more tells "exactly cap" from "more"
            if total > self._cap:
                return Bounded(self._cap, capped=True)
        return Bounded(total)

    def _count(self, query: dict[str, Any], most: int) -> int:
        """Pages of COUNT until the end or ``most``: never more than ``most / PAGE + 1`` requests."""
        total = 0
        while total < most:
            page = self._ddb.query(Select="COUNT", Limit=min(PAGE, most - total), **query)
            total += int(page.get("Count", 0))
            if "LastEvaluatedKey" not in page:
                break
            query["ExclusiveStartKey"] = page["LastEvaluatedKey"]
        return total
