"""Task records and TaskStore: every DynamoDB access to the task tables.

Greenfield encodes a task's state on one GSI, as in sosw: queued tasks have a greenfield below now
(their queue position, from a per-labourer counter), an invoked task has ``invoked_at + one year``.
Every state change is a conditional write or a transaction, so two Orchestrators, a late report or
a crashed Lambda can never lose a task or run an attempt twice.

``records`` (the row), ``queue`` (positions and reads), ``changes`` (state changes), ``transactions``
(the engine), ``jobs`` (the Scheduler's markers); ``TaskStore`` is the one facade callers use.
"""

from ganger.tasks.changes import Ended, Handoff, StateChanges
from ganger.tasks.jobs import JobMarkers
from ganger.tasks.keyed import KeyedQueue
from ganger.tasks.moves import TableMoves
from ganger.tasks.queue import OWED_PREFIX, OwedSlots, QueueReads
from ganger.tasks.records import (
    CLOSED_INDEX,
    GREENFIELD_INDEX,
    MARKER_PREFIX,
    MAX_BATCH_WRITE,
    MAX_TRANSACTION_ITEMS,
    QUEUE_BASE,
    RETRY_INDEX,
    STATUS_COMPLETED,
    STATUS_DEAD,
    TableNames,
    Task,
    from_attr,
    to_attr,
)
from ganger.tasks.transactions import Op, TransactOutcome


class TaskStore(QueueReads, KeyedQueue, JobMarkers, StateChanges, TableMoves):
    """Every DynamoDB access to the task tables; each method documents its API calls."""


__all__ = [
    "CLOSED_INDEX",
    "GREENFIELD_INDEX",
    "MARKER_PREFIX",
    "MAX_BATCH_WRITE",
    "MAX_TRANSACTION_ITEMS",
    "OWED_PREFIX",
    "QUEUE_BASE",
    "RETRY_INDEX",
    "STATUS_COMPLETED",
    "STATUS_DEAD",
    "Ended",
    "Handoff",
    "Op",
    "OwedSlots",
    "TableNames",
    "Task",
    "TaskStore",
    "TransactOutcome",
    "from_attr",
    "to_attr",
]
