"""Telling a chat, once, that a job it started ended dead (failed after its retries).

The Scavenger (``ganger.retries.Retirer``) closes a task as dead in the closed table. The bot's
Lambda, on a one-minute rule (``{"action": "report_dead_jobs"}``), reads each of its labourers'
dead tasks closed in the lookback window (the closed table's status index, paginated), keeps the
ones a chat started (job ids ``tg-<chat>-<message>`` and a ``chat_id`` in the payload), and sends
each chat a message in words a user understands, threaded under the message that asked. A marker
row (``ChatJobs.mark_reported``) makes it once; a failed send removes the marker for the next run.
This reads the tables only, so the essentials need no change and no SNS subscription.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from ganger.tasks import STATUS_DEAD, Task, TaskStore
from ganger.telegram import CredentialsUnavailable, TelegramApi, TelegramFailure
from processors.telegram.jobs import ChatJobs

logger = logging.getLogger(__name__)
CHAT_JOB_PREFIX = "tg-"
PAGE_LIMIT = 100


@dataclass(frozen=True)
class DeadJob:
    job_id: str
    chat_id: int
    reply_to: int
    labourer_id: str
    payload: dict[str, Any]
    attempts: int
    reason: str

    @classmethod
    def from_task(cls, task: Task) -> DeadJob | None:
        """None for a task no chat started."""
        if not task.job_id.startswith(CHAT_JOB_PREFIX):
            return None
        try:
            payload = json.loads(task.payload or "{}")
            chat_id = int(payload["chat_id"])
        except (ValueError, KeyError, TypeError):
            return None
        reason = task.failure_reason or str(task.extra.get("failure_reason") or "")
        reply_to = int(payload.get("reply_to") or 0)
        return cls(task.job_id, chat_id, reply_to, task.labourer_id, payload, task.attempts, reason)


def message(job: DeadJob) -> str:
    """What failed, for the person who asked."""
    how = "it kept timing out" if "expired" in job.reason else "it kept failing"
    tries = f"I tried {job.attempts} times" if job.attempts > 1 else "I tried"
    action = str(job.payload.get("action") or "")
    if "url" in job.payload:
        what = f"download the video from {job.payload['url']}"
        advice = "Check the link, or try again later."
    elif "image_key" in job.payload:
        what = "look at your photo"
        advice = "Please send it again later."
    elif action in ("up", "shutdown"):
        box = str(job.payload.get("code") or "") or "default"
        what = f"{'start' if action == 'up' else 'stop'} your dev box ({box})"
        advice = "Check /status, or try again in a few minutes."
    else:
        what = "finish your job"
        advice = "Please try again later."
    return f"Sorry, I could not {what}: {how} ({tries}). {advice}"


class JobReporter:
    def __init__(self, store: TaskStore, jobs: ChatJobs, telegram: TelegramApi) -> None:
        self._store = store
        self._jobs = jobs
        self._telegram = telegram

    def dead_jobs(self, labourers: Iterable[str], since: float) -> list[DeadJob]:
        found = []
        for labourer in labourers:
            for task in self._store.closed(labourer, STATUS_DEAD, since, PAGE_LIMIT):
                job = DeadJob.from_task(task)
                if job is not None:
                    found.append(job)
        return found

    def report(self, labourers: Iterable[str], since: float, now: float) -> int:
        """Send each unreported dead chat job's message; returns how many were sent."""
        sent = 0
        for job in self.dead_jobs(labourers, since):
            if not self._jobs.mark_reported(job.chat_id, job.job_id, now):
                continue
            try:
                self._telegram.send_message(job.chat_id, message(job), reply_to=job.reply_to or None)
            except (TelegramFailure, CredentialsUnavailable) as exc:
                logger.error("dead job %s not reported: %s", job.job_id, exc)
                self._jobs.unmark_reported(job.chat_id, job.job_id)
                continue
            sent += 1
        return sent
