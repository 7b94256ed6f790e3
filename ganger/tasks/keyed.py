"""Queue positions that give a labourer's concurrency keys fair turns (``ganger.keys``): start-time fair queuing
in the greenfield order itself, so that every read, claim and hand-off takes the keys in turn unchanged."""

from __future__ import annotations

from collections.abc import Sequence

from botocore.exceptions import ClientError

from ganger.keys import BOOK_ATTEMPTS, KeyBook, batch_get, fair_positions
from ganger.lanes import queue_key
from ganger.tasks.base import StoreBase, error_code, logger
from ganger.tasks.records import GREENFIELD_INDEX, MARKER_PREFIX, QUEUE_BASE


class KeyedQueue(StoreBase):
    @property
    def key_book(self) -> KeyBook:
        return KeyBook(self._ddb, self.tables.tasks, self._sleep, self._rand)

    def _queue_item_id(self, labourer_id: str) -> str:
        return f"{MARKER_PREFIX}queue#{labourer_id}"

    def virtual_time(self, labourer_id: str, now: float, tail: int) -> int:
        """The labourer's virtual time: the position at the head of its queue (lane 0's: one Query with Limit 1;
        the lanes' queues advance together), or one past the highest position given when it is empty. Front
        positions (releases, retries, below ``QUEUE_BASE``) are not counted: they go first anyway."""
        page = self._ddb.query(
            TableName=self.tables.tasks,
            IndexName=GREENFIELD_INDEX,
            KeyConditionExpression="labourer_id = :l AND greenfield BETWEEN :base AND :now",
            ExpressionAttributeValues={
                ":l": {"S": queue_key(labourer_id, 0)},
                ":base": {"N": str(QUEUE_BASE)},
                ":now": {"N": str(int(now) - 1)},
            },
            Limit=1,
        )
        items = page.get("Items", [])
        if items:
            return int(items[0]["greenfield"]["N"])
        return QUEUE_BASE + tail + 1

    def fair_positions(self, labourer_id: str, keys: Sequence[str], now: float) -> list[int]:
        """Queue positions for new tasks of these keys (in order) that take turns with the keys already queued:
        one BatchGetItem (the keys' last positions and the labourer's queue counter), one Query (the head), one
        conditional UpdateItem per key and one of the queue counter (its highest position), whatever the count."""
        if not keys:
            return []
        book = self.key_book
        distinct = list(dict.fromkeys(keys))
        counter = batch_get(self._ddb, self.tables.tasks, [self._queue_item_id(labourer_id)], self._sleep, self._rand)
        tail = int(next(iter(counter.values()), {}).get("tail", {"N": "0"})["N"])
        head = self.virtual_time(labourer_id, now, tail)
        lasts = book.lasts(labourer_id, distinct)
        positions: list[int] = [0] * len(keys)
        pending = distinct
        for _ in range(BOOK_ATTEMPTS):
            indices = [i for i, key in enumerate(keys) if key in set(pending)]
            found, new_lasts = fair_positions([keys[i] for i in indices], head, lasts)
            for i, position in zip(indices, found, strict=True):
                positions[i] = position
            lost = [key for key in pending if not book.record(labourer_id, key, new_lasts[key], lasts.get(key))]
            if not lost:
                break
            lasts.update(book.lasts(labourer_id, lost))  # a concurrent step of the same key: after its positions
            pending = lost
        else:
            logger.warning("labourer %s: keys %s kept changing; their tasks may tie", labourer_id, pending[:3])
        self._record_tail(labourer_id, max(positions) - QUEUE_BASE)
        return positions

    def _record_tail(self, labourer_id: str, tail: int) -> None:
        """The highest position given (as an offset from ``QUEUE_BASE``), so that an emptied queue's virtual time
        never goes back; ``reserve_positions`` continues after it should the key be dropped."""
        try:
            self._ddb.update_item(
                TableName=self.tables.tasks,
                Key={"task_id": {"S": self._queue_item_id(labourer_id)}},
                UpdateExpression="SET tail = :t",
                ConditionExpression="attribute_not_exists(tail) OR tail < :t",
                ExpressionAttributeValues={":t": {"N": str(tail)}},
            )
        except ClientError as exc:
            if error_code(exc) != "ConditionalCheckFailedException":
                raise
