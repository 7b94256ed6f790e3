"""Function packages as deterministic zips: a handler's import closure plus its installed distributions.

``build_code_zip`` (every project package, no dependencies) remains for local mode, which runs the
handlers in-process and only needs an object for CloudFormation's ``Code`` to point at.
"""

from __future__ import annotations

import hashlib
import io
import py_compile
import sys
import tempfile
import zipfile
from collections.abc import Iterable, Iterator
from pathlib import Path

from ganger import constants
from ganger.deploy.functions import NEVER_SHIPPED, PackageSpec
from ganger.deploy.imports import closure
from ganger.errors import GangerError

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("ganger", "essentials", "processors", "examples")
CODE_SUFFIXES = (".py", ".json", ".txt")
_FIXED_TIME = (2020, 1, 1, 0, 0, 0)


def _code_files(root: Path, packages: Iterable[str] = PACKAGES) -> Iterator[tuple[str, Path]]:
    for package in packages:
        for path in sorted((root / package).rglob("*")):
            if path.is_file() and "__pycache__" not in path.parts and path.suffix in CODE_SUFFIXES:
                yield str(path.relative_to(root)), path


def handler_files(spec: PackageSpec, root: Path = ROOT) -> list[tuple[str, Path]]:
    """The project's files a package holds: its handler's import closure, or (for the fleet's
    instances) every project package but local mode."""
    if not spec.handler:
        return [(name, path) for name, path in _code_files(root) if not name.startswith("ganger/local/")]
    reached = closure(root, spec.module, NEVER_SHIPPED)
    return [(str(path.relative_to(root)), path) for path in reached.files(root)]


def _dependency_files(folder: Path) -> Iterator[tuple[str, Path]]:
    for path in sorted(folder.rglob("*")):
        if path.is_file() and not path.name.startswith(".ganger"):
            yield str(path.relative_to(folder)), path


def _write(archive: zipfile.ZipFile, name: str, path: Path) -> None:
    info = zipfile.ZipInfo(name, date_time=_FIXED_TIME)
    info.external_attr = (0o755 if path.stat().st_mode & 0o111 else 0o644) << 16
    archive.writestr(info, path.read_bytes(), zipfile.ZIP_DEFLATED)


def zip_files(files: Iterable[tuple[str, Path]]) -> bytes:
    """A deterministic zip (fixed times, sorted names): an unchanged tree gives the same bytes and key."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, path in sorted(files):
            _write(archive, name, path)
    return buffer.getvalue()


def can_compile_for(python_version: str) -> bool:
    """Byte code is only valid for the Python that wrote it: compile when this is Lambda's version."""
    return f"{sys.version_info.major}.{sys.version_info.minor}" == python_version


def compiled(files: Iterable[tuple[str, Path]], into: Path) -> list[tuple[str, Path]]:
    """``__pycache__`` entries for the ``.py`` files. Lambda's code folder is read-only, so without them
    every cold start compiles every module it imports. Hash-based and unchecked: a zip's fixed file
    times would invalidate timestamp-based byte code."""
    made = []
    for name, path in files:
        if not name.endswith(".py"):
            continue
        folder, _, module = name.rpartition("/")
        tag = sys.implementation.cache_tag
        cached = f"{folder + '/' if folder else ''}__pycache__/{module[:-3]}.{tag}.pyc"
        target = into / cached
        target.parent.mkdir(parents=True, exist_ok=True)
        py_compile.compile(
            str(path), str(target), dfile=name, doraise=True,
            invalidation_mode=py_compile.PycInvalidationMode.UNCHECKED_HASH,
        )  # fmt: skip
        made.append((cached, target))
    return made


def build_package(
    spec: PackageSpec, dependencies: Path | None, root: Path = ROOT, python_version: str = "3.11"
) -> bytes:
    """The package's zip; with byte code for its own code when this Python is Lambda's (the dependencies
    folder holds theirs, compiled when installed)."""
    files = handler_files(spec, root)
    with tempfile.TemporaryDirectory(prefix="ganger-pyc-") as work:
        if can_compile_for(python_version):
            files += compiled(files, Path(work))
        if dependencies is not None:
            files += list(_dependency_files(dependencies))
        files += model_files(spec)
        return zip_files(files)


def model_files(spec: PackageSpec) -> list[tuple[str, Path]]:
    """The model folders the package ships, from ``$GANGER_MODEL_DIR`` (default ``~/.cache/ganger/models``);
    a missing one is an error that names the command that fetches it."""
    base = Path(constants.getenv(constants.ENV_MODEL_DIR) or constants.DEFAULT_MODEL_DIR).expanduser()
    files: list[tuple[str, Path]] = []
    for name in spec.models:
        folder = base / name
        found = sorted(p for p in folder.glob("*") if p.is_file()) if folder.is_dir() else []
        if not found:
            raise GangerError(
                f"{spec.name} ships the model {name!r}, which is not in {folder}: "
                "run `python -m processors.detectors --fetch-model` first"
            )
        files += [(f"models/{name}/{path.name}", path) for path in found]
    return files


def build_code_zip(root: Path = ROOT, dependencies: Path | None = None) -> bytes:
    """Every project package (no caches), plus the installed ``dependencies`` folder when given."""
    files = list(_code_files(root))
    if dependencies is not None:
        files += list(_dependency_files(dependencies))
    return zip_files(files)


def unzipped_size(data: bytes) -> int:
    return sum(info.file_size for info in zipfile.ZipFile(io.BytesIO(data)).infolist())


def package_key(data: bytes, name: str = "code") -> str:
    return f"ganger/{name}-{hashlib.sha256(data).hexdigest()[:16]}.zip"
