"""Every change of a task's state: claim (taking slots), release, close and retry (giving a slot back or
handing it to the next task), requeue, redrive, late reports. Each is one conditional write or transaction."""

from __future__ import annotations

import enum
from dataclasses import dataclass, replace
from typing import Any

from ganger.errors import TransientAwsError
from ganger.lanes import queue_key
from ganger.priority import queue_position
from ganger.tasks.base import logger
from ganger.tasks.claims import Claims
from ganger.tasks.queue import OWED_PREFIX
from ganger.tasks.records import STATUS_COMPLETED, Task
from ganger.tasks.start_marks import ABANDONED, mark_put


class Ended(enum.Enum):
    """How an attempt's end went."""

    DONE = "done"  # ended; its slot given back
    HANDED_OFF = "handed_off"  # ended; its slot passed to the next queued task, claimed in the same transaction
    OWED = "owed"  # ended while its lane's counter kept conflicting: the slot is owed, settled by the Scavenger
    NOT_OWNED = "not_owned"  # the attempt no longer owns the task (late or repeated): nothing changed
    NEXT_TAKEN = "next_taken"  # the hand-off's task was taken (or the cap dropped): nothing changed

    @property
    def ended(self) -> bool:
        return self in (Ended.DONE, Ended.HANDED_OFF, Ended.OWED)


@dataclass(frozen=True)
class Handoff:
    """A queued task to take an ending attempt's slot: claimed in the same transaction that ends the attempt.

    ``slot_lane`` is the lane whose slot passes on (the ending attempt's); ``guard`` "transaction" puts a
    ConditionCheck on that lane's counter in the transaction (the labourer's ``handoff_guard``), "cache" leaves
    the counter out (the WorkerAssistant checked its cached read)."""

    task: Task
    token: str
    now: float
    invoked_greenfield: int
    slot_lane: int = 0
    guard: str = "cache"
    key_slot: str | None = None  # the next task's concurrency key, when its labourer caps keys (``ganger.keys``)
    max_per_key: int = 0

    @property
    def claimed(self) -> Task:
        return StateChanges.claimed(
            self.task, self.token, self.now, self.invoked_greenfield, self.slot_lane, self.key_slot
        )


