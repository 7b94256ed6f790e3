"""The jobs a chat started (for ``/jobs``): one row per job in ``ganger_chat_jobs``, and each job's
state read from the task tables (queued, running, waiting to retry, done, failed)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ganger.task_state import Table, TaskState, state_of
from ganger.tasks import TaskStore

# How /jobs words each state; an invoked task is "running" (the bot does not read the labourers).
CHAT_WORDS = {
    TaskState.QUEUED: "queued",
    TaskState.RUNNING: "running",
    TaskState.EXPIRED: "running",
    TaskState.INVOKED: "running",
    TaskState.RETRYING: "waiting to retry",
    TaskState.COMPLETED: "done",
    TaskState.DEAD: "failed",
}


@dataclass(frozen=True)
class ChatJob:
    chat_id: int
    job_id: str
    labourer_id: str
    kind: str
    summary: str
    created_at: int

    @property
    def task_id(self) -> str:
        return f"{self.job_id}-0"  # the Scheduler's id of a one-chunk job's task


class ChatJobs:
    def __init__(self, dynamodb: Any, table: str, ttl_seconds: int = 30 * 86400) -> None:
        self._ddb = dynamodb
        self.table = table
        self.ttl_seconds = ttl_seconds

    def record(self, job: ChatJob) -> None:
        self._ddb.put_item(
            TableName=self.table,
            Item={
                "chat_id": {"S": str(job.chat_id)},
                "job_key": {"S": f"{job.created_at:012d}#{job.job_id}"},
                "job_id": {"S": job.job_id},
                "labourer_id": {"S": job.labourer_id},
                "kind": {"S": job.kind},
                "summary": {"S": job.summary[:200]},
                "created_at": {"N": str(job.created_at)},
                "expires_at": {"N": str(job.created_at + self.ttl_seconds)},
            },
        )

    def recent(self, chat_id: int, limit: int) -> list[ChatJob]:
        """The chat's newest jobs, newest first (one page of ``limit``)."""
        page = self._ddb.query(
            TableName=self.table,
            KeyConditionExpression="chat_id = :c",
            ExpressionAttributeValues={":c": {"S": str(chat_id)}},
            ScanIndexForward=False,
            Limit=limit,
        )
        return [
            ChatJob(
                chat_id,
                i["job_id"]["S"],
                i["labourer_id"]["S"],
                i["kind"]["S"],
                i["summary"]["S"],
                int(i["created_at"]["N"]),
            )
            for i in page.get("Items", [])
        ]


def job_state(store: TaskStore, job: ChatJob, now: float) -> str:
    """A word or two for the job's state (ganger.task_state's rule), from at most three reads."""
    live = store.get(job.task_id)
    if live is not None:
        return CHAT_WORDS[state_of(live, Table.LIVE, now)]
    closed = store.get_closed(job.task_id)
    if closed is not None:
        if state_of(closed, Table.CLOSED, now) is TaskState.DEAD:
            return CHAT_WORDS[TaskState.DEAD]
        error = closed.extra.get("result_error")
        return f"done ({error})" if error else "done"
    if store.get_retry(job.labourer_id, job.task_id) is not None:
        return CHAT_WORDS[TaskState.RETRYING]
    return "scheduled"
