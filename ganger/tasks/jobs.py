"""The Scheduler's job markers: a job's redelivery creates nothing, a crashed run resumes, a sibling's
continuation runs once."""

from __future__ import annotations

from typing import Any

from botocore.exceptions import ClientError

from ganger.tasks.base import StoreBase, error_code
from ganger.tasks.records import MARKER_PREFIX, from_attr


class JobMarkers(StoreBase):
    def start_job(
        self, job_id: str, labourer_id: str, total: int, now: float, lease_seconds: int
    ) -> dict[str, Any] | None:
        """Create the job's marker; returns None if it is new, else the existing marker (a redelivery)."""
        key = {"task_id": {"S": f"{MARKER_PREFIX}job#{job_id}"}}
        try:
            self._ddb.put_item(
                TableName=self.tables.tasks,
                Item={
                    **key,
                    "job_labourer": {"S": labourer_id},
                    "total": {"N": str(total)},
                    "cursor": {"N": "0"},
                    "job_status": {"S": "scheduling"},
                    "created_at": {"N": str(int(now))},
                    "lease_until": {"N": str(int(now) + lease_seconds)},
                    "expires_at": {"N": str(int(now) + 7 * 86400)},
                },
                ConditionExpression="attribute_not_exists(task_id)",
            )
            return None
        except ClientError as exc:
            if error_code(exc) != "ConditionalCheckFailedException":
                raise
        item = self._ddb.get_item(TableName=self.tables.tasks, Key=key, ConsistentRead=True).get("Item", {})
        return {k: from_attr(v) for k, v in item.items()}

    def update_job(self, job_id: str, cursor: int, status: str, now: float, lease_seconds: int) -> None:
        """Record how far scheduling got (one UpdateItem)."""
        self._ddb.update_item(
            TableName=self.tables.tasks,
            Key={"task_id": {"S": f"{MARKER_PREFIX}job#{job_id}"}},
            UpdateExpression="SET #c = :c, job_status = :s, lease_until = :l",
            ExpressionAttributeNames={"#c": "cursor"},
            ExpressionAttributeValues={
                ":c": {"N": str(cursor)},
                ":s": {"S": status},
                ":l": {"N": str(int(now) + lease_seconds)},
            },
        )

    def release_job(self, job_id: str) -> None:
        """End a failed run's lease, so the next delivery of the job resumes from its cursor at once."""
        self._ddb.update_item(
            TableName=self.tables.tasks,
            Key={"task_id": {"S": f"{MARKER_PREFIX}job#{job_id}"}},
            UpdateExpression="SET lease_until = :zero",
            ConditionExpression="job_status = :s",
            ExpressionAttributeValues={":zero": {"N": "0"}, ":s": {"S": "scheduling"}},
        )

    def take_handoff(self, job_id: str, cursor: int) -> bool:
        """A sibling's continuation at ``cursor`` runs once, even if its invocation is delivered twice."""
        try:
            self._ddb.update_item(
                TableName=self.tables.tasks,
                Key={"task_id": {"S": f"{MARKER_PREFIX}job#{job_id}"}},
                UpdateExpression="SET handoff_taken = :c",
                ConditionExpression="#c = :c AND (attribute_not_exists(handoff_taken) OR handoff_taken < :c)",
                ExpressionAttributeNames={"#c": "cursor"},
                ExpressionAttributeValues={":c": {"N": str(cursor)}},
            )
            return True
        except ClientError as exc:
            if error_code(exc) == "ConditionalCheckFailedException":
                return False
            raise
