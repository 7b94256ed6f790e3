"""One task found wherever it is, and a labourer's tasks listed by state."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ganger.ops.context import Ops
from ganger.task_state import Table, TaskState, state_of
from ganger.tasks import Task


@dataclass(frozen=True)
class Located:
    """A task, the state it was found in and the table it was read from."""

    task: Task
    state: TaskState
    table: str


def locate(ops: Ops, task_id: str, now: float) -> Located | None:
    """Live table first, then closed, then the retry table of each labourer (one GetItem each, under the key of
    the lane the task's id hashes to)."""
    store = ops.store
    labourers = ops.labourers()
    task = store.get(task_id)
    if task is not None:
        state = state_of(task, Table.LIVE, now, labourers.get(task.labourer_id))
        return Located(task, state, store.tables.tasks)
    task = store.get_closed(task_id)
    if task is not None:
        return Located(task, state_of(task, Table.CLOSED, now), store.tables.closed)
    for labourer_id, labourer in labourers.items():
        task = store.get_retry(labourer_id, task_id, labourer.lane_count)
        if task is not None:
            return Located(task, state_of(task, Table.RETRY, now), store.tables.retry)
    return None


def task_view(found: Located) -> dict[str, Any]:
    """A task as the operator reads it: core fields, then stats, result and anything else."""
    task = found.task
    extra = dict(task.extra)
    stats = {k[5:]: extra.pop(k) for k in sorted(extra) if k.startswith("stat_")}
    result = {k[7:]: extra.pop(k) for k in sorted(extra) if k.startswith("result_")}
    return {
        "task_id": task.task_id,
        "state": str(found.state),
        "table": found.table,
        "labourer_id": task.labourer_id,
        "attempts": task.attempts,
        "job_id": task.job_id or None,
        "created_at": task.created_at,
        "invoked_at": task.invoked_at,
        "desired_launch_time": task.desired_launch_time,
        "completed_at": task.completed_at,
        "closed_at": task.closed_at,
        "failure_reason": task.failure_reason,
        "payload": task.payload_dict,
        "stats": stats,
        "result": result,
        "other": extra,
    }


def task_row(task: Task, state: TaskState) -> dict[str, Any]:
    """One line of a listing: ``at`` is when the state began (invoked, due to retry, closed)."""
    moment = {TaskState.RETRYING: task.desired_launch_time, TaskState.COMPLETED: task.closed_at,
              TaskState.DEAD: task.closed_at}  # fmt: skip
    return {
        "task_id": task.task_id,
        "state": str(state),
        "attempts": task.attempts,
        "created_at": task.created_at,
        "at": moment.get(state, task.invoked_at),
        "reason": task.failure_reason or "",
    }


def list_tasks(ops: Ops, labourer_id: str, state: TaskState, now: float, limit: int) -> list[dict[str, Any]]:
    """A labourer's tasks in one state, as rows (at most ``limit``)."""
    labourer = ops.labourer(labourer_id)
    return [task_row(t, state) for t in ops.reads.list_in_state(labourer, state, now, limit)]
