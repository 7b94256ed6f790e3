"""What the essentials really did, seen from outside the fault layer: the table moves their stats must equal."""

from __future__ import annotations

import contextlib
import json
from collections import Counter, defaultdict
from collections.abc import Iterator
from typing import Any

import botocore.client
from botocore.exceptions import ReadTimeoutError


class TableMoves:
    """What the essentials really did, seen from outside the fault layer (the responses they received).

    Every successful write is classified by the table it changed and by the essential that was running:
    a Put into the closed table (completed or dead), into the retry table, or back into the tasks table
    (requeued); an Invoke of a labourer that was answered (a task started). ``STAT_MOVES`` maps the stats
    to these. Invokes run on a dispatch pool's threads are the running essential's."""

    def __init__(self, labourers: set[str]) -> None:
        from ganger.tasks import TableNames

        self.tables = TableNames()
        self.labourers = labourers
        self.roles: list[str] = []
        self.moves: Counter[tuple[str, str]] = Counter()
        self.invoke_timeouts: set[tuple[str, int]] = set()  # (task, attempt) whose dispatch timed out
        self.invoke_failures: set[tuple[str, int]] = set()  # (task, attempt) whose dispatch surely failed
        self.claims: defaultdict[str, list[str]] = defaultdict(list)  # task -> the essentials that claimed it

    @contextlib.contextmanager
    def running(self, role: str) -> Iterator[None]:
        self.roles.append(role)
        try:
            yield
        finally:
            self.roles.pop()

    @contextlib.contextmanager
    def installed(self) -> Iterator[TableMoves]:
        original = botocore.client.BaseClient._make_api_call
        moves = self

        def _make_api_call(client: Any, operation_name: str, api_params: dict[str, Any]) -> Any:
            try:
                result = original(client, operation_name, api_params)
            except ReadTimeoutError:
                moves.timed_out(operation_name, api_params)
                raise
            except Exception:
                moves.failed(operation_name, api_params)
                raise
            moves.note(operation_name, api_params)
            return result

        botocore.client.BaseClient._make_api_call = _make_api_call  # type: ignore[method-assign]
        try:
            yield self
        finally:
            botocore.client.BaseClient._make_api_call = original  # type: ignore[method-assign]

    def _count(self, move: str, n: int = 1) -> None:
        if self.roles:
            self.moves[(self.roles[-1], move)] += n

    def timed_out(self, operation: str, params: dict[str, Any]) -> None:
        if operation == "Invoke" and params.get("FunctionName") in self.labourers:
            self.invoke_timeouts.add(self._attempt(params))

    def failed(self, operation: str, params: dict[str, Any]) -> None:
        if operation == "Invoke" and params.get("FunctionName") in self.labourers:
            self.invoke_failures.add(self._attempt(params))

    @staticmethod
    def _attempt(params: dict[str, Any]) -> tuple[str, int]:
        event = json.loads(params.get("Payload") or b"{}")
        return str(event.get("task_id")), int(event.get("attempts", 0))

    def note(self, operation: str, params: dict[str, Any]) -> None:
        if operation == "Invoke":
            if params.get("FunctionName") in self.labourers:
                self._count("invoked")
            return
        if operation == "TransactWriteItems":
            for item in params.get("TransactItems", []):
                if "Put" in item:
                    self._put(item["Put"]["TableName"], item["Put"]["Item"])
                elif "Update" in item:
                    self._update(item["Update"])
        elif operation == "PutItem":
            self._put(params["TableName"], params["Item"])
        elif operation == "UpdateItem":
            self._update(params)

    def _update(self, update: dict[str, Any]) -> None:
        """A claim adds an attempt (``ADD attempts :one``); a release takes it back."""
        if update.get("TableName") != self.tables.tasks or "attempts" not in update.get("UpdateExpression", ""):
            return
        task_id = update.get("Key", {}).get("task_id", {}).get("S", "")
        values = update.get("ExpressionAttributeValues", {})
        if any(v.get("N") == "-1" for v in values.values() if isinstance(v, dict)):
            if self.claims[task_id]:
                self.claims[task_id].pop()
        elif self.roles:
            self.claims[task_id].append(self.roles[-1])

    def _put(self, table: str, item: dict[str, Any]) -> None:
        if table == self.tables.closed:
            status = item.get("labourer_id_task_status", {}).get("S", "")
            self._count("closed_completed" if status.endswith("_1") else "closed_dead")
        elif table == self.tables.retry:
            self._count("to_retry")
        elif table == self.tables.tasks and item.get("task_id", {}).get("S", "").startswith("chaos-"):
            self._count("requeued")
        elif table == self.tables.tasks and item.get("state", {}).get("S") == "abandoned":
            self._count("given_back")  # a start mark written by whoever gave the attempt back
