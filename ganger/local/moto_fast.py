"""Every speed patch of the embedded DynamoDB at once: moto's answers, not moto's cost.

``moto_speed`` (a transaction copies only its items), ``moto_index`` (a Query reads only its page),
``moto_serialize`` (a response is written without walking the AttributeValue shape) and
``moto_parse`` (an expression is parsed once per request, not once per layer) and ``moto_actions`` (a
handler class's actions are listed once, not on every request). Each is checked
against unpatched moto in ``tests/functional/local/`` (``test_moto_fast.py`` replays one random
workload through both and compares every answer).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from ganger.local.moto_actions import action_names_once
from ganger.local.moto_index import fast_queries
from ganger.local.moto_parse import parse_once
from ganger.local.moto_serialize import fast_responses
from ganger.local.moto_speed import fast_transactions


@contextlib.contextmanager
def fast_moto() -> Iterator[None]:
    """While the block runs, moto's DynamoDB answers as it would, only faster."""
    with fast_transactions(), fast_queries(), fast_responses(), parse_once(), action_names_once():
        yield
