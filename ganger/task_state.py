"""A task's state, said by one rule: the CLI, ``ganger status``, the bot's ``/jobs`` and local mode ask here.

Where a task row is found decides most of it: the retry table holds tasks waiting to retry, the closed
table completed and dead ones (its ``labourer_id_task_status`` ends in ``_1`` or ``_0``, as sosw's).
In the tasks table the greenfield tells the rest, as the Orchestrator and the Scavenger see it: below
now is queued, invoked within the labourer's duration + cooldown is running, invoked longer ago is
expired.
"""

from __future__ import annotations

from enum import StrEnum

from ganger.labourer import Labourer
from ganger.tasks import STATUS_COMPLETED, STATUS_DEAD, Task


class TaskState(StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    EXPIRED = "expired"
    RETRYING = "retrying"
    COMPLETED = "completed"
    DEAD = "dead"
    # Invoked, but without its labourer's duration running cannot be told from expired.
    INVOKED = "invoked"


class Table(StrEnum):
    """Which of the three task tables a row was read from."""

    LIVE = "tasks"
    RETRY = "retry"
    CLOSED = "closed"


# The states an operator can ask for by name (INVOKED only stands in when the labourer is unknown).
STATES = (
    TaskState.QUEUED,
    TaskState.RUNNING,
    TaskState.EXPIRED,
    TaskState.RETRYING,
    TaskState.COMPLETED,
    TaskState.DEAD,
)
# The closed table's status suffix of each closed state.
CLOSED_STATUS = {TaskState.COMPLETED: STATUS_COMPLETED, TaskState.DEAD: STATUS_DEAD}


def state_of(task: Task, table: Table, now: float, labourer: Labourer | None = None) -> TaskState:
    """The state of ``task`` as read from ``table`` at ``now``; ``labourer`` tells running from expired."""
    if table is Table.RETRY:
        return TaskState.RETRYING
    if table is Table.CLOSED:
        status = str(task.extra.get("labourer_id_task_status", ""))
        return TaskState.COMPLETED if status.endswith(f"_{STATUS_COMPLETED}") else TaskState.DEAD
    if task.greenfield < now:
        return TaskState.QUEUED
    if labourer is None:
        return TaskState.INVOKED
    return TaskState.RUNNING if task.greenfield > labourer.running_after(now) else TaskState.EXPIRED
