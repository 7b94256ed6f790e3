"""Config edits from the console's forms: checked by the same schemas as ``ganger config`` (``ganger.documents``),
the error put next to the field it names, a diff shown before saving, the save conditional on the version read."""

from __future__ import annotations

import copy
import difflib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ganger.documents import validate
from ganger.errors import ConfigError
from ganger.labourer import LABOURERS_DOCUMENT

# A labourer's limits the labourer page edits (the rest of its entry is kept as it is).
LIMIT_FIELDS = {
    "max_simultaneous_invocations": "cap (max simultaneous invocations)",
    "max_attempts": "max attempts",
    "duration": "duration (s)",
    "cooldown": "cooldown (s)",
    "concurrency_key": "concurrency key (a payload field; empty: none)",
    "max_per_key": "max per key (empty: no cap per key)",
    "rate.per_second": "rate: starts a second (empty: no rate limit)",
    "rate.burst": "rate: burst",
}
OPTIONAL_FIELDS = ("concurrency_key", "max_per_key", "rate.per_second", "rate.burst")  # empty: left out of the entry


def limit_value(entry: Mapping[str, Any], default: Any, name: str) -> Any:
    """A limit as the entry has it (``rate.burst``: the nested field), else ``default``; None shows as empty."""
    head, _, rest = name.partition(".")
    value = entry.get(head, default if not rest else None)
    if rest:
        value = value.get(rest) if isinstance(value, Mapping) else None
        if value is None and isinstance(default, Mapping):
            value = default.get(rest)
    return "" if value is None else value


def _set_limit(entry: dict[str, Any], name: str, text: str) -> None:
    head, _, rest = name.partition(".")
    target, key = (entry.setdefault(head, {}), rest) if rest else (entry, head)
    if not isinstance(target, dict):  # a rate that is not an object: the schema names it
        return
    if text == "" and name in OPTIONAL_FIELDS:
        target.pop(key, None)
    else:
        target[key] = text if name == "concurrency_key" else _number(text)
    if rest and not target:
        entry.pop(head)


@dataclass(frozen=True)
class Proposal:
    """An edit checked but not yet saved: the document before and after, the version it was read at, and the
    schema's verdict (``error`` None: valid) with the form field it names."""

    name: str
    old: Any
    new: Any
    version: int
    error: ConfigError | None = None
    field: str | None = None

    @property
    def diff(self) -> list[str]:
        return list(difflib.unified_diff(_lines(self.old), _lines(self.new), f"{self.name} (version {self.version})",
                                         f"{self.name} (edited)", lineterm=""))  # fmt: skip

    @property
    def changed(self) -> bool:
        return bool(self.old != self.new)


def _lines(value: Any) -> list[str]:
    return json.dumps(value, indent=1, sort_keys=True).splitlines() if value is not None else []


def _number(text: str) -> Any:
    """A form's text as the JSON value it spells (``12`` -> 12), else the text itself, for the schema to refuse."""
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return text


def field_of(error: ConfigError, fields: Mapping[str, str] | list[str]) -> str | None:
    """The form field a schema error is about: the last part of its path, or a field its message names."""
    for name in fields:
        head, _, rest = name.partition(".")
        if error.field == name or error.field.endswith(f".{name}"):
            return name
        if rest and error.field.endswith(f".{head}") and f"`{rest}`" in error.problem:  # the object names its field
            return name
    return next((name for name in fields if f"`{name}`" in error.problem), None)


def check(name: str, old: Any, new: Any, version: int, fields: Mapping[str, str] | list[str] | None = None) -> Proposal:
    """Validate ``new`` as document ``name``: a Proposal that carries the error (and its field) if any."""
    try:
        validate(name, new)
    except ConfigError as exc:
        return Proposal(name, old, new, version, exc, field_of(exc, fields or []))
    return Proposal(name, old, new, version)


def limits_edit(document: Any, labourer: str, form: Mapping[str, str], version: int) -> Proposal:
    """The labourers document with ``labourer``'s limits set from the form's fields (other fields untouched)."""
    new = copy.deepcopy(document if isinstance(document, dict) else {})
    entry = new.setdefault("labourers", {}).setdefault(labourer, {})
    for name in LIMIT_FIELDS:
        if name in form:
            _set_limit(entry, name, form[name].strip())
    return check(LABOURERS_DOCUMENT, document, new, version, LIMIT_FIELDS)


def document_edit(name: str, document: Any, text: str, version: int) -> Proposal:
    """A whole document from the editor's JSON text; bad JSON is an error on the ``text`` field."""
    try:
        new = json.loads(text)
    except json.JSONDecodeError as exc:
        error = ConfigError(name, "", f"not valid JSON: {exc.msg} at line {exc.lineno}")
        return Proposal(name, document, None, version, error, "text")
    proposal = check(name, document, new, version)
    return proposal if proposal.error is None else Proposal(name, document, new, version, proposal.error, "text")
