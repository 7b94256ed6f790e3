"""Parse each DynamoDB expression once, not once per moto layer that looks at it.

moto parses a transaction's every ``ConditionExpression`` three times (the request handler checks it,
the backend and the table evaluate it) and every ``UpdateExpression`` twice; parsing is a fifth of
the emulator's time at 10,000 tasks. This patch remembers the parsers' results:

- a condition by its text, names and values (so it is reused within one request: values such as
  tokens and timestamps differ from one request to the next), with the names and values the parser
  reports having found;
- an update expression by its text alone (moto's parser reads nothing else; the tree is only read,
  and moto's validator deep-copies it before substituting values).

moto's parse trees are built in their constructors and never changed afterwards, so a remembered
tree evaluates as a fresh one would; errors are not remembered (moto raises them again). It changes
the emulator's speed, not what any API call returns, and it counts no calls.
"""

from __future__ import annotations

import contextlib
import functools
import json
import threading
from collections import OrderedDict
from collections.abc import Iterator
from typing import Any

from moto.dynamodb.comparisons import ConditionExpressionParser
from moto.dynamodb.parsing.expressions import UpdateExpressionParser  # type: ignore[attr-defined]

_CONDITIONS = 256  # recent conditions kept (a transaction has at most 100 items)
_UPDATES = 1024  # distinct update expressions kept (an application has a handful)


class _Recent:
    """A small least-recently-used map, safe to share between the server's threads."""

    def __init__(self, size: int) -> None:
        self._size = size
        self._items: OrderedDict[Any, Any] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: Any) -> Any:
        with self._lock:
            found = self._items.get(key)
            if found is not None:
                self._items.move_to_end(key)
            return found

    def put(self, key: Any, value: Any) -> None:
        with self._lock:
            self._items[key] = value
            self._items.move_to_end(key)
            while len(self._items) > self._size:
                self._items.popitem(last=False)


def _condition_key(parser: Any) -> tuple[Any, ...] | None:
    try:
        return (
            parser.condition_expression,
            json.dumps(parser.expression_attribute_names, sort_keys=True),
            json.dumps(parser.expression_attribute_values, sort_keys=True),
        )
    except (TypeError, ValueError):  # a value JSON cannot hold (bytes): parse it as moto does
        return None


@contextlib.contextmanager
def parse_once() -> Iterator[None]:
    """While the block runs, moto reuses the trees of the expressions it has just parsed."""
    parse_condition = ConditionExpressionParser.parse
    make_update = UpdateExpressionParser.__dict__["make"]
    conditions = _Recent(_CONDITIONS)

    @functools.wraps(parse_condition)
    def parse(self: Any) -> Any:
        key = _condition_key(self)
        found = conditions.get(key) if key is not None else None
        if found is None:
            tree = parse_condition(self)
            found = (tree, list(self.expr_attr_names_found), list(self.expr_attr_values_found))
            if key is not None:
                conditions.put(key, found)
        tree, names, values = found
        self.expr_attr_names_found = list(names)
        self.expr_attr_values_found = list(values)
        return tree

    @functools.lru_cache(maxsize=_UPDATES)
    def make(expression: str) -> Any:
        return make_update.__func__(UpdateExpressionParser, expression)

    def make_class(cls: Any, expression: Any) -> Any:
        if cls is not UpdateExpressionParser or not isinstance(expression, str):
            return make_update.__func__(cls, expression)
        return make(expression)

    ConditionExpressionParser.parse = parse  # type: ignore[method-assign]
    UpdateExpressionParser.make = classmethod(make_class)
    try:
        yield
    finally:
        ConditionExpressionParser.parse = parse_condition  # type: ignore[method-assign]
        UpdateExpressionParser.make = make_update
