"""The predictions table: one item per photo, written by the image worker, read by ``/results``."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from boto3.dynamodb.types import TypeDeserializer, TypeSerializer
from botocore.exceptions import ClientError

_serializer = TypeSerializer()
_deserializer = TypeDeserializer()


@dataclass(frozen=True)
class Prediction:
    """Polybot's prediction shape (labels carry a score too), plus where to deliver it."""

    prediction_id: str
    chat_id: int
    original_img_path: str
    predicted_img_path: str
    labels: list[dict[str, Any]] = field(default_factory=list)
    time: float = 0.0
    bucket: str = ""
    reply_to: int = 0  # the photo's message: the result is threaded under it
    error: str = ""  # why there is no annotated image, in words fit for the user

    def to_item(self) -> dict[str, Any]:
        plain = json.loads(json.dumps(self.__dict__), parse_float=Decimal)
        return {k: _serializer.serialize(v) for k, v in plain.items()}

    @classmethod
    def from_item(cls, item: dict[str, Any]) -> Prediction:
        plain = json.loads(json.dumps({k: _deserializer.deserialize(v) for k, v in item.items()}, default=float))
        known = {k: v for k, v in plain.items() if k in cls.__dataclass_fields__}
        known["chat_id"] = int(known.get("chat_id", 0))
        known["reply_to"] = int(known.get("reply_to", 0))
        return cls(**known)


# Predictions expire with the images they point at (the media bucket's 30-day lifecycle): the table's TTL.
DEFAULT_TTL_SECONDS = 30 * 24 * 3600


class PredictionStore:
    def __init__(self, dynamodb: Any, table: str, ttl_seconds: int = DEFAULT_TTL_SECONDS) -> None:
        self._ddb = dynamodb
        self.table = table
        self.ttl_seconds = ttl_seconds

    def put(self, prediction: Prediction) -> None:
        item = {**prediction.to_item(), "expires_at": {"N": str(int(prediction.time) + self.ttl_seconds)}}
        self._ddb.put_item(TableName=self.table, Item=item)

    def get(self, prediction_id: str) -> Prediction | None:
        item = self._ddb.get_item(
            TableName=self.table, Key={"prediction_id": {"S": prediction_id}}, ConsistentRead=True
        ).get("Item")
        return Prediction.from_item(item) if item else None

    def claim_delivery(self, prediction_id: str, now: float) -> bool:
        """True once per prediction: a repeated ``/results`` call sends nothing twice."""
        try:
            self._ddb.update_item(
                TableName=self.table,
                Key={"prediction_id": {"S": prediction_id}},
                UpdateExpression="SET delivered_at = :t",
                ConditionExpression="attribute_exists(prediction_id) AND attribute_not_exists(delivered_at)",
                ExpressionAttributeValues={":t": {"N": str(int(now))}},
            )
            return True
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException":
                return False
            raise

    def release_delivery(self, prediction_id: str) -> None:
        """Undo ``claim_delivery`` after a failed send, so the next call can deliver."""
        self._ddb.update_item(
            TableName=self.table, Key={"prediction_id": {"S": prediction_id}}, UpdateExpression="REMOVE delivered_at"
        )
