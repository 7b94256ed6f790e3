"""Queue positions, new tasks and every read of the task tables (each query with Limit and pagination)."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

from ganger.tasks.base import StoreBase
from ganger.tasks.records import (
    CLOSED_INDEX,
    GREENFIELD_INDEX,
    MARKER_PREFIX,
    MAX_BATCH_WRITE,
    QUEUE_BASE,
    RETRY_INDEX,
    Task,
)


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

    def put_new(self, tasks: Sequence[Task]) -> int:
        """BatchWriteItem in 25s, retrying unprocessed items with backoff. Returns calls made."""
        calls = 0
        for start in range(0, len(tasks), MAX_BATCH_WRITE):
            requests = [{"PutRequest": {"Item": t.to_item()}} for t in tasks[start : start + MAX_BATCH_WRITE]]
            delay = 0.05
            while requests:
                response = self._ddb.batch_write_item(RequestItems={self.tables.tasks: requests})
                calls += 1
                requests = response.get("UnprocessedItems", {}).get(self.tables.tasks, [])
                if requests:
                    self._sleep(delay)
                    delay = min(delay * 2, 2.0)
        return calls

    def existing_ids(self, task_ids: Sequence[str], labourer_id: str) -> set[str]:
        """Which of these ids exist in any task table (BatchGetItem; used only to resume a crashed run)."""
        found: set[str] = set()
        for start in range(0, len(task_ids), 33):
            ids = task_ids[start : start + 33]
            request = {
                self.tables.tasks: {"Keys": [{"task_id": {"S": i}} for i in ids], "ProjectionExpression": "task_id"},
                self.tables.closed: {"Keys": [{"task_id": {"S": i}} for i in ids], "ProjectionExpression": "task_id"},
                self.tables.retry: {
                    "Keys": [{"labourer_id": {"S": labourer_id}, "task_id": {"S": i}} for i in ids],
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

    def _greenfield_query(self, labourer_id: str, condition: str, values: dict[str, int]) -> dict[str, Any]:
        return {
            "TableName": self.tables.tasks,
            "IndexName": GREENFIELD_INDEX,
            "KeyConditionExpression": f"labourer_id = :l AND {condition}",
            "ExpressionAttributeValues": {":l": {"S": labourer_id}, **{k: {"N": str(v)} for k, v in values.items()}},
        }

    def queued(self, labourer_id: str, now: float, limit: int) -> list[Task]:
        """The first ``limit`` queued tasks, front first (one Query per 100)."""
        query = self._greenfield_query(labourer_id, "greenfield < :now", {":now": int(now)})
        return [Task.from_item(i) for i in self._query(limit=limit, ScanIndexForward=True, **query)]

    def count_queued(self, labourer_id: str, now: float) -> int:
        return self._count(**self._greenfield_query(labourer_id, "greenfield < :now", {":now": int(now)}))

    def count_running(self, labourer_id: str, running_after: int) -> int:
        """Tasks invoked within duration + cooldown (a COUNT query)."""
        return self._count(**self._greenfield_query(labourer_id, "greenfield > :r", {":r": running_after}))

    def count_invoked(self, labourer_id: str, now: float) -> int:
        """Tasks invoked and not yet ended, running or expired (a COUNT query): the slots they hold."""
        return self._count(**self._greenfield_query(labourer_id, "greenfield >= :now", {":now": int(now)}))

    def expired(self, labourer_id: str, now: float, running_after: int, limit: int) -> list[Task]:
        """Invoked tasks older than duration + cooldown that never reported."""
        query = self._greenfield_query(
            labourer_id, "greenfield BETWEEN :now AND :r", {":now": int(now), ":r": running_after}
        )
        return [Task.from_item(i) for i in self._query(limit=limit, **query)]

    def count_expired(self, labourer_id: str, now: float, running_after: int) -> int:
        return self._count(
            **self._greenfield_query(
                labourer_id, "greenfield BETWEEN :now AND :r", {":now": int(now), ":r": running_after}
            )
        )

    def due_retries(self, labourer_id: str, now: float, limit: int) -> list[Task]:
        """Retry-table tasks whose desired launch time has come (LSI query)."""
        query = {
            "TableName": self.tables.retry,
            "IndexName": RETRY_INDEX,
            "KeyConditionExpression": "labourer_id = :l AND desired_launch_time <= :now",
            "ExpressionAttributeValues": {":l": {"S": labourer_id}, ":now": {"N": str(int(now))}},
        }
        return [Task.from_item(i) for i in self._query(limit=limit, **query)]

    def count_retrying(self, labourer_id: str) -> int:
        return self._count(
            TableName=self.tables.retry,
            KeyConditionExpression="labourer_id = :l",
            ExpressionAttributeValues={":l": {"S": labourer_id}},
        )

    def closed(self, labourer_id: str, status: str, since: float, limit: int | None = None) -> list[Task]:
        """Closed tasks of one status (completed "1", dead "0") since a time, newest first."""
        query = {
            "TableName": self.tables.closed,
            "IndexName": CLOSED_INDEX,
            "KeyConditionExpression": "labourer_id_task_status = :s AND closed_at >= :t",
            "ExpressionAttributeValues": {":s": {"S": f"{labourer_id}_{status}"}, ":t": {"N": str(int(since))}},
            "ScanIndexForward": False,
        }
        return [Task.from_item(i) for i in self._query(limit=limit, **query)]

    def count_closed(self, labourer_id: str, status: str, since: float) -> int:
        return self._count(
            TableName=self.tables.closed,
            IndexName=CLOSED_INDEX,
            KeyConditionExpression="labourer_id_task_status = :s AND closed_at >= :t",
            ExpressionAttributeValues={":s": {"S": f"{labourer_id}_{status}"}, ":t": {"N": str(int(since))}},
        )

    def get(self, task_id: str) -> Task | None:
        """The live task (consistent GetItem), or None."""
        item = self._ddb.get_item(
            TableName=self.tables.tasks, Key={"task_id": {"S": task_id}}, ConsistentRead=True
        ).get("Item")
        return Task.from_item(item) if item and "labourer_id" in item else None

    def get_closed(self, task_id: str) -> Task | None:
        item = self._ddb.get_item(
            TableName=self.tables.closed, Key={"task_id": {"S": task_id}}, ConsistentRead=True
        ).get("Item")
        return Task.from_item(item) if item else None

    def get_retry(self, labourer_id: str, task_id: str) -> Task | None:
        item = self._ddb.get_item(
            TableName=self.tables.retry,
            Key={"labourer_id": {"S": labourer_id}, "task_id": {"S": task_id}},
            ConsistentRead=True,
        ).get("Item")
        return Task.from_item(item) if item else None
