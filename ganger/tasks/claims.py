"""Claims: queued tasks taking free slots of their labourer's lane (and, where the labourer has them, its keys'
places and its rate's tokens), one transaction per batch, conditional on each task's queue position."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from ganger.backoff import jittered_delay
from ganger.errors import TransientAwsError
from ganger.keys import KeyPolicy
from ganger.rates import RateGate
from ganger.tasks.base import logger
from ganger.tasks.records import MARKER_PREFIX, MAX_TRANSACTION_ITEMS, Task, is_marker
from ganger.tasks.transactions import Transactions

CLAIM_ROUNDS = 10  # a claim that only conflicts is tried this often (jittered backoff), then left queued


class Claims(Transactions):
    def claim_item(
        self,
        task: Task,
        token: str,
        now: float,
        invoked_greenfield: int,
        slot_lane: int | None = None,
        key_slot: str | None = None,
    ) -> dict[str, Any]:
        """The transaction item that claims one queued task: only if it is still at the same queue position and
        is no ``_ganger_`` row (see ``is_marker``). A task claimed with another lane's slot records that lane
        (``slot_lane``); one claimed with its key's place (``max_per_key``) records the key (``key_slot``)."""
        sets = "SET greenfield = :inv, invocation_token = :tok, invoked_at = :now"
        values = {
            ":inv": {"N": str(invoked_greenfield)},
            ":tok": {"S": token},
            ":now": {"N": str(int(now))},
            ":one": {"N": "1"},
            ":old": {"N": str(task.greenfield)},
            ":marker": {"S": MARKER_PREFIX},
        }
        removed = []
        if slot_lane is not None and slot_lane != task.lane:
            sets += ", slot_lane = :sl"
            values[":sl"] = {"N": str(slot_lane)}
        elif task.slot_lane is not None:
            removed.append("slot_lane")
        if key_slot is not None:
            sets += ", key_slot = :ks"
            values[":ks"] = {"S": key_slot}
        elif task.key_slot is not None:  # a stale record (a redriven row): this attempt holds no key's place
            removed.append("key_slot")
        removes = f" REMOVE {', '.join(removed)}" if removed else ""
        return {
            "Update": {
                "TableName": self.tables.tasks,
                "Key": {"task_id": {"S": task.task_id}},
                "UpdateExpression": f"{sets} ADD attempts :one{removes}",
                "ConditionExpression": "greenfield = :old AND NOT begins_with(task_id, :marker)",
                "ExpressionAttributeValues": values,
            }
        }

    @staticmethod
    def claimed(
        task: Task,
        token: str,
        now: float,
        invoked_greenfield: int,
        slot_lane: int | None = None,
        key_slot: str | None = None,
    ) -> Task:
        """The task as a successful claim leaves it."""
        holds = None if slot_lane is None or slot_lane == task.lane else slot_lane
        return replace(
            task, attempts=task.attempts + 1, invocation_token=token, invoked_at=int(now),
            greenfield=invoked_greenfield, slot_lane=holds, key_slot=key_slot,
        )  # fmt: skip

    def claim(
        self,
        tasks: Sequence[Task],
        now: float,
        tokens: Sequence[str],
        invoked_greenfield: int,
        slot_lane: int = 0,
        gate: RateGate | None = None,
        keys: KeyPolicy | None = None,
    ) -> list[Task]:
        """Claim queued tasks of one labourer, each taking one of the free slots of lane ``slot_lane``: attempts + 1,
        a fresh token, greenfield = invoked; only while the task is still at the same queue position and the lane
        has the slots. Transactions of up to 99 tasks plus the lane's slot counter (1 call each); a task taken by
        someone else is skipped, and when the slots run short only as many as are free are claimed. A claim
        that keeps conflicting is given up (the tasks stay queued for the next start): it never raises for that.
        A ``_ganger_`` row is never claimed (``is_marker``). ``gate``: a rate-limited labourer's bucket, whose tokens
        each transaction takes with its tasks (``ganger.rates``); only as many as it grants are claimed. ``keys``
        with ``max_per_key``: each key's counter takes its tasks' places in the same transaction (a key at its cap
        has its tasks left queued)."""
        capped = keys if keys is not None and keys.max_per_key is not None else None
        pending = []
        for t, tok in zip(tasks, tokens, strict=True):
            if _refused(t):
                continue
            key = capped.key_of(t.payload) if capped is not None else None
            claimed = self.claimed(t, tok, now, invoked_greenfield, slot_lane, key)
            pending.append((t, claimed, self.claim_item(t, tok, now, invoked_greenfield, slot_lane, key)))
        size = MAX_TRANSACTION_ITEMS - 2 if capped is None else (MAX_TRANSACTION_ITEMS - 2) // 2  # + a key's each
        done: list[Task] = []
        while pending:
            batch, pending = pending[:size], pending[size:]
            try:
                batch, short = self._claim_batch(batch, slot_lane, gate, capped)
            except (ClientError, BotoCoreError):
                if not done:
                    raise
                # The batches already committed hold claims and slots: hand them back to be dispatched.
                logger.warning("claimed %d tasks, then a claim failed; dispatching what was claimed", len(done))
                break
            done.extend(claimed for _, claimed, _ in batch)
            if short or not batch:
                break
        return done

    def _key_takes(self, batch: list[tuple[Task, Task, dict[str, Any]]], keys: KeyPolicy | None) -> list[str]:
        """The distinct keys of a batch claimed with ``max_per_key`` (each one take item), in order."""
        if keys is None:
            return []
        return list(dict.fromkeys(claimed.key_slot or "" for _, claimed, _ in batch))

    def _claim_batch(
        self,
        batch: list[tuple[Task, Task, dict[str, Any]]],
        lane: int,
        gate: RateGate | None = None,
        keys: KeyPolicy | None = None,
    ) -> tuple[list[Any], bool]:
        """Claim one batch; returns what was claimed and whether the lane ran out of free slots (or the rate
        limit's tokens). Its items: the tasks', each key's take, the lane's slot counter's, the rate's bucket's."""
        labourer_id = batch[0][0].labourer_id
        for attempt in range(CLAIM_ROUNDS):
            if gate is not None:
                batch = batch[: gate.fresh()]
            if not batch:
                return [], gate is not None
            key_list = self._key_takes(batch, keys)
            takes = [
                self.keys.take(labourer_id, key, sum(1 for _, c, _ in batch if c.key_slot == key), keys.max_per_key)
                for key in key_list
                if keys is not None and keys.max_per_key is not None
            ]
            take = [self.slots.take(labourer_id, len(batch), lane)] + ([gate.item(len(batch))] if gate else [])
            try:
                codes = self.transact_items([item for _, _, item in batch] + takes + take, max_rounds=1)
            except TransientAwsError:  # a conflict with a concurrent transaction: try again after a pause
                self._sleep(jittered_delay(attempt, self._rand))
                if gate is not None:
                    gate.refresh()
                continue
            if codes is None:
                if gate is not None:
                    gate.committed(len(batch))
                return batch, False
            if gate is not None:
                rate_code, codes = codes[-1], codes[:-1]
                if rate_code == "ConditionalCheckFailed":  # a concurrent claim took tokens: read the bucket again
                    gate.refresh()
                    continue
            full = {
                key
                for key, code in zip(key_list, codes[len(batch) : -1], strict=True)
                if code == "ConditionalCheckFailed"
            }
            if full:  # a key at its cap (a concurrent claim took its places): its tasks stay queued
                batch = [entry for entry in batch if entry[1].key_slot not in full]
                continue
            if codes[-1] == "ConditionalCheckFailed":  # paused, or too few free slots: claim what is free
                slots = self.slots.read(labourer_id, lane)
                free = slots.free if slots is not None and not slots.paused else 0
                if free <= 0:
                    return [], True
                batch = batch[:free]
                continue
            lost = {i for i, code in enumerate(codes[: len(batch)]) if code == "ConditionalCheckFailed"}
            batch = [entry for i, entry in enumerate(batch) if i not in lost]
        logger.warning("gave up claiming %d tasks of %s after repeated conflicts", len(batch), labourer_id)
        return [], False


def _refused(task: Task) -> bool:
    if is_marker(task.task_id):
        logger.error(
            "refused to claim %s: a ganger marker row is no task (it should not be in the index)", task.task_id
        )
        return True
    return False
