"""A labourer's tasks in one state, listed or counted: each state's query, next to its rule in task_state.

Every read covers the labourer's lanes (``ganger.lanes``): a query per lane, merged in the state's order."""

from __future__ import annotations

import heapq
import itertools
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from ganger.labourer import Labourer
from ganger.task_state import CLOSED_STATUS, TaskState
from ganger.tasks import GREENFIELD_INDEX, OWED_PREFIX, Task, TaskStore

if TYPE_CHECKING:  # the mypy-boto3 stubs are a dev dependency
    from mypy_boto3_dynamodb import DynamoDBClient

PAGE = 100


class TaskReads:
    """Paginated reads over TaskStore, with the two listings it has no method for (running, retrying)."""

    def __init__(self, dynamodb: DynamoDBClient, store: TaskStore) -> None:
        self._ddb = dynamodb
        self.store = store

    def list_in_state(self, labourer: Labourer, state: TaskState, now: float, limit: int) -> list[Task]:
        """At most ``limit`` tasks: queued front first, running and closed newest first."""
        store, lid, lanes = self.store, labourer.id, labourer.lane_count
        listers: dict[TaskState, Callable[[], list[Task]]] = {
            TaskState.QUEUED: lambda: store.queued(lid, now, limit, lanes),
            TaskState.RUNNING: lambda: self.running(labourer, now, limit),
            TaskState.EXPIRED: lambda: store.expired(lid, now, labourer.running_after(now), limit, lanes),
            TaskState.RETRYING: lambda: self.retrying(labourer, limit),
            TaskState.COMPLETED: lambda: store.closed(lid, CLOSED_STATUS[TaskState.COMPLETED], 0, limit, lanes),
            TaskState.DEAD: lambda: store.closed(lid, CLOSED_STATUS[TaskState.DEAD], 0, limit, lanes),
        }
        return listers[state]()

    def count_in_state(self, labourer: Labourer, state: TaskState, now: float, since: float = 0) -> int:
        """COUNT queries (paginated); ``since`` bounds the closed states by their closing time."""
        store, lid, lanes = self.store, labourer.id, labourer.lane_count
        if state is TaskState.QUEUED:
            return store.count_queued(lid, now, lanes)
        if state is TaskState.RUNNING:
            return store.count_running(lid, labourer.running_after(now), lanes)
        if state is TaskState.EXPIRED:
            return store.count_expired(lid, now, labourer.running_after(now), lanes)
        if state is TaskState.RETRYING:
            return store.count_retrying(lid, lanes)
        if state in CLOSED_STATUS:
            return store.count_closed(lid, CLOSED_STATUS[state], since, lanes)
        raise ValueError(f"no count for state {state!r}")

    def running(self, labourer: Labourer, now: float, limit: int) -> list[Task]:
        """Tasks invoked within duration + cooldown, most recent first."""
        lists = [
            self._paged(
                limit,
                TableName=self.store.tables.tasks,
                IndexName=GREENFIELD_INDEX,
                KeyConditionExpression="labourer_id = :l AND greenfield > :r",
                ExpressionAttributeValues={":l": {"S": key}, ":r": {"N": str(labourer.running_after(now))}},
                ScanIndexForward=False,
            )
            for key in labourer.queue_keys()
        ]
        return list(itertools.islice(heapq.merge(*lists, key=lambda t: t.greenfield, reverse=True), limit))

    def retrying(self, labourer: Labourer, limit: int) -> list[Task]:
        """Tasks waiting to retry (owed-slot rows left out), lane by lane."""
        tasks: list[Task] = []
        for key in labourer.queue_keys():
            tasks += self._paged(
                limit - len(tasks),
                TableName=self.store.tables.retry,
                KeyConditionExpression="labourer_id = :l",
                FilterExpression="NOT begins_with(task_id, :owed)",
                ExpressionAttributeValues={":l": {"S": key}, ":owed": {"S": OWED_PREFIX}},
            )
            if len(tasks) >= limit:
                break
        return tasks

    def _paged(self, limit: int, **query: Any) -> list[Task]:
        tasks: list[Task] = []
        while len(tasks) < limit:
            page = self._ddb.query(Limit=min(PAGE, limit - len(tasks)), **query)
            tasks += [Task.from_item(i) for i in page.get("Items", [])]
            if "LastEvaluatedKey" not in page:
                break
            query["ExclusiveStartKey"] = page["LastEvaluatedKey"]
        return tasks
