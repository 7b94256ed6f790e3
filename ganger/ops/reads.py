"""A labourer's tasks in one state, listed or counted: each state's query, next to its rule in task_state."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from ganger.labourer import Labourer
from ganger.task_state import CLOSED_STATUS, TaskState
from ganger.tasks import GREENFIELD_INDEX, Task, TaskStore

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
        store, lid = self.store, labourer.id
        listers: dict[TaskState, Callable[[], list[Task]]] = {
            TaskState.QUEUED: lambda: store.queued(lid, now, limit),
            TaskState.RUNNING: lambda: self.running(labourer, now, limit),
            TaskState.EXPIRED: lambda: store.expired(lid, now, labourer.running_after(now), limit),
            TaskState.RETRYING: lambda: self.retrying(lid, limit),
            TaskState.COMPLETED: lambda: store.closed(lid, CLOSED_STATUS[TaskState.COMPLETED], 0, limit),
            TaskState.DEAD: lambda: store.closed(lid, CLOSED_STATUS[TaskState.DEAD], 0, limit),
        }
        return listers[state]()

    def count_in_state(self, labourer: Labourer, state: TaskState, now: float, since: float = 0) -> int:
        """COUNT queries (paginated); ``since`` bounds the closed states by their closing time."""
        store, lid = self.store, labourer.id
        if state is TaskState.QUEUED:
            return store.count_queued(lid, now)
        if state is TaskState.RUNNING:
            return store.count_running(lid, labourer.running_after(now))
        if state is TaskState.EXPIRED:
            return store.count_expired(lid, now, labourer.running_after(now))
        if state is TaskState.RETRYING:
            return store.count_retrying(lid)
        if state in CLOSED_STATUS:
            return store.count_closed(lid, CLOSED_STATUS[state], since)
        raise ValueError(f"no count for state {state!r}")

    def running(self, labourer: Labourer, now: float, limit: int) -> list[Task]:
        """Tasks invoked within duration + cooldown, most recent first."""
        return self._paged(
            limit,
            TableName=self.store.tables.tasks,
            IndexName=GREENFIELD_INDEX,
            KeyConditionExpression="labourer_id = :l AND greenfield > :r",
            ExpressionAttributeValues={":l": {"S": labourer.id}, ":r": {"N": str(labourer.running_after(now))}},
            ScanIndexForward=False,
        )

    def retrying(self, labourer_id: str, limit: int) -> list[Task]:
        return self._paged(
            limit,
            TableName=self.store.tables.retry,
            KeyConditionExpression="labourer_id = :l",
            ExpressionAttributeValues={":l": {"S": labourer_id}},
        )

    def _paged(self, limit: int, **query: Any) -> list[Task]:
        tasks: list[Task] = []
        while len(tasks) < limit:
            page = self._ddb.query(Limit=min(PAGE, limit - len(tasks)), **query)
            tasks += [Task.from_item(i) for i in page.get("Items", [])]
            if "LastEvaluatedKey" not in page:
                break
            query["ExclusiveStartKey"] = page["LastEvaluatedKey"]
        return tasks
