"""Start marks: a worker's record that it began an attempt, so that an attempt that never ran is given back.

An Invoke that times out leaves the dispatcher not knowing whether Lambda accepted the event. Without
more, the attempt stays claimed until it expires and counts as used although no worker may ever have run.
For a labourer with ``marks_start``, ganger's ``Worker`` writes ``_ganger_started#<task_id>#<token>`` in
the tasks table before it processes an attempt (the token is the attempt's ``invocation_token``), and
whoever gives an attempt back (the Starter after an Invoke with an unknown outcome, the Scavenger when the
attempt expired) writes the same item in the transaction that releases the task. Both writes are
conditioned on the item not existing, so exactly one wins: either the worker started (the attempt stays
counted) or the attempt is abandoned (given back, and a late delivery of it exits without running). The
same condition makes a repeated delivery of one attempt (Lambda's asynchronous invocations are at least
once) run once. One item per attempt, not per task: a late delivery of an attempt given back must lose
even after the task's next attempt has marked its own start.

The item has no ``labourer_id``/``greenfield``, so it is in no index: one write unit per started
attempt. It expires by TTL (``expires_at``) a week later, long after any expiry the Scavenger handles.
"""

from __future__ import annotations

import enum
import logging
import time
import uuid
from collections.abc import Callable
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from ganger.tasks.base import error_code
from ganger.tasks.records import MARKER_PREFIX
from ganger.transient import is_transient

logger = logging.getLogger(__name__)

START_PREFIX = f"{MARKER_PREFIX}started#"
MARK_START = "mark_start"  # in a worker's event: mark the attempt's start before running it
TTL_SECONDS = 7 * 86400
STARTED, ABANDONED = "started", "abandoned"


def mark_key(task_id: str, token: str) -> dict[str, Any]:
    return {"task_id": {"S": f"{START_PREFIX}{task_id}#{token}"}}


def mark_put(table: str, task_id: str, token: str, now: float, state: str, run_id: str = "") -> dict[str, Any]:
    """The conditional Put (PutItem parameters, or a transaction's ``Put``) that claims this attempt's mark."""
    item = {
        **mark_key(task_id, token),
        "invocation_token": {"S": token},
        "state": {"S": state},
        "at": {"N": str(int(now))},
        "expires_at": {"N": str(int(now) + TTL_SECONDS)},
    }
    if run_id:
        item["run_id"] = {"S": run_id}
    return {
        "TableName": table,
        "Item": item,
        "ConditionExpression": "attribute_not_exists(task_id)",
    }


class Start(enum.Enum):
    """What a worker's start mark said."""

    RUN = "run"  # this run holds the attempt's mark: process the task
    TAKEN = "taken"  # the attempt already started (a repeated delivery) or was given back: do not run
    UNKNOWN = "unknown"  # the mark could not be written: do not run; the attempt expires and is given back


class StartMarks:
    """The worker's side: mark the start of an attempt before processing it (1 PutItem)."""

    def __init__(
        self,
        dynamodb: Any,
        table: str,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], None] = time.sleep,
        tries: int = 4,
    ) -> None:
        self._ddb = dynamodb
        self._table = table
        self._clock = clock
        self._sleep = sleep
        self._tries = max(1, tries)

    def start(self, task_id: str, token: str) -> Start:
        """RUN when this run may process the attempt. A write whose answer was lost and is sent again finds its
        own ``run_id`` in the mark, so it is still this run's."""
        run_id = uuid.uuid4().hex
        params = mark_put(self._table, task_id, token, self._clock(), STARTED, run_id)
        for attempt in range(self._tries):
            try:
                self._ddb.put_item(**params, ReturnValuesOnConditionCheckFailure="ALL_OLD")
                return Start.RUN
            except ClientError as exc:
                if error_code(exc) == "ConditionalCheckFailedException":
                    old = exc.response.get("Item") or {}
                    if old.get("run_id", {}).get("S") == run_id:
                        return Start.RUN
                    state = old.get("state", {}).get("S", "?")
                    logger.warning("task %s: attempt already %s; this delivery does not run it", task_id, state)
                    return Start.TAKEN
                if not is_transient(exc) or attempt == self._tries - 1:
                    return self._unknown(task_id, exc)
            except BotoCoreError as exc:
                if not is_transient(exc) or attempt == self._tries - 1:
                    return self._unknown(task_id, exc)
            self._sleep(0.1 * 2**attempt)
        raise AssertionError("unreachable")

    @staticmethod
    def _unknown(task_id: str, exc: Exception) -> Start:
        logger.error(
            "task %s: could not mark the attempt's start (%s: %s); not running it: it expires and is given back",
            task_id, type(exc).__name__, exc,
        )  # fmt: skip
        return Start.UNKNOWN
