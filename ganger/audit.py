"""An optional audit trail of task events (sosw's meta table idea): off by default, rows expire by TTL.

Two switches, so that a deployment without the audit stack pays nothing: the ``GANGER_AUDIT_TABLE``
environment variable names the table (set it on the essentials when ``yaml/audit.yaml`` is deployed;
without it no call is ever made), and the ``ganger_audit`` config document turns the trail on and off
live (``{"enabled": true, "ttl_days": 30}``). Writing an event never fails the caller: an audit row
is worth less than the task it describes.
"""

from __future__ import annotations

import logging
import os
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from botocore.exceptions import BotoCoreError, ClientError

from ganger.config import ConfigStore, TypedConfig
from ganger.schema import parse
from ganger.tasks import from_attr, to_attr

if TYPE_CHECKING:  # the mypy-boto3 stubs are a dev dependency
    from mypy_boto3_dynamodb import DynamoDBClient

logger = logging.getLogger(__name__)
ENV_AUDIT_TABLE = "GANGER_AUDIT_TABLE"
AUDIT_DOCUMENT = "ganger_audit"
DAY = 86400


@dataclass(frozen=True)
class AuditSettings:
    """The ``ganger_audit`` config document."""

    enabled: bool = False
    ttl_days: int = 30


@dataclass(frozen=True)
class AuditEvent:
    """One row: the task, what happened, when, and any details (all strings or numbers)."""

    task_id: str
    event: str
    at: float
    labourer_id: str = ""
    details: dict[str, Any] | None = None

    def to_item(self, ttl_days: int) -> dict[str, Any]:
        item = {
            "task_id": self.task_id,
            "event_id": f"{int(self.at * 1000):015d}#{uuid.uuid4().hex[:8]}",
            "event": self.event,
            "at": self.at,
            "labourer_id": self.labourer_id,
            "expires_at": int(self.at) + ttl_days * DAY,
            **({"details": self.details} if self.details else {}),
        }
        return {k: to_attr(v) for k, v in item.items()}

    @classmethod
    def from_item(cls, item: dict[str, Any]) -> AuditEvent:
        plain = {k: from_attr(v) for k, v in item.items()}
        return cls(plain["task_id"], plain["event"], plain["at"], plain.get("labourer_id", ""), plain.get("details"))


class AuditTrail:
    """Writes and reads audit rows; ``record`` is a no-op while the trail is disabled."""

    def __init__(
        self,
        dynamodb: DynamoDBClient,
        table: str | None,
        settings: Callable[[], AuditSettings],
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._ddb = dynamodb
        self.table = table
        self._settings = settings
        self._clock = clock

    @property
    def enabled(self) -> bool:
        return bool(self.table) and self._settings().enabled

    def record(self, task_id: str, event: str, labourer_id: str = "", **details: Any) -> bool:
        """Write one event when enabled. Returns whether a row was written; AWS errors are logged only."""
        if not self.table:
            return False
        settings = self._settings()
        if not settings.enabled:
            return False
        row = AuditEvent(task_id, event, self._clock(), labourer_id, details or None)
        try:
            self._ddb.put_item(TableName=self.table, Item=row.to_item(settings.ttl_days))
        except (ClientError, BotoCoreError) as exc:
            logger.warning("audit event %s of task %s not recorded: %s", event, task_id, exc)
            return False
        return True

    def events(self, task_id: str, limit: int = 100) -> list[AuditEvent]:
        """A task's events, oldest first (one paginated Query, at most ``limit`` rows)."""
        if not self.table:
            return []
        rows: list[AuditEvent] = []
        query: dict[str, Any] = {
            "TableName": self.table,
            "KeyConditionExpression": "task_id = :t",
            "ExpressionAttributeValues": {":t": {"S": task_id}},
        }
        while len(rows) < limit:
            page = self._ddb.query(Limit=min(100, limit - len(rows)), **query)
            rows += [AuditEvent.from_item(i) for i in page.get("Items", [])]
            if "LastEvaluatedKey" not in page:
                break
            query["ExclusiveStartKey"] = page["LastEvaluatedKey"]
        return rows


def settings_loader(store: ConfigStore) -> Callable[[], AuditSettings]:
    """The ``ganger_audit`` document through the usual TTL cache (last good value kept)."""
    config = TypedConfig(lambda: store, AUDIT_DOCUMENT, lambda d: parse(AuditSettings, d), {"enabled": False,
                         "ttl_days": 30})  # fmt: skip
    return config.get


def trail(
    dynamodb: DynamoDBClient, store: ConfigStore, table: str | None = None, clock: Callable[[], float] = time.time
) -> AuditTrail:
    """The trail as the essentials use it: the table from the argument or ``$GANGER_AUDIT_TABLE``."""
    return AuditTrail(dynamodb, table or os.environ.get(ENV_AUDIT_TABLE) or None, settings_loader(store), clock)
