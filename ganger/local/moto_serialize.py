"""Make moto's DynamoDB responses cost O(bytes returned), not O(bytes x the AttributeValue shape's members).

moto serialises every response by walking botocore's output shape: for each AttributeValue of each
item it looks up all ten members (S, N, B, SS, ...) under every alias its value picker knows, so a
Query of a page of tasks spends most of its time there (a third of the emulator's time at 10,000
tasks). An AttributeValue that moto's own DynamoDB code produced is already in its wire form (the
models hand over ``{"S": "..."}``, ``{"M": {...}}``), and the JSON protocol writes it unchanged:
this patch copies such values directly and hands everything else (binary values, anything it does
not recognise) to moto's original code. It changes the emulator's speed, not what any API call
returns (``tests/functional/local/test_moto_serialize.py`` compares it response by response with
moto's own serialisation), and it counts no calls: it lives below botocore, as ``moto_speed`` does.
"""

from __future__ import annotations

import contextlib
import functools
from collections.abc import Callable, Iterator
from typing import Any

from moto.core.serialize import BaseJSONSerializer

_ATTRIBUTE_VALUE = "AttributeValue"
_SERVICE = "dynamodb"


class _NotPlain(Exception):
    """The value needs moto's own serialisation (a binary value, or a shape this module does not know)."""


def wire_form(value: Any) -> dict[str, Any]:
    """A copy of one AttributeValue as the JSON protocol writes it, or ``_NotPlain``.

    Mirrors moto's JSON serialiser for the AttributeValue shape: a member set to None is left out,
    strings, numbers and booleans are written as they are, M and L recurse.
    """
    if type(value) is not dict:
        raise _NotPlain
    out: dict[str, Any] = {}
    for member, inner in value.items():
        if inner is None:
            continue
        if member in ("S", "N"):
            if type(inner) is not str:
                raise _NotPlain
            out[member] = inner
        elif member in ("BOOL", "NULL"):
            if type(inner) is not bool:
                raise _NotPlain
            out[member] = inner
        elif member in ("SS", "NS"):
            if type(inner) is not list or any(type(s) is not str for s in inner):
                raise _NotPlain
            out[member] = list(inner)
        elif member == "M":
            if type(inner) is not dict:
                raise _NotPlain
            out[member] = {k: wire_form(v) for k, v in inner.items()}
        elif member == "L":
            if type(inner) is not list:
                raise _NotPlain
            out[member] = [wire_form(v) for v in inner]
        else:  # B, BS (base64-encoded by moto) or a member this module does not know
            raise _NotPlain
    return out


def _direct_attribute_values(original: Callable[..., None]) -> Callable[..., None]:
    @functools.wraps(original)
    def serialize_structure(self: Any, serialized: Any, value: Any, shape: Any, key: str) -> None:
        if key and shape.name == _ATTRIBUTE_VALUE and self.operation_model.service_model.service_name == _SERVICE:
            try:
                plain = wire_form(value)
            except _NotPlain:
                pass
            else:
                serialized[shape.serialization.get("name", key)] = plain
                return
        original(self, serialized, value, shape, key)

    return serialize_structure


@contextlib.contextmanager
def fast_responses() -> Iterator[None]:
    """While the block runs, moto writes DynamoDB's AttributeValues without walking their shape."""
    original = BaseJSONSerializer._serialize_type_structure
    BaseJSONSerializer._serialize_type_structure = _direct_attribute_values(original)  # type: ignore[method-assign]
    try:
        yield
    finally:
        BaseJSONSerializer._serialize_type_structure = original  # type: ignore[method-assign]
