"""The transaction engine: logical changes (ops) in TransactWriteItems of up to 100 items, a failed
condition dropping its op, conflicts retried with jittered exponential backoff (``ganger.backoff``)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from botocore.exceptions import ClientError

from ganger.backoff import jittered_delay
from ganger.errors import TransientAwsError
from ganger.tasks.base import StoreBase, error_code, logger
from ganger.tasks.records import MAX_TRANSACTION_ITEMS

# Rounds of a transaction that only conflicts (or is throttled) before it gives up. Ending an attempt has a
# fallback that needs no counter (``StateChanges._end``), so its rounds bound a report's latency, not its fate.
TRANSACTION_ROUNDS = 8
RETRIED_CODES = frozenset(
    {
        "TransactionCanceledException",
        "TransactionConflictException",
        "TransactionInProgressException",
        "ThrottlingException",
        "ProvisionedThroughputExceededException",
        "RequestLimitExceeded",
    }
)


@dataclass(frozen=True)
class Op:
    """One logical change made of transaction items (all or nothing), identified by its task id."""

    task_id: str
    items: tuple[dict[str, Any], ...]


@dataclass
class TransactOutcome:
    done: list[str] = field(default_factory=list)
    lost: list[str] = field(default_factory=list)  # a condition failed: somebody else changed the task


class Transactions(StoreBase):
    def transact_items(
        self, items: Sequence[dict[str, Any]], max_rounds: int = TRANSACTION_ROUNDS, contested: int | None = None
    ) -> list[str] | None:
        """One TransactWriteItems, retried (jittered backoff) while it only conflicts with concurrent transactions
        or is throttled. None when it succeeded, else the cancellation code of each item (a condition failed, or
        a conflict on the ``contested`` item: another writer is taking it, so waiting for it is pointless);
        TransientAwsError when it still conflicted after ``max_rounds``."""
        for attempt in range(max_rounds):
            try:
                self._ddb.transact_write_items(TransactItems=list(items))
                return None
            except ClientError as exc:
                if not self._conflicted(exc):
                    raise
                reasons = exc.response.get("CancellationReasons") or []
                codes = [str(r.get("Code", "None")) for r in reasons]
                if error_code(exc) == "TransactionCanceledException" and not codes:
                    return ["ConditionalCheckFailed"] * len(items)
                if "ConditionalCheckFailed" in codes:
                    return codes
                if contested is not None and len(codes) > contested and codes[contested] == "TransactionConflict":
                    return codes
                if attempt < max_rounds - 1:
                    self._sleep(jittered_delay(attempt, self._rand))
        logger.warning("a transaction of %d items still conflicted after %d rounds", len(items), max_rounds)
        raise TransientAwsError("TransactWriteItems", f"conflicting after {max_rounds} rounds")

    @staticmethod
    def _conflicted(exc: ClientError) -> bool:
        """A cancellation (its reasons tell a failed condition from a conflict) or a throttle: handled here."""
        return error_code(exc) in RETRIED_CODES

    def transact(
        self, ops: Sequence[Op], max_rounds: int = TRANSACTION_ROUNDS, outcome: TransactOutcome | None = None
    ) -> TransactOutcome:
        """Run ops in TransactWriteItems of up to 100 items. An op whose condition fails is dropped
        (``lost``) and the rest retried; conflicts with concurrent transactions are retried. ``outcome``
        (the caller's) is filled batch by batch, so it holds what was done even when a later batch raises."""
        outcome = outcome if outcome is not None else TransactOutcome()
        batch: list[Op] = []
        size = 0
        for op in ops:
            if size + len(op.items) > MAX_TRANSACTION_ITEMS:
                self._transact_batch(batch, outcome, max_rounds)
                batch, size = [], 0
            batch.append(op)
            size += len(op.items)
        if batch:
            self._transact_batch(batch, outcome, max_rounds)
        return outcome

    def _transact_batch(self, batch: list[Op], outcome: TransactOutcome, max_rounds: int) -> None:
        for attempt in range(max_rounds):
            if not batch:
                return
            try:
                self._ddb.transact_write_items(TransactItems=[item for op in batch for item in op.items])
                outcome.done.extend(op.task_id for op in batch)
                return
            except ClientError as exc:
                if not self._conflicted(exc):
                    raise
                if error_code(exc) == "TransactionCanceledException":
                    batch = self._drop_failed(batch, exc, outcome)
                if batch and attempt < max_rounds - 1:
                    self._sleep(jittered_delay(attempt, self._rand))
        logger.warning("gave up on %d task changes after %d conflicting rounds", len(batch), max_rounds)

    @staticmethod
    def _drop_failed(batch: list[Op], exc: ClientError, outcome: TransactOutcome) -> list[Op]:
        reasons = exc.response.get("CancellationReasons") or []
        codes = [str(r.get("Code", "None")) for r in reasons]
        if not codes:  # no per-item detail: fall back to one op per transaction
            if len(batch) == 1:
                outcome.lost.append(batch[0].task_id)
                return []
            return batch
        keep = []
        index = 0
        for op in batch:
            op_codes = codes[index : index + len(op.items)]
            index += len(op.items)
            if "ConditionalCheckFailed" in op_codes:
                outcome.lost.append(op.task_id)
            else:
                keep.append(op)
        return keep
