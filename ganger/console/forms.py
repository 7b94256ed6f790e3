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
}


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
    last = error.field.rsplit(".", 1)[-1]
    if last in fields:
        return last
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
            entry[name] = _number(form[name].strip())
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
