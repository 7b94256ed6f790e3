"""What happens to a failed or expired attempt: retry later (backoff with full jitter) or close dead.

``decide`` is pure; ``Retirer`` performs the decision on the tables and tells SNS about the dead.
"""

from __future__ import annotations

import json
import logging
import math
import random
from dataclasses import dataclass
from typing import TYPE_CHECKING

from ganger.labourer import Labourer
from ganger.tasks import STATUS_DEAD, Ended, Task, TaskStore

if TYPE_CHECKING:  # the mypy-boto3 stubs are a dev dependency
    from mypy_boto3_sns import SNSClient

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class RetryAt:
    desired_launch_time: int


@dataclass(frozen=True)
class CloseDead:
    reason: str


def decide(
    task: Task, labourer: Labourer, now: float, reason: str, rand: random.Random | None = None
) -> RetryAt | CloseDead:
    """Retry after a jittered backoff, unless the task has used ``max_attempts``."""
    if task.attempts >= labourer.max_attempts:
        return CloseDead(f"{reason}; used {task.attempts} of {labourer.max_attempts} attempts")
    # Rounded up: a retry is never due in the run that scheduled it (nor before its delay).
    return RetryAt(math.ceil(now + labourer.retry.delay(task.attempts, rand)))


class Retirer:
    """Performs retry/dead decisions for the Scavenger and the WorkerAssistant."""

    def __init__(self, store: TaskStore, sns: SNSClient | None = None, topic_arn: str = "") -> None:
        self._store = store
        self._sns = sns
        self._topic_arn = topic_arn
        self.owed = 0  # attempts ended with their slot owed (their lane's counter kept conflicting)

    def retire(self, task: Task, labourer: Labourer, token: str | None, now: float, reason: str) -> str:
        """Returns "retried", "dead" or "lost" (another actor changed the task first). Either way out of the
        invoked state gives the attempt's slot back."""
        decision = decide(task, labourer, now, reason)
        if isinstance(decision, RetryAt):
            moved = self._store.to_retry(task, token, decision.desired_launch_time, reason)
            self.owed += moved is Ended.OWED
            return "retried" if moved.ended else "lost"
        dead = Task(**{**task.__dict__, "failure_reason": decision.reason})
        closed = self._store.close(dead, token, STATUS_DEAD, now)
        if not closed.ended:
            return "lost"
        self.owed += closed is Ended.OWED
        self._notify(dead, decision.reason)
        return "dead"

    def _notify(self, task: Task, reason: str) -> None:
        if not self._topic_arn or self._sns is None:
            return
        message = {
            "task_id": task.task_id,
            "labourer_id": task.labourer_id,
            "attempts": task.attempts,
            "reason": reason,
        }
        self._sns.publish(
            TopicArn=self._topic_arn,
            Subject=f"ganger: task dead for {task.labourer_id}"[:100],
            Message=json.dumps(message),
        )
