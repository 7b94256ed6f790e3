"""Telegram update dedupe by membership, with a lease, so a redelivery is handled unless the first
delivery finished.

Update ids repeat on redelivery and restart at random after a quiet week, so comparing with the
last id is wrong: each update gets a row (conditional put, TTL). The row says ``handling`` with a
lease until the handler finishes, then ``done``. A redelivery of a ``done`` update is a duplicate;
of one whose handler raised (its row was released) or whose Lambda timed out (its lease expired)
it is handled again; while another delivery holds the lease it is ``BUSY`` (answer 5xx: Telegram
redelivers later). Rows written before the lease existed have no state and count as done.
"""

from __future__ import annotations

import enum
from typing import Any

from botocore.exceptions import ClientError

HANDLING = "handling"
DONE = "done"


class Claim(enum.Enum):
    FIRST = "first"  # nobody handled it before: handle it
    RETRY = "retry"  # an earlier delivery did not finish: handle it
    DUPLICATE = "duplicate"  # handled already
    BUSY = "busy"  # another delivery is handling it right now


class UpdateDedupe:
    def __init__(self, dynamodb: Any, table: str, ttl_seconds: int, lease_seconds: int = 60) -> None:
        self._ddb = dynamodb
        self.table = table
        self.ttl_seconds = ttl_seconds
        self.lease_seconds = lease_seconds

    @staticmethod
    def key(bot_id: str, update_id: int) -> dict[str, Any]:
        return {"update_key": {"S": f"{bot_id}:{update_id}"}}

    def claim(self, bot_id: str, update_id: int, now: float) -> Claim:
        """Take the update for handling (``FIRST``/``RETRY``), or say why not."""
        key = self.key(bot_id, update_id)
        try:
            old = self._ddb.put_item(
                TableName=self.table,
                Item={
                    **key,
                    "state": {"S": HANDLING},
                    "received_at": {"N": str(int(now))},
                    "lease_until": {"N": str(int(now) + self.lease_seconds)},
                    "expires_at": {"N": str(int(now) + self.ttl_seconds)},
                },
                ConditionExpression="attribute_not_exists(update_key) OR #state = :released"
                " OR (#state = :handling AND lease_until < :now)",
                ExpressionAttributeNames={"#state": "state"},
                ExpressionAttributeValues={
                    ":handling": {"S": HANDLING},
                    ":released": {"S": "released"},
                    ":now": {"N": str(int(now))},
                },
                ReturnValues="ALL_OLD",
            )
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") != "ConditionalCheckFailedException":
                raise
            existing = self._ddb.get_item(TableName=self.table, Key=key, ConsistentRead=True).get("Item", {})
            return Claim.BUSY if existing.get("state", {}).get("S") == HANDLING else Claim.DUPLICATE
        return Claim.RETRY if old.get("Attributes") else Claim.FIRST

    def finish(self, bot_id: str, update_id: int) -> None:
        """The update was handled: later deliveries are duplicates."""
        self._set_state(bot_id, update_id, DONE)

    def release(self, bot_id: str, update_id: int) -> None:
        """The handler failed before it answered: the next delivery handles the update again."""
        self._set_state(bot_id, update_id, "released")

    def _set_state(self, bot_id: str, update_id: int, state: str) -> None:
        self._ddb.update_item(
            TableName=self.table,
            Key=self.key(bot_id, update_id),
            UpdateExpression="SET #state = :state REMOVE lease_until",
            ExpressionAttributeNames={"#state": "state"},
            ExpressionAttributeValues={":state": {"S": state}},
        )
