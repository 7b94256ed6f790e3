"""`ganger config push`: a folder of config documents into the config table, as a plan of changes
(each with its diff against the table) that is applied with writes conditional on the version read."""

from __future__ import annotations

import difflib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from ganger.config import ConfigStore


def render(value: Any) -> str:
    """A document as ConfigStore stores it, so that equal documents compare equal."""
    return json.dumps(value, indent=1, sort_keys=True)


@dataclass(frozen=True)
class DocumentChange:
    """One document of the folder against the table: ``create``, ``update`` or ``unchanged``."""

    name: str
    action: str
    new: Any
    old: Any = None
    version: int = 0  # the version read from the table; the write is conditional on it

    def diff(self) -> str:
        old = [] if self.action == "create" else render(self.old).splitlines(keepends=True)
        new = render(self.new).splitlines(keepends=True)
        lines = difflib.unified_diff(old, new, f"table/{self.name}", f"folder/{self.name}.json")
        return "".join(line if line.endswith("\n") else line + "\n" for line in lines)


def plan_push(store: ConfigStore, documents: dict[str, Any]) -> list[DocumentChange]:
    """Compare each document with the table (one consistent read per document)."""
    changes = []
    for name, value in documents.items():
        stored = store.get(name)
        if stored is None:
            changes.append(DocumentChange(name, "create", value))
        elif render(stored.value) == render(value):
            changes.append(DocumentChange(name, "unchanged", value, stored.value, stored.version))
        else:
            changes.append(DocumentChange(name, "update", value, stored.value, stored.version))
    return changes


def apply_push(store: ConfigStore, changes: Sequence[DocumentChange]) -> list[str]:
    """Write the created and updated documents; each write fails if the document changed since the plan."""
    written = []
    for change in changes:
        if change.action != "unchanged":
            store.put(change.name, change.new, expected_version=change.version)
            written.append(change.name)
    return written


def only_in_table(store: ConfigStore, documents: dict[str, Any]) -> list[str]:
    """Documents in the table that the folder does not have (push leaves them alone)."""
    return sorted(set(store.names()) - set(documents))
