"""Config documents as an operator handles them: listed with their schema, set conditionally, validated."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

from ganger.config import ConfigStore
from ganger.documents import REGISTRY, validate
from ganger.errors import ConfigError


@dataclass(frozen=True)
class DocumentInfo:
    name: str
    version: int
    has_schema: bool  # False: only checked to be a JSON object


@dataclass(frozen=True)
class Written:
    name: str
    old_version: int
    new_version: int


@dataclass(frozen=True)
class Checked:
    name: str
    error: ConfigError | None  # None: valid
    has_schema: bool


def parse_json(name: str, text: str, where: str) -> Any:
    """A document's JSON text, or ConfigError naming the document and where the text came from."""
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise ConfigError(name, "", f"{where}: not valid JSON: {exc.msg} at line {exc.lineno}") from exc


def list_documents(store: ConfigStore) -> list[DocumentInfo]:
    """Every document of the store's env, sorted by name, with its version."""
    documents = []
    for name in sorted(store.names()):
        stored = store.get(name)
        documents.append(DocumentInfo(name, stored.version if stored else 0, REGISTRY.knows(name)))
    return documents


def set_document(store: ConfigStore, name: str, value: Any, if_version: int | None = None) -> Written:
    """Validate, then write conditionally: on ``if_version`` when given, else on the version read now."""
    validate(name, value)
    expected = if_version
    if expected is None:
        stored = store.get(name)
        expected = stored.version if stored else 0
    return Written(name, expected, store.put(name, value, expected_version=expected))


def _read_file(path: Path) -> Any:
    return parse_json(path.stem, path.read_text(), str(path))


def _read_stored(store: ConfigStore, name: str) -> Any:
    stored = store.get(name)
    return stored.value if stored else None


def folder_documents(folder: Path) -> list[tuple[str, Callable[[], Any]]]:
    """Each ``<name>.json`` of ``folder`` with a loader, so one bad file does not hide the others."""
    if not folder.is_dir():
        raise ConfigError(str(folder), "", "no such folder")
    return [(p.stem, partial(_read_file, p)) for p in sorted(folder.glob("*.json"))]


def table_documents(store: ConfigStore) -> list[tuple[str, Callable[[], Any]]]:
    return [(name, partial(_read_stored, store, name)) for name in sorted(store.names())]


def check_documents(documents: list[tuple[str, Callable[[], Any]]]) -> list[Checked]:
    """Load and validate each document; every error is reported, not only the first."""
    checked = []
    for name, load in documents:
        try:
            validate(name, load())
            checked.append(Checked(name, None, REGISTRY.knows(name)))
        except ConfigError as exc:
            checked.append(Checked(name, exc, REGISTRY.knows(name)))
    return checked
