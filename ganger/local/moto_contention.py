"""The embedded DynamoDB with AWS's contention (``ganger.local.contention``) applied to every request.

moto's DynamoDB handler is wrapped: before a request runs, the model is asked whether AWS would run
it at this moment (a transaction may be cancelled, a write rejected or throttled); a rejection comes
back as AWS's own error shape (so botocore and ganger see the real codes, and botocore's own retry
handler retries what it would retry on AWS); after a write ran, its before and after images (read from
moto's backend, not through the API) charge its write units to the partition keys it went to. Every
request then takes the model's time: ``elapse(seconds)`` moves the caller's simulated clock (or does
nothing on the wall clock, where holds are measured in real time).

It lives below botocore, so the API calls a benchmark counts are ganger's own, retries included.
"""

from __future__ import annotations

import contextlib
import json
import threading
from collections.abc import Callable, Iterator
from typing import Any

from moto.core.utils import camelcase_to_underscores
from moto.dynamodb.exceptions import DynamodbException, TransactionCanceledException
from moto.dynamodb.responses import DynamoHandler
from moto.utilities.aws_headers import gen_amz_crc32

from ganger.local.contention import READS, ContentionModel, IndexSchema, Item, Rejection, TableSchema, Write

_ERROR_PREFIX = "com.amazonaws.dynamodb.v20120810#"


def schema_of(table: Any) -> TableSchema:
    """A moto table's keys and indexes."""

    def keys(schema: list[dict[str, str]]) -> tuple[str, str | None]:
        hash_attr = next(k["AttributeName"] for k in schema if k["KeyType"] == "HASH")
        range_attr = next((k["AttributeName"] for k in schema if k["KeyType"] == "RANGE"), None)
        return hash_attr, range_attr

    indexes = [IndexSchema(i.name, *keys(i.schema)) for i in table.global_indexes]
    indexes += [IndexSchema(i.name, *keys(i.schema), local=True) for i in table.indexes]
    return TableSchema(table.name, table.hash_key_attr, table.range_key_attr, tuple(indexes))


def _image(backend: Any, write: Write) -> Item | None:
    if write.table not in backend.tables or not write.key:
        return None
    try:
        found = backend.get_item(write.table, write.key)
    except Exception:  # a malformed key: moto's own handler answers with the right error
        return None
    return dict(found.to_json()["Attributes"]) if found else None


def _raising(rejection: Rejection) -> Callable[[], Any]:
    def action() -> Any:
        if rejection.code == "TransactionCanceledException":
            raise TransactionCanceledException([(None if r == "None" else r, r, None) for r in rejection.reasons])
        raise DynamodbException(_ERROR_PREFIX + rejection.code, rejection.message)

    return action


@contextlib.contextmanager
def contending(
    model: ContentionModel, clock: Callable[[], float], elapse: Callable[[float], None] = lambda seconds: None
) -> Iterator[ContentionModel]:
    """While the block runs, every DynamoDB request to in-process moto (or to the moto server in this
    process) goes through ``model`` at ``clock()`` and then takes its time through ``elapse``."""
    original = DynamoHandler.call_action
    lock = threading.Lock()  # the moto server answers on several threads; the model's state is shared

    def call_action(self: Any) -> Any:
        with lock:
            response = _contended(self)
        elapse(model.params.seconds(self._get_action()))  # outside the lock: another request may run meanwhile
        return response

    def _contended(self: Any) -> Any:
        operation = self._get_action()
        body = getattr(self, "params", None) or {}
        backend = self.dynamodb_backend
        for name in backend.tables:
            if name not in model.schemas:
                model.schemas[name] = schema_of(backend.tables[name])
        now = clock()
        writes = [] if operation in READS else model.resolved(operation, body)
        before = {w.ident: _image(backend, w) for w in writes}
        rejection = model.admit(operation, body, now, before)
        if rejection is not None and not rejection.unprocessed:
            action = camelcase_to_underscores(operation)
            setattr(self, action, _raising(rejection))
            try:
                return original(self)
            finally:
                delattr(self, action)
        if rejection is not None:
            return _partial_batch(self, original, model, writes, rejection, now, before, backend)
        response = original(self)
        if writes and int(response[0]) == 200:
            model.settle(operation, writes, now, before, {w.ident: _image(backend, w) for w in writes})
        return response

    DynamoHandler.call_action = call_action  # type: ignore[method-assign]
    try:
        yield model
    finally:
        DynamoHandler.call_action = original  # type: ignore[method-assign]


def _partial_batch(
    handler: Any, original: Callable[[Any], Any], model: ContentionModel, writes: list[Write],
    rejection: Rejection, now: float, before: dict[str, Item | None], backend: Any,
) -> Any:  # fmt: skip
    """A BatchWriteItem some of whose items were rejected: the rest run, those come back unprocessed."""
    left = set(rejection.unprocessed)
    requests = handler.params["RequestItems"]
    kept: dict[str, list[Any]] = {}
    unprocessed: dict[str, list[Any]] = {}
    position = 0
    for table, items in requests.items():
        for request in items:
            (unprocessed if position in left else kept).setdefault(table, []).append(request)
            position += 1
    handler.params["RequestItems"] = kept
    handler.body = handler.params
    status, headers, body = original(handler)
    ran = [w for i, w in enumerate(writes) if i not in left]
    if int(status) == 200:
        model.settle("BatchWriteItem", ran, now, before, {w.ident: _image(backend, w) for w in ran})
        answer = json.loads(body)
        answer["UnprocessedItems"] = unprocessed
        body = json.dumps(answer)
        headers = {k: v for k, v in headers.items() if k.lower() != "x-amz-crc32"}
        gen_amz_crc32(body, headers)
    return status, headers, body
