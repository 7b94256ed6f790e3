"""Task records and TaskStore: every DynamoDB access to the task tables.

Greenfield encodes a task's state on one GSI, as in sosw: queued tasks have a greenfield below now
(their queue position, from a per-labourer counter), an invoked task has ``invoked_at + one year``.
Every state change is a conditional write or a transaction, so two Orchestrators, a late report or
a crashed Lambda can never lose a task or run an attempt twice.
"""

from __future__ import annotations

import enum
import json
import logging
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from decimal import Decimal
from typing import Any

from boto3.dynamodb.types import TypeDeserializer, TypeSerializer
from botocore.exceptions import ClientError

from ganger import constants
from ganger.errors import TransientAwsError
from ganger.slots import SlotCounter

logger = logging.getLogger(__name__)

QUEUE_BASE = 1_000_000_000  # positions count up (tail) and down (front) from here; always below now
MARKER_PREFIX = "_ganger_"
STATUS_COMPLETED = "1"
STATUS_DEAD = "0"
GREENFIELD_INDEX = "sosw_tasks_greenfield"
RETRY_INDEX = "labourer_id_greenfield"
CLOSED_INDEX = "labourer_task_status_with_time"
MAX_TRANSACTION_ITEMS = 100
MAX_BATCH_WRITE = 25

_serializer = TypeSerializer()
_deserializer = TypeDeserializer()

_CORE_FIELDS = (
    "task_id", "labourer_id", "created_at", "greenfield", "attempts", "payload", "job_id",
    "invocation_token", "invoked_at", "desired_launch_time", "completed_at", "closed_at",
    "failure_reason",
)  # fmt: skip


def to_attr(value: Any) -> dict[str, Any]:
    """A DynamoDB attribute value; floats become Decimals (DynamoDB has no float)."""
    return _serializer.serialize(_decimalize(value))


def from_attr(attr: dict[str, Any]) -> Any:
    """A plain Python value; integral numbers become int, others float."""
    return _undecimalize(_deserializer.deserialize(attr))


def _decimalize(value: Any) -> Any:
    if isinstance(value, float):
        return Decimal(repr(value))
    if isinstance(value, dict):
        return {k: _decimalize(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_decimalize(v) for v in value]
    return value


def _undecimalize(value: Any) -> Any:
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, dict):
        return {k: _undecimalize(v) for k, v in value.items()}
    if isinstance(value, (list, set)):
        return [_undecimalize(v) for v in value]
    return value


@dataclass(frozen=True)
class Task:
    """One task row. ``extra`` holds any other attribute (``stat_*``, ``result_*``, sosw's own fields)."""

    task_id: str
    labourer_id: str
    created_at: int
    greenfield: int
    attempts: int = 0
    payload: str = "{}"
    job_id: str = ""
    invocation_token: str | None = None
    invoked_at: int | None = None
    desired_launch_time: int | None = None
    completed_at: int | None = None
    closed_at: int | None = None
    failure_reason: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_item(cls, item: dict[str, Any]) -> Task:
        plain = {k: from_attr(v) for k, v in item.items()}
        core = {k: plain.pop(k) for k in _CORE_FIELDS if k in plain}
        if not isinstance(core.get("payload", "{}"), str):
            core["payload"] = json.dumps(core["payload"])
        return cls(**core, extra=plain)

    def to_item(self) -> dict[str, Any]:
        plain: dict[str, Any] = {k: v for k, v in self.extra.items()}
        for name in _CORE_FIELDS:
            value = getattr(self, name)
            if value is not None:
                plain[name] = value
        return {k: to_attr(v) for k, v in plain.items()}

    @property
    def payload_dict(self) -> dict[str, Any]:
        try:
            value = json.loads(self.payload or "{}")
        except json.JSONDecodeError:
            return {"payload": self.payload}
        return value if isinstance(value, dict) else {"payload": value}

    def is_queued(self, now: float) -> bool:
        return self.greenfield < now

    def event(self) -> dict[str, Any]:
        """What the worker receives: sosw's flattened payload plus the task's fields and ganger's token."""
        event = dict(self.payload_dict)
        event.update(
            task_id=self.task_id,
            labourer_id=self.labourer_id,
            created_at=self.created_at,
            greenfield=self.greenfield,
            attempts=self.attempts,
        )
        if self.job_id:
            event["job_id"] = self.job_id
        if self.invocation_token:
            event["invocation_token"] = self.invocation_token
        return event


