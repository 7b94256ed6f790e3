"""The charts' reads: what lasts in the task tables, never the console's memory (a restarted console shows the
same hour). Each is one bounded Query per lane on an index, with a projection of the fields a chart needs.

- ``closed``: the newest ``limit`` closed tasks of one status since a time, from the closed table's index
  (``labourer_id_task_status``, ``closed_at`` descending). At 1,000 tasks a second an hour is 3.6 million rows:
  the read stops at ``limit`` and the sample says which span it covers (``Sample.covered_from``).
- ``invoked``: when each attempt holding a slot now was invoked, from the greenfield index (an invoked task's
  greenfield is its ``invoked_at`` + ``INVOCATION_DELTA``, above any queue position), at most ``limit``.
"""

from __future__ import annotations

import heapq
import itertools
from typing import Any

from ganger.console.series import Closed, Sample
from ganger.labourer import Labourer
from ganger.tasks import CLOSED_INDEX, GREENFIELD_INDEX, TableNames, from_attr
from ganger.tasks.records import is_marker

PAGE = 1000  # items a Query page asks for (DynamoDB stops at 1 MB anyway)
FIELDS = {"#i": "task_id", "#c": "created_at", "#v": "invoked_at", "#x": "closed_at", "#a": "attempts",
          "#r": "redriven_at"}  # fmt: skip


def _number(item: dict[str, Any], name: str) -> int | None:
    value = from_attr(item[name]) if name in item else None
    return int(value) if isinstance(value, (int, float)) else None


class History:
    """The charts' Queries over a labourer's lanes."""

    def __init__(self, dynamodb: Any, tables: TableNames) -> None:
        self._ddb = dynamodb
        self._tables = tables

    def _query(self, limit: int, **query: Any) -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = []
        while len(items) < limit:
            page = self._ddb.query(Limit=min(PAGE, limit - len(items)), **query)
            items += page.get("Items", [])
            if "LastEvaluatedKey" not in page:
                break
            query["ExclusiveStartKey"] = page["LastEvaluatedKey"]
        return items

    def closed(self, labourer: Labourer, status: str, since: float, now: float, limit: int) -> Sample:
        """The newest ``limit`` tasks closed with ``status`` since ``since``, over the lanes (each lane's newest
        ``limit``, merged: the newest ``limit`` of all)."""
        lists = []
        for key in labourer.queue_keys():
            items = self._query(
                limit,
                TableName=self._tables.closed,
                IndexName=CLOSED_INDEX,
                KeyConditionExpression="labourer_id_task_status = :s AND closed_at >= :t",
                ExpressionAttributeValues={":s": {"S": f"{key}_{status}"}, ":t": {"N": str(int(since))}},
                ProjectionExpression=", ".join(FIELDS),
                ExpressionAttributeNames=FIELDS,
                ScanIndexForward=False,
            )
            lists.append([self._closed(i) for i in items if "closed_at" in i and "created_at" in i])
        merged = heapq.merge(*lists, key=lambda t: t.closed_at, reverse=True)
        return Sample(list(itertools.islice(merged, limit)), limit, since, now)

    @staticmethod
    def _closed(item: dict[str, Any]) -> Closed:
        return Closed(
            created_at=_number(item, "created_at") or 0,
            closed_at=_number(item, "closed_at") or 0,
            invoked_at=_number(item, "invoked_at"),
            attempts=_number(item, "attempts") or 0,
            redriven="redriven_at" in item,
        )

    def invoked(self, labourer: Labourer, now: float, limit: int) -> list[int]:
        """``invoked_at`` of every attempt holding a slot now (at most ``limit`` over the lanes)."""
        found: list[int] = []
        for key in labourer.queue_keys():
            items = self._query(
                limit - len(found),
                TableName=self._tables.tasks,
                IndexName=GREENFIELD_INDEX,
                KeyConditionExpression="labourer_id = :l AND greenfield > :now",
                ExpressionAttributeValues={":l": {"S": key}, ":now": {"N": str(int(now))}},
                ProjectionExpression="#i, #v",
                ExpressionAttributeNames={"#i": "task_id", "#v": "invoked_at"},
            )
            found += [v for i in items if not is_marker(i["task_id"]["S"]) and (v := _number(i, "invoked_at"))]
            if len(found) >= limit:
                break
        return found[:limit]
