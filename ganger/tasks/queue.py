"""Queue positions, new tasks and every read of the task tables (each query with Limit and pagination).

A labourer's reads take ``lanes`` (``ganger.lanes``): they cover the queue key of each of its first ``lanes``
lanes, one query per lane, merged in the order the one-lane read gives; with one lane they are the one query
they always were.
"""

from __future__ import annotations

import heapq
import itertools
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import ClientError

from ganger.lanes import lane_of, queue_key
from ganger.tasks.base import StoreBase, logger
from ganger.tasks.records import (
    CLOSED_INDEX,
    GREENFIELD_INDEX,
    MARKER_PREFIX,
    MAX_BATCH_WRITE,
    QUEUE_BASE,
    RETRY_INDEX,
    Task,
    is_marker,
)
from ganger.transient import is_transient

OWED_PREFIX = "_ganger_owed#"  # a retry-table row of slots owed to a lane's counter (``StateChanges._end``)
THROTTLED_BATCH_ROUNDS = 10  # a whole BatchWriteItem throttled this many times in a row: the error goes up


@dataclass(frozen=True)
class OwedSlots:
    """A row of slots an ended attempt could not give back (its lane's counter kept conflicting)."""

    queue_key: str
    marker_id: str
    count: int


class QueueReads(StoreBase):
    def reserve_positions(self, labourer_id: str, count: int, front: bool = False) -> list[int]:
        """``count`` queue positions from the labourer's counter: one UpdateItem, whatever the count."""
        if count <= 0:
            return []
        attribute = "front" if front else "tail"
        response = self._ddb.update_item(
            TableName=self.tables.tasks,
            Key={"task_id": {"S": f"{MARKER_PREFIX}queue#{labourer_id}"}},
            UpdateExpression="ADD #c :n",
            ExpressionAttributeNames={"#c": attribute},
            ExpressionAttributeValues={":n": {"N": str(count)}},
            ReturnValues="UPDATED_NEW",
        )
        last = int(response["Attributes"][attribute]["N"])
        if front:
            return [QUEUE_BASE - last + i for i in range(count)]
        return [QUEUE_BASE + last - count + 1 + i for i in range(count)]

    def put_new(self, tasks: Sequence[Task], delayed: bool = False) -> int:
        """BatchWriteItem in 25s (``delayed``: to the retry table, out of the queue until their
        ``desired_launch_time``, as a retry waits), retrying unprocessed items with backoff, and a whole batch
        throttled (every item on a hot key: DynamoDB then rejects the request) the same way, up to
        ``THROTTLED_BATCH_ROUNDS`` in a row beyond botocore's own retries. Returns calls made."""
        calls = 0
        table = self.tables.retry if delayed else self.tables.tasks
        for start in range(0, len(tasks), MAX_BATCH_WRITE):
            requests = [{"PutRequest": {"Item": t.to_item()}} for t in tasks[start : start + MAX_BATCH_WRITE]]
            delay, throttled = 0.05, 0
            while requests:
                calls += 1
                try:
                    response = self._ddb.batch_write_item(RequestItems={table: requests})
                    requests, throttled = response.get("UnprocessedItems", {}).get(table, []), 0
                except ClientError as exc:
                    throttled += 1
                    if not is_transient(exc) or throttled >= THROTTLED_BATCH_ROUNDS:
                        raise
                if requests:
                    self._sleep(self._rand.uniform(delay / 2, delay))
                    delay = min(delay * 2, 2.0)
        return calls

    def existing_ids(self, task_ids: Sequence[str], labourer_id: str, lanes: int = 1) -> set[str]:
        """Which of these ids exist in any task table (BatchGetItem; used only to resume a crashed run). A task's
        retry row is under its lane's key, the lane the Scheduler gave it (``lane_of``)."""
        found: set[str] = set()
        for start in range(0, len(task_ids), 33):
            ids = task_ids[start : start + 33]
            request = {
                self.tables.tasks: {"Keys": [{"task_id": {"S": i}} for i in ids], "ProjectionExpression": "task_id"},
                self.tables.closed: {"Keys": [{"task_id": {"S": i}} for i in ids], "ProjectionExpression": "task_id"},
                self.tables.retry: {
                    "Keys": [
                        {"labourer_id": {"S": queue_key(labourer_id, lane_of(i, lanes))}, "task_id": {"S": i}}
                        for i in ids
                    ],
                    "ProjectionExpression": "task_id",
                },
            }
            while request:
                response = self._ddb.batch_get_item(RequestItems=request)
                for items in response.get("Responses", {}).values():
                    found.update(item["task_id"]["S"] for item in items)
                request = response.get("UnprocessedKeys") or {}
                if request:
                    self._sleep(0.05)
        return found

    def _query(self, limit: int | None = None, **kwargs: Any) -> Iterator[dict[str, Any]]:
        """Paginated Query; never reads more than ``limit`` items (and pages of ``page_size``)."""
        remaining = limit
        while remaining is None or remaining > 0:
            page_limit = self.page_size if remaining is None else min(self.page_size, remaining)
            page = self._ddb.query(Limit=page_limit, **kwargs)
            items = page.get("Items", [])
            yield from items
            if remaining is not None:
                remaining -= len(items)
            if "LastEvaluatedKey" not in page:
                return
            kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]

    def _count(self, **kwargs: Any) -> int:
        total = 0
        while True:
            page = self._ddb.query(Select="COUNT", Limit=1000, **kwargs)
            total += int(page.get("Count", 0))
            if "LastEvaluatedKey" not in page:
                return total
            kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]

    def _greenfield_query(self, key: str, condition: str = "", values: dict[str, int] | None = None) -> dict[str, Any]:
        return {
            "TableName": self.tables.tasks,
            "IndexName": GREENFIELD_INDEX,
            "KeyConditionExpression": f"labourer_id = :l AND {condition}" if condition else "labourer_id = :l",
            "ExpressionAttributeValues": {":l": {"S": key}, **{k: {"N": str(v)} for k, v in (values or {}).items()}},
        }

    def _tasks(self, items: Iterator[dict[str, Any]]) -> list[Task]:
        """The tasks among greenfield-index rows: never a ``_ganger_`` row. ganger writes none there; one that got
        there anyway (a worker role may write start marks) is no task, and reading it as one would start it."""
        tasks = []
        for item in items:
            task_id = item["task_id"]["S"]
            if is_marker(task_id):
                logger.error("%s is in the greenfield index: not a task, ignored", task_id)
                continue
            tasks.append(Task.from_item(item))
        return tasks

    @staticmethod
    def _keys(labourer_id: str, lanes: int) -> list[str]:
        return [queue_key(labourer_id, lane) for lane in range(max(lanes, 1))]

    def _merged(self, lists: list[list[Task]], limit: int | None, key: Any, reverse: bool = False) -> list[Task]:
        """Per-lane lists (each sorted) merged into one sorted list of at most ``limit``."""
        if len(lists) == 1:
            return lists[0] if limit is None else lists[0][:limit]
        merged = heapq.merge(*lists, key=key, reverse=reverse)
        return list(merged if limit is None else itertools.islice(merged, limit))

    def queued_in_lane(self, labourer_id: str, lane: int, now: float, limit: int) -> list[Task]:
        """The first ``limit`` queued tasks of one lane, front first (one Query per 100)."""
        query = self._greenfield_query(queue_key(labourer_id, lane), "greenfield < :now", {":now": int(now)})
        return self._tasks(self._query(limit=limit, ScanIndexForward=True, **query))

    def queued(self, labourer_id: str, now: float, limit: int, lanes: int = 1, lane: int | None = None) -> list[Task]:
        """The first ``limit`` queued tasks over the lanes (or of one ``lane``), front first (a Query per lane
        and 100)."""
        if lane is not None:
            return self.queued_in_lane(labourer_id, lane, now, limit)
        lists = [self.queued_in_lane(labourer_id, k, now, limit) for k in range(max(lanes, 1))]
        return self._merged(lists, limit, key=lambda t: t.greenfield)

    def count_queued(self, labourer_id: str, now: float, lanes: int = 1) -> int:
        return sum(
            self._count(**self._greenfield_query(key, "greenfield < :now", {":now": int(now)}))
            for key in self._keys(labourer_id, lanes)
        )

    def count_running(self, labourer_id: str, running_after: int, lanes: int = 1) -> int:
        """Tasks invoked within duration + cooldown (a COUNT query per lane)."""
        return sum(
            self._count(**self._greenfield_query(key, "greenfield > :r", {":r": running_after}))
            for key in self._keys(labourer_id, lanes)
        )

    def count_invoked(self, labourer_id: str, now: float, lanes: int = 1, lane: int | None = None) -> int:
        """Tasks invoked and not yet ended, running or expired (a COUNT query per lane): the slots they hold.
        ``lane``: that lane's only."""
        keys = self._keys(labourer_id, lanes) if lane is None else [queue_key(labourer_id, lane)]
        return sum(self._count(**self._greenfield_query(key, "greenfield >= :now", {":now": int(now)})) for key in keys)

    def expired(self, labourer_id: str, now: float, running_after: int, limit: int, lanes: int = 1) -> list[Task]:
        """Invoked tasks older than duration + cooldown that never reported (lane by lane, at most ``limit``)."""
        found: list[Task] = []
        for key in self._keys(labourer_id, lanes):
            query = self._greenfield_query(
                key, "greenfield BETWEEN :now AND :r", {":now": int(now), ":r": running_after}
            )
            found += self._tasks(self._query(limit=limit - len(found), **query))
            if len(found) >= limit:
                break
        return found

    def count_expired(self, labourer_id: str, now: float, running_after: int, lanes: int = 1) -> int:
        return sum(
            self._count(
                **self._greenfield_query(key, "greenfield BETWEEN :now AND :r", {":now": int(now), ":r": running_after})
            )
            for key in self._keys(labourer_id, lanes)
        )

    def due_in_lane(
        self, labourer_id: str, lane: int, now: float, limit: int, ahead: float = 0
    ) -> tuple[list[Task], list[OwedSlots]]:
        """One lane's retry-table rows due now (one LSI query per 100): the due retries (delayed tasks among
        them), and the rows of slots owed to the lane's counter (due at 0, so they come first). ``ahead``: also
        the rows due within that many seconds, in the same query (the Scavenger wakes for them)."""
        key = queue_key(labourer_id, lane)
        query = {
            "TableName": self.tables.retry,
            "IndexName": RETRY_INDEX,
            "KeyConditionExpression": "labourer_id = :l AND desired_launch_time <= :now",
            "ExpressionAttributeValues": {":l": {"S": key}, ":now": {"N": str(int(now + ahead))}},
        }
        return _retry_rows(key, self._query(limit=limit, **query))

    def due_retries(self, labourer_id: str, now: float, limit: int, lanes: int = 1) -> list[Task]:
        """Retry-table tasks whose desired launch time has come (an LSI query per lane)."""
        found: list[Task] = []
        for lane in range(max(lanes, 1)):
            found += self.due_in_lane(labourer_id, lane, now, limit - len(found))[0]
            if len(found) >= limit:
                break
        return found

    def count_retrying(self, labourer_id: str, lanes: int = 1) -> int:
        return sum(
            self._count(
                TableName=self.tables.retry,
                KeyConditionExpression="labourer_id = :l",
                FilterExpression="NOT begins_with(task_id, :owed)",
                ExpressionAttributeValues={":l": {"S": key}, ":owed": {"S": OWED_PREFIX}},
            )
            for key in self._keys(labourer_id, lanes)
        )

    def closed(
        self, labourer_id: str, status: str, since: float, limit: int | None = None, lanes: int = 1
    ) -> list[Task]:
        """Closed tasks of one status (completed "1", dead "0") since a time, newest first."""
        lists = []
        for key in self._keys(labourer_id, lanes):
            query = {
                "TableName": self.tables.closed,
                "IndexName": CLOSED_INDEX,
                "KeyConditionExpression": "labourer_id_task_status = :s AND closed_at >= :t",
                "ExpressionAttributeValues": {":s": {"S": f"{key}_{status}"}, ":t": {"N": str(int(since))}},
                "ScanIndexForward": False,
            }
            lists.append([Task.from_item(i) for i in self._query(limit=limit, **query)])
        return self._merged(lists, limit, key=lambda t: t.closed_at or 0, reverse=True)

    def count_closed(self, labourer_id: str, status: str, since: float, lanes: int = 1) -> int:
        return sum(
            self._count(
                TableName=self.tables.closed,
                IndexName=CLOSED_INDEX,
                KeyConditionExpression="labourer_id_task_status = :s AND closed_at >= :t",
                ExpressionAttributeValues={":s": {"S": f"{key}_{status}"}, ":t": {"N": str(int(since))}},
            )
            for key in self._keys(labourer_id, lanes)
        )

    def live_in_lane(self, labourer_id: str, lane: int, limit: int) -> list[Task]:
        """Any live task of one lane, queued or invoked (one greenfield-index Query per 100)."""
        return self._tasks(self._query(limit=limit, **self._greenfield_query(queue_key(labourer_id, lane))))

    def retry_rows_in_lane(self, labourer_id: str, lane: int, limit: int) -> tuple[list[Task], list[OwedSlots]]:
        """Every retry-table row of one lane, due or not: the tasks waiting to retry and the owed-slot rows."""
        key = queue_key(labourer_id, lane)
        query = {
            "TableName": self.tables.retry,
            "KeyConditionExpression": "labourer_id = :l",
            "ExpressionAttributeValues": {":l": {"S": key}},
        }
        return _retry_rows(key, self._query(limit=limit, **query))

    def get(self, task_id: str) -> Task | None:
        """The live task (consistent GetItem), or None (a ``_ganger_`` row is no task, whatever it carries)."""
        item = self._ddb.get_item(
            TableName=self.tables.tasks, Key={"task_id": {"S": task_id}}, ConsistentRead=True
        ).get("Item")
        return Task.from_item(item) if item and "labourer_id" in item and not is_marker(task_id) else None

    def get_closed(self, task_id: str) -> Task | None:
        item = self._ddb.get_item(
            TableName=self.tables.closed, Key={"task_id": {"S": task_id}}, ConsistentRead=True
        ).get("Item")
        return Task.from_item(item) if item else None

    def get_retry(self, labourer_id: str, task_id: str, lanes: int = 1) -> Task | None:
        """The task's retry row: under the key of the lane the Scheduler gave it (``lane_of``)."""
        key = queue_key(labourer_id, lane_of(task_id, lanes))
        item = self._ddb.get_item(
            TableName=self.tables.retry,
            Key={"labourer_id": {"S": key}, "task_id": {"S": task_id}},
            ConsistentRead=True,
        ).get("Item")
        return Task.from_item(item) if item else None


def _retry_rows(key: str, items: Iterator[dict[str, Any]]) -> tuple[list[Task], list[OwedSlots]]:
    """A lane's retry-table rows apart: the tasks waiting to retry, and the rows of slots owed to its counter."""
    tasks: list[Task] = []
    owed: list[OwedSlots] = []
    for item in items:
        task_id = item["task_id"]["S"]
        if task_id.startswith(OWED_PREFIX):
            owed.append(OwedSlots(key, task_id, int(item.get("owed_slots", {"N": "0"})["N"])))
        elif is_marker(task_id):
            logger.error("%s is in the retry table: not a task, ignored", task_id)
        else:
            tasks.append(Task.from_item(item))
    return tasks, owed