@dataclass(frozen=True)
class TableNames:
    tasks: str = constants.DEFAULT_TASKS_TABLE
    retry: str = constants.DEFAULT_RETRY_TABLE
    closed: str = constants.DEFAULT_CLOSED_TABLE

    @classmethod
    def from_env(cls) -> TableNames:
        return cls(
            tasks=constants.getenv(constants.ENV_TASKS_TABLE) or constants.DEFAULT_TASKS_TABLE,
            retry=constants.getenv(constants.ENV_RETRY_TABLE) or constants.DEFAULT_RETRY_TABLE,
            closed=constants.getenv(constants.ENV_CLOSED_TABLE) or constants.DEFAULT_CLOSED_TABLE,
        )


@dataclass(frozen=True)
class Op:
    """One logical change made of transaction items (all or nothing), identified by its task id."""

    task_id: str
    items: tuple[dict[str, Any], ...]


@dataclass
class TransactOutcome:
    done: list[str] = field(default_factory=list)
    lost: list[str] = field(default_factory=list)  # a condition failed: somebody else changed the task


class Ended(enum.Enum):
    """How an attempt's end went."""

    DONE = "done"  # ended; its slot given back
    HANDED_OFF = "handed_off"  # ended; its slot passed to the next queued task, claimed in the same transaction
    NOT_OWNED = "not_owned"  # the attempt no longer owns the task (late or repeated): nothing changed
    NEXT_TAKEN = "next_taken"  # the hand-off's task was taken (or the cap dropped): nothing changed

    @property
    def ended(self) -> bool:
        return self in (Ended.DONE, Ended.HANDED_OFF)


@dataclass(frozen=True)
class Handoff:
    """A queued task to take an ending attempt's slot: claimed in the same transaction that ends the attempt."""

    task: Task
    token: str
    now: float
    invoked_greenfield: int

    @property
    def claimed(self) -> Task:
        return TaskStore.claimed(self.task, self.token, self.now, self.invoked_greenfield)


def _error_code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))


