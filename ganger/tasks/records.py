"""Task records: the row of a task, its attribute conversion, the tables' names and the state constants.

Greenfield encodes a task's state on one GSI, as in sosw: queued tasks have a greenfield below now
(their queue position, from a per-labourer counter), an invoked task has ``invoked_at + one year``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from boto3.dynamodb.types import TypeDeserializer, TypeSerializer

from ganger import constants
from ganger.lanes import parse_queue_key, queue_key

QUEUE_BASE = 1_000_000_000  # positions count up (tail) and down (front) from here; always below now
MARKER_PREFIX = "_ganger_"
STATUS_COMPLETED = "1"
STATUS_DEAD = "0"
GREENFIELD_INDEX = "sosw_tasks_greenfield"
RETRY_INDEX = "labourer_id_greenfield"
CLOSED_INDEX = "labourer_task_status_with_time"
MAX_TRANSACTION_ITEMS = 100
MAX_BATCH_WRITE = 25


def is_marker(task_id: str) -> bool:
    """A row ganger keeps for itself (start mark, counter, job marker): never a task, whatever it carries."""
    return task_id.startswith(MARKER_PREFIX)


_serializer = TypeSerializer()
_deserializer = TypeDeserializer()

_CORE_FIELDS = (
    "task_id", "labourer_id", "created_at", "greenfield", "attempts", "payload", "job_id",
    "invocation_token", "invoked_at", "desired_launch_time", "completed_at", "closed_at",
    "failure_reason",
)  # fmt: skip


def to_attr(value: Any) -> dict[str, Any]:
    """A DynamoDB attribute value; floats become Decimals (DynamoDB has no float)."""
    serialized: dict[str, Any] = _serializer.serialize(_decimalize(value))
    return serialized


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
    """One task row. ``extra`` holds any other attribute (``stat_*``, ``result_*``, sosw's own fields).

    ``labourer_id`` is the labourer's id and ``lane`` the lane the task is queued in (``ganger.lanes``): the row
    stores both as one ``labourer_id``, the lane's queue key. ``slot_lane`` is the lane whose slot an invoked
    task holds, kept only when it is not its own (a lane with free slots took it from another lane's queue).
    """

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
    lane: int = 0
    slot_lane: int | None = None
    priority: int = 0  # the job's priority (``ganger.priority``), stored only when not 0
    key_slot: str | None = None  # the concurrency key whose place an invoked attempt holds (``max_per_key``)
    extra: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_item(cls, item: dict[str, Any]) -> Task:
        plain = {k: from_attr(v) for k, v in item.items()}
        core = {k: plain.pop(k) for k in _CORE_FIELDS if k in plain}
        if not isinstance(core.get("payload", "{}"), str):
            core["payload"] = json.dumps(core["payload"])
        labourer_id, lane = parse_queue_key(str(core.pop("labourer_id", "")))
        slot_lane = plain.pop("slot_lane", None)
        priority = plain.pop("priority", 0)
        priority = priority if isinstance(priority, int) else 0
        key_slot = plain.pop("key_slot", None)
        key_slot = None if key_slot is None else str(key_slot)
        return cls(**core, labourer_id=labourer_id, lane=lane, slot_lane=slot_lane, priority=priority,
                   key_slot=key_slot, extra=plain)  # fmt: skip

    def to_item(self) -> dict[str, Any]:
        plain: dict[str, Any] = {k: v for k, v in self.extra.items()}
        for name in _CORE_FIELDS:
            value = getattr(self, name)
            if value is not None:
                plain[name] = value
        plain["labourer_id"] = self.queue_key
        if self.slot_lane is not None and self.slot_lane != self.lane:
            plain["slot_lane"] = self.slot_lane
        if self.priority:
            plain["priority"] = self.priority
        if self.key_slot is not None:
            plain["key_slot"] = self.key_slot
        return {k: to_attr(v) for k, v in plain.items()}

    @property
    def queue_key(self) -> str:
        """The stored ``labourer_id``: the key of the task's lane in every table and index."""
        return queue_key(self.labourer_id, self.lane)

    @property
    def holds_lane(self) -> int:
        """The lane whose slot counter an invoked attempt of this task took its slot from."""
        return self.lane if self.slot_lane is None else self.slot_lane

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
        if self.lane:
            event["lane"] = self.lane
        if self.slot_lane is not None and self.slot_lane != self.lane:
            event["slot_lane"] = self.slot_lane
        if self.key_slot is not None:
            event["key_slot"] = self.key_slot
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
