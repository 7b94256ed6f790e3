"""Typed records from untrusted JSON: dataclasses built and validated in one place.

Config documents and events enter as dicts; ``parse`` turns them into frozen dataclasses or raises
``SchemaError`` with the dotted path of the first bad field and what was expected.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from collections.abc import Mapping
from typing import Any, Literal, TypeVar, Union, get_args, get_origin, get_type_hints

T = TypeVar("T")


class SchemaError(ValueError):
    """A value does not match the record's schema. ``path`` is dotted, e.g. ``labourers.a.duration``."""

    def __init__(self, path: str, problem: str) -> None:
        self.path = path
        self.problem = problem
        super().__init__(f"{path or '<root>'}: {problem}")


def parse(cls: type[T], data: Any, path: str = "") -> T:
    """Build ``cls`` (a dataclass) from ``data``, validating every field."""
    return typing.cast(T, _convert(cls, data, path))


def to_dict(record: Any) -> Any:
    """A plain JSON-ready dict of a record (the inverse of ``parse``)."""
    if dataclasses.is_dataclass(record) and not isinstance(record, type):
        return {f.name: to_dict(getattr(record, f.name)) for f in dataclasses.fields(record)}
    if isinstance(record, Mapping):
        return {k: to_dict(v) for k, v in record.items()}
    if isinstance(record, (list, tuple)):
        return [to_dict(v) for v in record]
    return record


def merge(base: Mapping[str, Any], override: Mapping[str, Any]) -> dict[str, Any]:
    """Recursive merge: mappings merge key by key, anything else in ``override`` wins."""
    merged = dict(base)
    for key, value in override.items():
        if isinstance(value, Mapping) and isinstance(merged.get(key), Mapping):
            merged[key] = merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def _type_name(tp: Any) -> str:
    if get_origin(tp) is Literal:
        return " | ".join(repr(a) for a in get_args(tp))
    return getattr(tp, "__name__", None) or str(tp).replace("typing.", "")


def _convert(tp: Any, value: Any, path: str) -> Any:
    origin = get_origin(tp)
    if tp is Any:
        return value
    if origin in (Union, types.UnionType):
        return _convert_union(tp, value, path)
    if origin is Literal:
        if value not in get_args(tp):
            raise SchemaError(path, f"expected one of {_type_name(tp)}, got {value!r}")
        return value
    if dataclasses.is_dataclass(tp):
        return _convert_dataclass(tp, value, path)
    if origin in (list, tuple):
        if not isinstance(value, list):
            raise SchemaError(path, f"expected a list, got {type(value).__name__}")
        (item_tp, *_) = get_args(tp) or (Any,)
        items = [_convert(item_tp, v, f"{path}[{i}]") for i, v in enumerate(value)]
        return tuple(items) if origin is tuple else items
    if origin in (dict, Mapping) or tp is dict:
        return _convert_dict(tp, value, path)
    return _convert_scalar(tp, value, path)


def _convert_union(tp: Any, value: Any, path: str) -> Any:
    options = get_args(tp)
    if value is None and type(None) in options:
        return None
    others = [option for option in options if option is not type(None)]
    if len(others) == 1:  # an optional field: its own error, with the path inside it
        return _convert(others[0], value, path)
    errors = []
    for option in options:
        if option is type(None):
            continue
        try:
            return _convert(option, value, path)
        except SchemaError as exc:
            errors.append(exc.problem)
    raise SchemaError(path, " or ".join(errors))


def _convert_dict(tp: Any, value: Any, path: str) -> dict[str, Any]:
    if not isinstance(value, Mapping):
        raise SchemaError(path, f"expected an object, got {type(value).__name__}")
    key_tp, val_tp = get_args(tp) or (str, Any)
    out = {}
    for key, item in value.items():
        if not isinstance(key, str):
            raise SchemaError(path, f"expected string keys, got {key!r}")
        out[_convert(key_tp, key, f"{path}.{key}")] = _convert(val_tp, item, f"{path}.{key}" if path else key)
    return out


def _convert_scalar(tp: Any, value: Any, path: str) -> Any:
    if tp is float and isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    if tp is int and isinstance(value, float) and value.is_integer():
        return int(value)
    if tp in (int, float) and isinstance(value, bool):
        raise SchemaError(path, f"expected {_type_name(tp)}, got a boolean")
    if isinstance(tp, type) and isinstance(value, tp):
        return value
    raise SchemaError(path, f"expected {_type_name(tp)}, got {type(value).__name__} {_preview(value)}")


def _convert_dataclass(tp: Any, value: Any, path: str) -> Any:
    if isinstance(value, tp):
        return value
    if not isinstance(value, Mapping):
        raise SchemaError(path, f"expected an object, got {type(value).__name__}")
    hints = get_type_hints(tp)
    fields = {f.name: f for f in dataclasses.fields(tp) if f.init}
    unknown = sorted(set(value) - set(fields))
    if unknown:
        where = f"{path}.{unknown[0]}" if path else unknown[0]
        raise SchemaError(where, f"unknown field; expected one of: {', '.join(sorted(fields))}")
    kwargs = {}
    for name, field in fields.items():
        where = f"{path}.{name}" if path else name
        if name in value:
            kwargs[name] = _convert(hints[name], value[name], where)
        elif field.default is dataclasses.MISSING and field.default_factory is dataclasses.MISSING:
            raise SchemaError(where, "required field is missing")
    try:
        return tp(**kwargs)
    except ValueError as exc:  # __post_init__ checks
        raise SchemaError(path, str(exc)) from exc


def _preview(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."
