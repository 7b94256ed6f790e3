"""The function package: ganger's code (and, unless code-only, its dependencies) as one zip for every
function; the functions differ only by ``Handler``."""

from __future__ import annotations

import hashlib
import io
import zipfile
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("ganger", "essentials", "processors", "examples")
CODE_SUFFIXES = (".py", ".json", ".txt")
_FIXED_TIME = (2020, 1, 1, 0, 0, 0)


def _code_files(root: Path) -> Iterator[tuple[str, Path]]:
    for package in PACKAGES:
        for path in sorted((root / package).rglob("*")):
            if path.is_file() and "__pycache__" not in path.parts and path.suffix in CODE_SUFFIXES:
                yield str(path.relative_to(root)), path


def _dependency_files(folder: Path) -> Iterator[tuple[str, Path]]:
    for path in sorted(folder.rglob("*")):
        if path.is_file() and "__pycache__" not in path.parts and not path.name.startswith(".ganger"):
            yield str(path.relative_to(folder)), path


def _write(archive: zipfile.ZipFile, name: str, path: Path) -> None:
    info = zipfile.ZipInfo(name, date_time=_FIXED_TIME)
    info.external_attr = (0o755 if path.stat().st_mode & 0o111 else 0o644) << 16
    archive.writestr(info, path.read_bytes(), zipfile.ZIP_DEFLATED)


def build_code_zip(root: Path = ROOT, dependencies: Path | None = None) -> bytes:
    """A deterministic zip of the project's packages (no caches), plus the installed ``dependencies``
    folder at the zip's root when given, so an unchanged tree gives the same key."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, path in _code_files(root):
            _write(archive, name, path)
        if dependencies is not None:
            for name, path in _dependency_files(dependencies):
                _write(archive, name, path)
    return buffer.getvalue()


def package_key(data: bytes) -> str:
    return f"ganger/code-{hashlib.sha256(data).hexdigest()[:16]}.zip"
