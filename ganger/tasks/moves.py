"""Moves of tasks between tables and lanes: due retries back to the queue, dead tasks redriven, owed slots
settled, a lane's tasks moved when a labourer's lanes shrink, and late reports counted. Each is one
conditional write or transaction."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from botocore.exceptions import ClientError

from ganger.errors import TransientAwsError
from ganger.lanes import queue_key
from ganger.priority import queue_position
from ganger.tasks.base import error_code
from ganger.tasks.queue import OwedSlots
from ganger.tasks.records import MAX_TRANSACTION_ITEMS, STATUS_DEAD, Task
from ganger.tasks.transactions import Op, Transactions, TransactOutcome


class TableMoves(Transactions):
    def settle_owed(self, labourer_id: str, lane: int, owed: Sequence[OwedSlots]) -> int:
        """Give owed slots back to the lane's counter: one transaction deletes the rows (each only with the count
        read) and adds their sum, so each owed slot is given back exactly once. Returns the slots given back
        (0 when a row changed meanwhile or the counter still conflicts: the next run settles them)."""
        batch = list(owed[: MAX_TRANSACTION_ITEMS - 1])
        if not batch:
            return 0
        deletes = [
            {
                "Delete": {
                    "TableName": self.tables.retry,
                    "Key": {"labourer_id": {"S": row.queue_key}, "task_id": {"S": row.marker_id}},
                    "ConditionExpression": "owed_slots = :n",
                    "ExpressionAttributeValues": {":n": {"N": str(row.count)}},
                }
            }
            for row in batch
        ]
        total = sum(row.count for row in batch)
        try:
            codes = self.transact_items([*deletes, self.slots.give(labourer_id, total, lane)])
        except TransientAwsError:
            return 0
        return total if codes is None else 0

    def move_live(self, task: Task, lane: int) -> bool:
        """Move a live task (queued or invoked) to another lane's queue key: one conditional UpdateItem, only while
        the task is as read. An invoked task keeps the slot it holds (``slot_lane`` records its old lane). Used
        to drain the lanes a labourer no longer has."""
        sets = "SET labourer_id = :new"
        values = {
            ":new": {"S": queue_key(task.labourer_id, lane)},
            ":old": {"S": task.queue_key},
            ":gf": {"N": str(task.greenfield)},
        }
        removes = ""
        if task.invocation_token is not None and task.holds_lane != lane:
            sets += ", slot_lane = :sl"
            values[":sl"] = {"N": str(task.holds_lane)}
        elif task.slot_lane is not None:
            removes = " REMOVE slot_lane"
        try:
            self._ddb.update_item(
                TableName=self.tables.tasks,
                Key={"task_id": {"S": task.task_id}},
                UpdateExpression=sets + removes,
                ConditionExpression="labourer_id = :old AND greenfield = :gf",
                ExpressionAttributeValues=values,
            )
            return True
        except ClientError as exc:
            if error_code(exc) == "ConditionalCheckFailedException":
                return False
            raise

    def move_retry(self, task: Task, lane: int) -> bool:
        """Move a task waiting to retry to another lane's key of the retry table (one transaction: delete + put)."""
        moved = replace(task, lane=lane)
        codes = self.transact_items(
            [
                {
                    "Delete": {
                        "TableName": self.tables.retry,
                        "Key": {"labourer_id": {"S": task.queue_key}, "task_id": {"S": task.task_id}},
                        "ConditionExpression": "attribute_exists(task_id)",
                    }
                },
                {
                    "Put": {
                        "TableName": self.tables.retry,
                        "Item": moved.to_item(),
                        "ConditionExpression": "attribute_not_exists(task_id)",
                    }
                },
            ]
        )
        return codes is None

    def requeue(
        self, retries: Sequence[Task], positions: Sequence[int], outcome: TransactOutcome | None = None
    ) -> TransactOutcome:
        """Due retries back to the queue at the given (front) positions: delete + put, 50 per transaction
        (``outcome``: see ``transact``)."""
        ops = []
        for task, position in zip(retries, positions, strict=True):
            greenfield = queue_position(position, task.priority)
            queued = replace(task, greenfield=greenfield, desired_launch_time=None, slot_lane=None)
            ops.append(
                Op(
                    task.task_id,
                    (
                        {
                            "Delete": {
                                "TableName": self.tables.retry,
                                "Key": {"labourer_id": {"S": task.queue_key}, "task_id": {"S": task.task_id}},
                                "ConditionExpression": "desired_launch_time = :d",
                                "ExpressionAttributeValues": {":d": {"N": str(task.desired_launch_time)}},
                            }
                        },
                        {
                            "Put": {
                                "TableName": self.tables.tasks,
                                "Item": queued.to_item(),
                                "ConditionExpression": "attribute_not_exists(task_id)",
                            }
                        },
                    ),
                )
            )
        return self.transact(ops, outcome=outcome)

    def redrive(self, dead: Sequence[Task], positions: Sequence[int]) -> TransactOutcome:
        """Dead tasks back to the queue with fresh attempts: delete from closed + put queued."""
        ops = []
        for task, position in zip(dead, positions, strict=True):
            extra = {k: v for k, v in task.extra.items() if k != "labourer_id_task_status"}
            queued = replace(
                task, greenfield=queue_position(position, task.priority), attempts=0, closed_at=None,
                invocation_token=None, invoked_at=None, failure_reason=None, slot_lane=None,
                extra={**extra, "redriven_at": task.closed_at},
            )  # fmt: skip
            ops.append(
                Op(
                    task.task_id,
                    (
                        {
                            "Delete": {
                                "TableName": self.tables.closed,
                                "Key": {"task_id": {"S": task.task_id}},
                                "ConditionExpression": "labourer_id_task_status = :s",
                                "ExpressionAttributeValues": {":s": {"S": f"{task.queue_key}_{STATUS_DEAD}"}},
                            }
                        },
                        {
                            "Put": {
                                "TableName": self.tables.tasks,
                                "Item": queued.to_item(),
                                "ConditionExpression": "attribute_not_exists(task_id)",
                            }
                        },
                    ),
                )
            )
        return self.transact(ops)

    def record_late_report(self, task_id: str, action: str, live: bool) -> bool:
        """Count a late or repeated report on the task's live row (carried into the archive) or, when it
        is already closed, on the closed row. A conditional update: it never creates a row."""
        try:
            self._ddb.update_item(
                TableName=self.tables.tasks if live else self.tables.closed,
                Key={"task_id": {"S": task_id}},
                UpdateExpression="ADD late_reports :one SET last_late_report = :a",
                ConditionExpression="attribute_exists(labourer_id)",
                ExpressionAttributeValues={":one": {"N": "1"}, ":a": {"S": action}},
            )
            return True
        except ClientError as exc:
            if error_code(exc) == "ConditionalCheckFailedException":
                return False
            raise