class StateChanges(Claims):
    def release(self, task: Task, position: int) -> bool:
        """Return a claimed task that was never delivered to the front of the queue, undoing its attempt and
        giving its slot back (one transaction; the slot owed when the lane's counter keeps conflicting)."""
        return self._end_giving_back(task, (self._release_item(task, position),)).ended

    def abandon(self, task: Task, position: int, now: float, limit: int) -> bool:
        """Give back an attempt no worker started (its Invoke's outcome unknown, or it expired): released as in
        ``release``, and its start mark written as abandoned in the same transaction, so that the worker, should
        the event still arrive, does not run it. At most ``limit`` times per task (``given_back`` counts them):
        a function that fails before its worker can mark (an import error) must still run out of attempts.
        False when a worker already marked the attempt's start (it counts), the task was given back ``limit``
        times, or the attempt no longer owns it. For labourers with ``marks_start`` only."""
        abandoned = {"Put": mark_put(self.tables.tasks, task.task_id, task.invocation_token or "", now, ABANDONED)}
        items = (self._release_item(task, position, give_back_limit=limit), abandoned)
        return self._end_giving_back(task, items).ended

    def _release_item(self, task: Task, position: int, give_back_limit: int | None = None) -> dict[str, Any]:
        """The task back in the queue at ``position`` with its attempt undone (its slot is given back with it)."""
        adds, condition = "attempts :minus", "invocation_token = :tok"
        values = {
            ":pos": {"N": str(queue_position(position, task.priority))},  # back at the front of its priority
            ":minus": {"N": "-1"},
            ":tok": {"S": task.invocation_token or ""},
        }
        if give_back_limit is not None:
            adds += ", given_back :one"
            condition += " AND (attribute_not_exists(given_back) OR given_back < :limit)"
            values.update({":one": {"N": "1"}, ":limit": {"N": str(give_back_limit)}})
        removes = "invocation_token, invoked_at" + (", slot_lane" if task.slot_lane is not None else "")
        removes += ", key_slot" if task.key_slot is not None else ""
        return {
            "Update": {
                "TableName": self.tables.tasks,
                "Key": {"task_id": {"S": task.task_id}},
                "UpdateExpression": f"SET greenfield = :pos ADD {adds} REMOVE {removes}",
                "ConditionExpression": condition,
                "ExpressionAttributeValues": values,
            }
        }

    def _owned_condition(self, task: Task, token: str | None) -> tuple[str, dict[str, Any]]:
        """The condition that the reporting attempt still owns the task (and, with a token, that the
        report's snapshot of the task is the stored one, the lane whose slot it holds included)."""
        if token is not None:
            values = {":tok": {"S": token}, ":a": {"N": str(task.attempts)}, ":l": {"S": task.queue_key}}
            if task.slot_lane is None:
                held = "attribute_not_exists(slot_lane)"
            else:
                held, values[":sl"] = "slot_lane = :sl", {"N": str(task.slot_lane)}
            if task.key_slot is None:  # the key's place it holds is given back: the snapshot must say which
                held += " AND attribute_not_exists(key_slot)"
            else:
                held += " AND key_slot = :ks"
                values[":ks"] = {"S": task.key_slot}
            return f"invocation_token = :tok AND attempts = :a AND labourer_id = :l AND {held}", values
        return "greenfield = :gf AND attempts = :a", {
            ":gf": {"N": str(task.greenfield)},
            ":a": {"N": str(task.attempts)},
        }

    def _delete_owned(self, task: Task, token: str | None) -> dict[str, Any]:
        condition, values = self._owned_condition(task, token)
        return {
            "Delete": {
                "TableName": self.tables.tasks,
                "Key": {"task_id": {"S": task.task_id}},
                "ConditionExpression": condition,
                "ExpressionAttributeValues": values,
            }
        }

    def _put_closed(self, task: Task) -> dict[str, Any]:
        return {
            "Put": {
                "TableName": self.tables.closed,
                "Item": task.to_item(),
                "ConditionExpression": "attribute_not_exists(task_id)",
            }
        }

    def close(self, task: Task, token: str | None, status: str, now: float, handoff: Handoff | None = None) -> Ended:
        """Archive the reporting attempt's task to the closed table in one transaction (1 call), giving its slot
        back, or with ``handoff`` passing the slot to a queued task claimed in the same transaction.

        NOT_OWNED when the attempt no longer owns it (a late or repeated report): nothing changes.
        """
        status_key = f"{task.queue_key}_{status}"
        closed = replace(
            task,
            key_slot=None,
            closed_at=int(now),
            completed_at=int(now) if status == STATUS_COMPLETED else task.completed_at,
            extra={**task.extra, "labourer_id_task_status": status_key},
        )
        return self._end(task, (self._delete_owned(task, token), self._put_closed(closed)), handoff)

    def to_retry(
        self, task: Task, token: str | None, desired_launch_time: int, reason: str, handoff: Handoff | None = None
    ) -> Ended:
        """Move the reporting (or expired) attempt's task to the retry table in one transaction, its slot given
        back or handed off as in ``close``."""
        retry = replace(
            task,
            desired_launch_time=desired_launch_time,
            failure_reason=reason,
            invocation_token=None,
            invoked_at=None,
            slot_lane=None,
            key_slot=None,
        )
        put = {
            "Put": {
                "TableName": self.tables.retry,
                "Item": retry.to_item(),
                "ConditionExpression": "attribute_not_exists(task_id)",
            }
        }
        return self._end(task, (self._delete_owned(task, token), put), handoff)

    def _end(self, task: Task, ending: tuple[dict[str, Any], ...], handoff: Handoff | None) -> Ended:
        """End an invoked attempt: the ending items plus the slot's fate, in one transaction."""
        if handoff is None:
            return self._end_giving_back(task, ending)
        next_task = handoff.task
        claim = self.claim_item(
            next_task, handoff.token, handoff.now, handoff.invoked_greenfield, handoff.slot_lane, handoff.key_slot
        )
        guard = [self.slots.within_cap(task.labourer_id, handoff.slot_lane)] if handoff.guard == "transaction" else []
        codes = self.transact_items(
            [*ending, claim, *guard, *self._key_passes(task, handoff)], contested=len(ending)
        )  # a taken candidate, or one whose key is at its cap: the next one
        if codes is None:
            return Ended.HANDED_OFF
        if any(code == "ConditionalCheckFailed" for code in codes[: len(ending)]):
            return Ended.NOT_OWNED
        return Ended.NEXT_TAKEN

    def _key_passes(self, task: Task, handoff: Handoff) -> list[dict[str, Any]]:
        """A hand-off between two tasks of one key keeps the key's count (no item); between keys it gives the
        ending key's place back and takes the next key's, only while that key is within its cap."""
        if task.key_slot == handoff.key_slot:
            return []
        items = [self.keys.give(task.labourer_id, task.key_slot)] if task.key_slot is not None else []
        if handoff.key_slot is not None:
            items.append(self.keys.take(task.labourer_id, handoff.key_slot, 1, handoff.max_per_key))
        return items

    def _key_back(self, task: Task) -> list[dict[str, Any]]:
        """The key's place an ending attempt gives back (none when it holds none)."""
        return [self.keys.give(task.labourer_id, task.key_slot)] if task.key_slot is not None else []

    def _end_giving_back(self, task: Task, ending: tuple[dict[str, Any], ...]) -> Ended:
        """The ending items with the slot given back to its lane's counter. When that transaction keeps
        conflicting (every end of the lane meets on the counter), the same items go with a row that records the
        owed slot instead (no counter item): the attempt's outcome is stored now and the slot settled later
        (``settle_owed``), exactly once."""
        try:
            codes = self.transact_items(
                [*ending, self.slots.give(task.labourer_id, 1, task.holds_lane), *self._key_back(task)]
            )
            return Ended.DONE if codes is None else Ended.NOT_OWNED
        except TransientAwsError:
            logger.warning("task %s: its lane's counter kept conflicting; ending it with the slot owed", task.task_id)
        codes = self.transact_items([*ending, self._owe_item(task), *self._key_back(task)])
        return Ended.OWED if codes is None else Ended.NOT_OWNED

    def _owe_item(self, task: Task) -> dict[str, Any]:
        """Add one slot to the owed row of the task's slot lane: in the retry table, under the lane's queue key,
        due at 0, so that the Scavenger's due-retries query of the lane finds it at no extra call."""
        return {
            "Update": {
                "TableName": self.tables.retry,
                "Key": {
                    "labourer_id": {"S": queue_key(task.labourer_id, task.holds_lane)},
                    "task_id": {"S": f"{OWED_PREFIX}{task.task_id}"},
                },
                "UpdateExpression": "SET desired_launch_time = :zero ADD owed_slots :one",
                "ExpressionAttributeValues": {":zero": {"N": "0"}, ":one": {"N": "1"}},
            }
        }
