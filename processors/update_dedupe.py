"""Telegram update dedupe by membership: a conditional put with a TTL (update ids repeat on redelivery
and restart at random after a quiet week, so comparing with the last id is wrong)."""

from __future__ import annotations

from typing import Any

from botocore.exceptions import ClientError


class UpdateDedupe:
    def __init__(self, dynamodb: Any, table: str, ttl_seconds: int) -> None:
        self._ddb = dynamodb
        self.table = table
        self.ttl_seconds = ttl_seconds

    def first_time(self, bot_id: str, update_id: int, now: float) -> bool:
        """True the first time an update is seen (within the TTL), False on a redelivery."""
        try:
            self._ddb.put_item(
                TableName=self.table,
                Item={
                    "update_key": {"S": f"{bot_id}:{update_id}"},
                    "received_at": {"N": str(int(now))},
                    "expires_at": {"N": str(int(now) + self.ttl_seconds)},
                },
                ConditionExpression="attribute_not_exists(update_key)",
            )
            return True
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException":
                return False
            raise