class TaskStore:
    """Every DynamoDB access to the task tables; each method documents its API calls."""

    def __init__(
        self,
        dynamodb: Any,
        tables: TableNames | None = None,
        sleep: Callable[[float], None] = time.sleep,
        page_size: int = 100,
    ) -> None:
        self._ddb = dynamodb
        self.tables = tables or TableNames.from_env()
        self._sleep = sleep
        self.page_size = page_size
        self.slots = SlotCounter(dynamodb, self.tables.tasks)

    # ---- queue positions -------------------------------------------------------------------

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

    # ---- writing new tasks -----------------------------------------------------------------

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

    # ---- job markers -------------------------------------------------------------------------

    def start_job(
        self, job_id: str, labourer_id: str, total: int, now: float, lease_seconds: int
    ) -> dict[str, Any] | None:
        """Create the job's marker; returns None if it is new, else the existing marker (a redelivery)."""
        key = {"task_id": {"S": f"{MARKER_PREFIX}job#{job_id}"}}
        try:
            self._ddb.put_item(
                TableName=self.tables.tasks,
                Item={
                    **key,
                    "job_labourer": {"S": labourer_id},
                    "total": {"N": str(total)},
                    "cursor": {"N": "0"},
                    "job_status": {"S": "scheduling"},
                    "created_at": {"N": str(int(now))},
                    "lease_until": {"N": str(int(now) + lease_seconds)},
                    "expires_at": {"N": str(int(now) + 7 * 86400)},
                },
                ConditionExpression="attribute_not_exists(task_id)",
            )
            return None
        except ClientError as exc:
            if _error_code(exc) != "ConditionalCheckFailedException":
                raise
        item = self._ddb.get_item(TableName=self.tables.tasks, Key=key, ConsistentRead=True).get("Item", {})
        return {k: from_attr(v) for k, v in item.items()}

    def update_job(self, job_id: str, cursor: int, status: str, now: float, lease_seconds: int) -> None:
        """Record how far scheduling got (one UpdateItem)."""
        self._ddb.update_item(
            TableName=self.tables.tasks,
            Key={"task_id": {"S": f"{MARKER_PREFIX}job#{job_id}"}},
            UpdateExpression="SET #c = :c, job_status = :s, lease_until = :l",
            ExpressionAttributeNames={"#c": "cursor"},
            ExpressionAttributeValues={
                ":c": {"N": str(cursor)},
                ":s": {"S": status},
                ":l": {"N": str(int(now) + lease_seconds)},
            },
        )

    def release_job(self, job_id: str) -> None:
        """End a failed run's lease, so the next delivery of the job resumes from its cursor at once."""
        self._ddb.update_item(
            TableName=self.tables.tasks,
            Key={"task_id": {"S": f"{MARKER_PREFIX}job#{job_id}"}},
            UpdateExpression="SET lease_until = :zero",
            ConditionExpression="job_status = :s",
            ExpressionAttributeValues={":zero": {"N": "0"}, ":s": {"S": "scheduling"}},
        )

    def take_handoff(self, job_id: str, cursor: int) -> bool:
        """A sibling's continuation at ``cursor`` runs once, even if its invocation is delivered twice."""
        try:
            self._ddb.update_item(
                TableName=self.tables.tasks,
                Key={"task_id": {"S": f"{MARKER_PREFIX}job#{job_id}"}},
                UpdateExpression="SET handoff_taken = :c",
                ConditionExpression="#c = :c AND (attribute_not_exists(handoff_taken) OR handoff_taken < :c)",
                ExpressionAttributeNames={"#c": "cursor"},
                ExpressionAttributeValues={":c": {"N": str(cursor)}},
            )
            return True
        except ClientError as exc:
            if _error_code(exc) == "ConditionalCheckFailedException":
                return False
            raise

    # ---- reading the queue -------------------------------------------------------------------

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

    # ---- state changes -----------------------------------------------------------------------

    def claim_item(self, task: Task, token: str, now: float, invoked_greenfield: int) -> dict[str, Any]:
        """The transaction item that claims one queued task: only if it is still at the same queue position."""
        return {
            "Update": {
                "TableName": self.tables.tasks,
                "Key": {"task_id": {"S": task.task_id}},
                "UpdateExpression": "SET greenfield = :inv, invocation_token = :tok, invoked_at = :now "
                "ADD attempts :one",
                "ConditionExpression": "greenfield = :old",
                "ExpressionAttributeValues": {
                    ":inv": {"N": str(invoked_greenfield)},
                    ":tok": {"S": token},
                    ":now": {"N": str(int(now))},
                    ":one": {"N": "1"},
                    ":old": {"N": str(task.greenfield)},
                },
            }
        }

    @staticmethod
    def claimed(task: Task, token: str, now: float, invoked_greenfield: int) -> Task:
        """The task as a successful claim leaves it."""
        return replace(
            task, attempts=task.attempts + 1, invocation_token=token, invoked_at=int(now), greenfield=invoked_greenfield
        )

    def claim(self, tasks: Sequence[Task], now: float, tokens: Sequence[str], invoked_greenfield: int) -> list[Task]:
        """Claim queued tasks of one labourer, each taking one of its free slots: attempts + 1, a fresh token,
        greenfield = invoked; only while the task is still at the same queue position and the labourer has the
        slots. Transactions of up to 99 tasks plus the slot counter (1 call each); a task taken by someone
        else is skipped, and when the slots run short only as many as are free are claimed."""
        pending = [
            (t, self.claimed(t, tok, now, invoked_greenfield), self.claim_item(t, tok, now, invoked_greenfield))
            for t, tok in zip(tasks, tokens, strict=True)
        ]
        done: list[Task] = []
        while pending:
            batch, pending = pending[: MAX_TRANSACTION_ITEMS - 1], pending[MAX_TRANSACTION_ITEMS - 1 :]
            batch, short = self._claim_batch(batch)
            done.extend(claimed for _, claimed, _ in batch)
            if short:
                break
        return done

    def _claim_batch(self, batch: list[tuple[Task, Task, dict[str, Any]]]) -> tuple[list[Any], bool]:
        """Claim one batch; returns what was claimed and whether the labourer ran out of free slots."""
        labourer_id = batch[0][0].labourer_id
        delay = 0.05
        for _ in range(8):
            if not batch:
                return [], False
            codes = self.transact_items([item for _, _, item in batch] + [self.slots.take(labourer_id, len(batch))])
            if codes is None:
                return batch, False
            if codes[-1] == "ConditionalCheckFailed":  # fewer free slots than this batch: claim what is free
                slots = self.slots.read(labourer_id)
                free = slots.free if slots is not None else 0
                if free <= 0:
                    return [], True
                batch = batch[:free]
                continue
            lost = {i for i, code in enumerate(codes[:-1]) if code == "ConditionalCheckFailed"}
            batch = [entry for i, entry in enumerate(batch) if i not in lost]
            if not lost:  # a conflict with a concurrent transaction: try again
                self._sleep(delay)
                delay = min(delay * 2, 1.0)
        logger.warning("gave up claiming %d tasks of %s after repeated conflicts", len(batch), labourer_id)
        return [], False

    def release(self, task: Task, position: int) -> bool:
        """Return a claimed task that was never delivered to the front of the queue, undoing its attempt and
        giving its slot back (one transaction)."""
        update = {
            "Update": {
                "TableName": self.tables.tasks,
                "Key": {"task_id": {"S": task.task_id}},
                "UpdateExpression": "SET greenfield = :pos ADD attempts :minus REMOVE invocation_token, invoked_at",
                "ConditionExpression": "invocation_token = :tok",
                "ExpressionAttributeValues": {
                    ":pos": {"N": str(position)},
                    ":minus": {"N": "-1"},
                    ":tok": {"S": task.invocation_token or ""},
                },
            }
        }
        return bool(self.transact([Op(task.task_id, (update, self.slots.give(task.labourer_id)))]).done)

    def _owned_condition(self, task: Task, token: str | None) -> tuple[str, dict[str, Any]]:
        """The condition that the reporting attempt still owns the task (and, with a token, that the
        report's snapshot of the task is the stored one)."""
        if token is not None:
            return "invocation_token = :tok AND attempts = :a AND labourer_id = :l", {
                ":tok": {"S": token},
                ":a": {"N": str(task.attempts)},
                ":l": {"S": task.labourer_id},
            }
        return "greenfield = :gf AND attempts = :a", {
            ":gf": {"N": str(task.greenfield)},
            ":a": {"N": str(task.attempts)},
        }

    def _delete_owned(self, task: Task, token: str | None) -> dict[str, Any]:
        condition, values = self._owned_condition(task, token)
        return {
            "Delete": {
                "TableName": self.tables.tasks,
                "Key": {"task_id": {"S": task.task_id}},
                "ConditionExpression": condition,
                "ExpressionAttributeValues": values,
            }
        }

    def _put_closed(self, task: Task) -> dict[str, Any]:
        return {
            "Put": {
                "TableName": self.tables.closed,
                "Item": task.to_item(),
                "ConditionExpression": "attribute_not_exists(task_id)",
            }
        }

    def close(self, task: Task, token: str | None, status: str, now: float, handoff: Handoff | None = None) -> Ended:
        """Archive the reporting attempt's task to the closed table in one transaction (1 call), giving its slot
        back, or with ``handoff`` passing the slot to a queued task claimed in the same transaction.

        NOT_OWNED when the attempt no longer owns it (a late or repeated report): nothing changes.
        """
        status_key = f"{task.labourer_id}_{status}"
        closed = replace(
            task,
            closed_at=int(now),
            completed_at=int(now) if status == STATUS_COMPLETED else task.completed_at,
            extra={**task.extra, "labourer_id_task_status": status_key},
        )
        return self._end(task, (self._delete_owned(task, token), self._put_closed(closed)), handoff)

    def to_retry(
        self, task: Task, token: str | None, desired_launch_time: int, reason: str, handoff: Handoff | None = None
    ) -> Ended:
        """Move the reporting (or expired) attempt's task to the retry table in one transaction, its slot given
        back or handed off as in ``close``."""
        retry = replace(
            task,
            desired_launch_time=desired_launch_time,
            failure_reason=reason,
            invocation_token=None,
            invoked_at=None,
        )
        put = {
            "Put": {
                "TableName": self.tables.retry,
                "Item": retry.to_item(),
                "ConditionExpression": "attribute_not_exists(task_id)",
            }
        }
        return self._end(task, (self._delete_owned(task, token), put), handoff)

    def _end(self, task: Task, ending: tuple[dict[str, Any], ...], handoff: Handoff | None) -> Ended:
        """End an invoked attempt: the ending items plus the slot's fate, in one transaction."""
        if handoff is None:
            codes = self.transact_items([*ending, self.slots.give(task.labourer_id)])
            return Ended.DONE if codes is None else Ended.NOT_OWNED
        next_task = handoff.task
        claim = self.claim_item(next_task, handoff.token, handoff.now, handoff.invoked_greenfield)
        codes = self.transact_items([*ending, claim, self.slots.within_cap(task.labourer_id)])
        if codes is None:
            return Ended.HANDED_OFF
        if any(code == "ConditionalCheckFailed" for code in codes[: len(ending)]):
            return Ended.NOT_OWNED
        return Ended.NEXT_TAKEN

    def requeue(self, retries: Sequence[Task], positions: Sequence[int]) -> TransactOutcome:
        """Due retries back to the queue at the given (front) positions: delete + put, 50 per transaction."""
        ops = []
        for task, position in zip(retries, positions, strict=True):
            queued = replace(task, greenfield=position, desired_launch_time=None)
            ops.append(
                Op(
                    task.task_id,
                    (
                        {
                            "Delete": {
                                "TableName": self.tables.retry,
                                "Key": {"labourer_id": {"S": task.labourer_id}, "task_id": {"S": task.task_id}},
                                "ConditionExpression": "desired_launch_time = :d",
                                "ExpressionAttributeValues": {":d": {"N": str(task.desired_launch_time)}},
                            }
                        },
                        {
                            "Put": {
                                "TableName": self.tables.tasks,
                                "Item": queued.to_item(),
                                "ConditionExpression": "attribute_not_exists(task_id)",
                            }
                        },
                    ),
                )
            )
        return self.transact(ops)

    def redrive(self, dead: Sequence[Task], positions: Sequence[int]) -> TransactOutcome:
        """Dead tasks back to the queue with fresh attempts: delete from closed + put queued."""
        ops = []
        for task, position in zip(dead, positions, strict=True):
            extra = {k: v for k, v in task.extra.items() if k != "labourer_id_task_status"}
            queued = replace(
                task, greenfield=position, attempts=0, closed_at=None, invocation_token=None,
                invoked_at=None, failure_reason=None, extra={**extra, "redriven_at": task.closed_at},
            )  # fmt: skip
            ops.append(
                Op(
                    task.task_id,
                    (
                        {
                            "Delete": {
                                "TableName": self.tables.closed,
                                "Key": {"task_id": {"S": task.task_id}},
                                "ConditionExpression": "labourer_id_task_status = :s",
                                "ExpressionAttributeValues": {":s": {"S": f"{task.labourer_id}_{STATUS_DEAD}"}},
                            }
                        },
                        {
                            "Put": {
                                "TableName": self.tables.tasks,
                                "Item": queued.to_item(),
                                "ConditionExpression": "attribute_not_exists(task_id)",
                            }
                        },
                    ),
                )
            )
        return self.transact(ops)

    def record_late_report(self, task_id: str, action: str, live: bool) -> bool:
        """Count a late or repeated report on the task's live row (carried into the archive) or, when it
        is already closed, on the closed row. A conditional update: it never creates a row."""
        try:
            self._ddb.update_item(
                TableName=self.tables.tasks if live else self.tables.closed,
                Key={"task_id": {"S": task_id}},
                UpdateExpression="ADD late_reports :one SET last_late_report = :a",
                ConditionExpression="attribute_exists(labourer_id)",
                ExpressionAttributeValues={":one": {"N": "1"}, ":a": {"S": action}},
            )
            return True
        except ClientError as exc:
            if _error_code(exc) == "ConditionalCheckFailedException":
                return False
            raise

    # ---- transactions ------------------------------------------------------------------------

    def transact_items(self, items: Sequence[dict[str, Any]], max_rounds: int = 5) -> list[str] | None:
        """One TransactWriteItems, retried while it only conflicts with concurrent transactions.
        None when it succeeded, else the cancellation code of each item (a condition failed)."""
        delay = 0.05
        codes: list[str] = []
        for _ in range(max_rounds):
            try:
                self._ddb.transact_write_items(TransactItems=list(items))
                return None
            except ClientError as exc:
                if _error_code(exc) != "TransactionCanceledException":
                    raise
                reasons = exc.response.get("CancellationReasons") or []
                codes = [str(r.get("Code", "None")) for r in reasons] or ["ConditionalCheckFailed"] * len(items)
                if "ConditionalCheckFailed" in codes:
                    return codes
                self._sleep(delay)
                delay *= 2
        logger.warning("a transaction of %d items still conflicted after %d rounds", len(items), max_rounds)
        raise TransientAwsError("TransactWriteItems", f"conflicting after {max_rounds} rounds")

    def transact(self, ops: Sequence[Op], max_rounds: int = 5) -> TransactOutcome:
        """Run ops in TransactWriteItems of up to 100 items. An op whose condition fails is dropped
        (``lost``) and the rest retried; conflicts with concurrent transactions are retried."""
        outcome = TransactOutcome()
        batch: list[Op] = []
        size = 0
        for op in ops:
            if size + len(op.items) > MAX_TRANSACTION_ITEMS:
                self._transact_batch(batch, outcome, max_rounds)
                batch, size = [], 0
            batch.append(op)
            size += len(op.items)
        if batch:
            self._transact_batch(batch, outcome, max_rounds)
        return outcome

    def _transact_batch(self, batch: list[Op], outcome: TransactOutcome, max_rounds: int) -> None:
        delay = 0.05
        for _ in range(max_rounds):
            if not batch:
                return
            try:
                self._ddb.transact_write_items(TransactItems=[item for op in batch for item in op.items])
                outcome.done.extend(op.task_id for op in batch)
                return
            except ClientError as exc:
                if _error_code(exc) != "TransactionCanceledException":
                    raise
                batch = self._drop_failed(batch, exc, outcome)
                self._sleep(delay)
                delay *= 2
        logger.warning("gave up on %d task changes after %d conflicting rounds", len(batch), max_rounds)

    @staticmethod
    def _drop_failed(batch: list[Op], exc: ClientError, outcome: TransactOutcome) -> list[Op]:
        reasons = exc.response.get("CancellationReasons") or []
        codes = [str(r.get("Code", "None")) for r in reasons]
        if not codes:  # no per-item detail: fall back to one op per transaction
            if len(batch) == 1:
                outcome.lost.append(batch[0].task_id)
                return []
            return batch
        keep = []
        index = 0
        for op in batch:
            op_codes = codes[index : index + len(op.items)]
            index += len(op.items)
            if "ConditionalCheckFailed" in op_codes:
                outcome.lost.append(op.task_id)
            else:
                keep.append(op)
        return keep
