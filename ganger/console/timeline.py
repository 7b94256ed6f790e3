"""A task's attempts as a timeline, from what lasts: the task row's timestamps and its audit trail rows.

The row keeps the creation, the latest attempt's invocation, the report and the closing (and, waiting to retry,
the time it is due); earlier attempts' moments come from the audit trail when it is on. Each step shows how long
after the previous one it came.
"""

from __future__ import annotations

from dataclasses import dataclass

from ganger.audit import AuditEvent
from ganger.task_state import TaskState
from ganger.tasks import Task


@dataclass(frozen=True)
class Step:
    at: float
    what: str
    detail: str = ""
    after: float | None = None  # seconds since the previous step


def _row_steps(task: Task, state: TaskState) -> list[Step]:
    steps = [Step(task.created_at, "created", f"job {task.job_id}" if task.job_id else "")]
    if task.invoked_at:
        steps.append(Step(task.invoked_at, f"attempt {task.attempts} invoked", "the latest attempt"))
    if state is TaskState.RETRYING and task.desired_launch_time:
        what = "due to retry" if task.attempts else "not before its launch time"
        steps.append(Step(task.desired_launch_time, what, task.failure_reason or ""))
    if task.completed_at:
        steps.append(Step(task.completed_at, "reported completed"))
    if task.closed_at:
        closed = "closed as dead" if state is TaskState.DEAD else "closed as completed"
        steps.append(Step(task.closed_at, closed, task.failure_reason or "" if state is TaskState.DEAD else ""))
    return steps


def _audit_steps(events: list[AuditEvent]) -> list[Step]:
    steps = []
    for event in events:
        details = dict(event.details or {})
        attempt = details.pop("attempt", None)
        what = event.event.replace("_", " ") + (f" (attempt {attempt})" if attempt is not None else "")
        steps.append(Step(event.at, what, ", ".join(f"{k}: {v}" for k, v in sorted(details.items()))))
    return steps


def timeline(task: Task, state: TaskState, events: list[AuditEvent]) -> list[Step]:
    """Every known step, oldest first, each with the seconds since the one before."""
    steps = sorted(_row_steps(task, state) + _audit_steps(events), key=lambda s: s.at)
    timed: list[Step] = []
    for step in steps:
        after = step.at - timed[-1].at if timed else None
        timed.append(Step(step.at, step.what, step.detail, after))
    return timed
