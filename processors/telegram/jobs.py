"""The jobs a chat started (for ``/jobs``): one row per job in ``ganger_chat_jobs``, and each job's
state read from the task tables (queued, running, waiting to retry, done, failed).

A dead job's report is remembered by a marker row (``!reported#<job id>``, sorted before every job
row) written with a condition, so each dead job is told to its chat once."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import ClientError

from ganger.errors import GangerError
from ganger.task_state import Table, TaskState, state_of
from ganger.tasks import TaskStore
from processors.telegram.incoming import Incoming
from processors.telegram.router import ChatBot, ChatHandler, Reply
from processors.telegram.routes import Kind, Route

REPORTED_PREFIX = "!reported#"  # "!" sorts before the digits of the job rows' keys

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
    reply_to: int = 0  # the message that asked

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
                "reply_to": {"N": str(job.reply_to)},
                "expires_at": {"N": str(job.created_at + self.ttl_seconds)},
            },
        )

    def mark_reported(self, chat_id: int, job_id: str, now: float) -> bool:
        """True the first time a job's end is reported (a conditional put); False after."""
        try:
            self._ddb.put_item(
                TableName=self.table,
                Item={
                    "chat_id": {"S": str(chat_id)},
                    "job_key": {"S": f"{REPORTED_PREFIX}{job_id}"},
                    "reported_at": {"N": str(int(now))},
                    "expires_at": {"N": str(int(now) + self.ttl_seconds)},
                },
                ConditionExpression="attribute_not_exists(job_key)",
            )
            return True
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException":
                return False
            raise

    def unmark_reported(self, chat_id: int, job_id: str) -> None:
        """The report could not be sent: the next run tries again."""
        self._ddb.delete_item(
            TableName=self.table, Key={"chat_id": {"S": str(chat_id)}, "job_key": {"S": f"{REPORTED_PREFIX}{job_id}"}}
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
                int(i.get("reply_to", {}).get("N", 0)),
            )
            for i in page.get("Items", [])
            if "job_id" in i  # not a report marker
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


class SchedulingFailed(GangerError):
    """The Scheduler did not accept a job."""


def schedule_job(
    bot: ChatBot, incoming: Incoming, labourer: str, kind: str, summary: str, payload: dict[str, Any]
) -> bool:
    """Send a chat's job to the Scheduler and remember it for /jobs. False when it was already scheduled.

    The job id comes from the chat and message, so a redelivered update schedules nothing twice; the
    payload carries ``chat_id`` and ``reply_to`` so the result is threaded under the asking message.
    """
    config = bot.config
    payload = {**payload, "chat_id": incoming.chat_id, "reply_to": incoming.message_id}
    job = {"job": {"lambda_name": labourer, "job_id": incoming.job_id, "payload": payload}}
    result = bot.clients.lambda_.invoke(FunctionName=config.scheduler_function, Payload=json.dumps(job).encode())
    body = json.loads(result["Payload"].read() or b"null")
    if result.get("FunctionError"):
        raise SchedulingFailed(str((body or {}).get("errorMessage", "unknown error"))[:300])
    created = int(bot.clock())
    record = ChatJob(incoming.chat_id, incoming.job_id, labourer, kind, summary, created, incoming.message_id)
    ChatJobs(bot.clients.dynamodb, config.jobs_table).record(record)
    bot.stats["jobs_scheduled"] += 1
    return not (body or {}).get("duplicate")


@ChatHandler.on(Kind.JOBS)
def jobs(bot: ChatBot, incoming: Incoming, target: Route) -> Reply:
    recent = ChatJobs(bot.clients.dynamodb, bot.config.jobs_table).recent(incoming.chat_id, bot.config.jobs_shown)
    if not recent:
        return Reply("No jobs yet. Send a link or a photo.")
    now = bot.clock()
    lines = [f"{j.kind} {j.summary[:60]}: {job_state(bot.store, j, now)}" for j in recent]
    return Reply("Your recent jobs:\n" + "\n".join(lines))


HANDLERS = (jobs,)
