"""Third-party distributions for one package, installed for Lambda's Python with pip and cached.

``pip install --target`` with ``--platform manylinux2014_x86_64 --only-binary=:all:`` fetches the wheels
Lambda's Amazon Linux can load, whatever machine builds. Only the versions the lock pins are installed
(the named distributions exactly, their dependencies through the lock as constraints), and the result
is checked against the lock, so a build is the same on every machine. The cache entry is keyed by the
lock's content, the distributions and the platform: a new lock is a new entry, never a stale one.
"""

from __future__ import annotations

import compileall
import hashlib
import json
import logging
import os
import py_compile
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

from ganger.deploy.functions import PROVIDED_BY_LAMBDA
from ganger.deploy.lock import Lock, LockError, Platform, canonical
from ganger.deploy.package import can_compile_for
from ganger.errors import GangerError

logger = logging.getLogger(__name__)
DONE_MARKER = ".ganger-complete"
# Never imported at run time, and big: numpy's own test suites are 18 MB of the image worker's package.
TRIMMED = ("numpy/tests", "numpy/*/tests", "numpy/*/*/tests")
_DIST_INFO = re.compile(r"^(?P<name>.+?)-(?P<version>[^-]+)\.dist-info$")

Runner = Callable[[Sequence[str]], "subprocess.CompletedProcess[str]"]


class DependencyError(GangerError):
    """pip could not build the dependencies for Lambda."""


@dataclass(frozen=True)
class DependencySpec:
    """What to install (distribution names; versions come from the lock) and for which platform."""

    distributions: tuple[str, ...]
    lock: Lock
    platform: Platform = field(default_factory=Platform)
    excluded: tuple[str, ...] = field(default=PROVIDED_BY_LAMBDA)

    def digest(self) -> str:
        key = {
            "lock": self.lock.digest(),
            "distributions": sorted(canonical(d) for d in self.distributions),
            "platform": asdict(self.platform),
            "excluded": sorted(self.excluded),
            "layout": 2,  # byte code compiled in, test suites trimmed
        }
        return hashlib.sha256(json.dumps(key, sort_keys=True).encode()).hexdigest()[:16]

    def pinned(self) -> list[str]:
        """The distributions as hash-checked requirement lines (``NAME==VERSION --hash=sha256:...``)."""
        self.lock.check_covers(self.distributions)
        return [self.lock.requirement(d) for d in self.distributions]

    def pip_command(self, target: Path, constraints: Path, requirements: Path) -> list[str]:
        """pip in hash-checking mode: the distributions from ``requirements`` (``pinned``), their dependencies
        held to the lock's versions and hashes by ``constraints`` (the lock); a file whose sha256 differs, or a
        dependency the lock does not hash, fails the install."""
        return [
            sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check", "--no-compile",
            "--require-hashes", "--target", str(target), *self.platform.pip_options(),
            "--constraint", str(constraints), "--requirement", str(requirements),
        ]  # fmt: skip


def default_cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "ganger" / "lambda-deps"


def _run_pip(command: Sequence[str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(list(command), capture_output=True, text=True, check=False)


def install(spec: DependencySpec, cache_dir: Path | None = None, run: Runner = _run_pip) -> Path:
    """The folder holding ``spec``'s distributions, installed now unless the cache has them."""
    folder = (cache_dir or default_cache_dir()) / spec.digest()
    if (folder / DONE_MARKER).exists():
        logger.info("dependencies from the cache: %s", folder)
        return folder
    folder.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix="deps-", dir=folder.parent))
    try:
        if spec.distributions:
            constraints = staging / ".ganger-constraints.txt"
            constraints.write_text(spec.lock.text)
            requirements = staging / ".ganger-requirements.txt"
            requirements.write_text("".join(f"{line}\n" for line in spec.pinned()))
            result = run(spec.pip_command(staging / "site", constraints, requirements))
            if result.returncode != 0:
                tail = "\n".join((result.stderr or result.stdout or "").strip().splitlines()[-5:])
                raise DependencyError(
                    f"pip could not install {', '.join(spec.distributions)} for {spec.platform.platform}: {tail}"
                )
        site = staging / "site"
        site.mkdir(exist_ok=True)
        _drop_excluded(site, spec.excluded)
        _check_against_lock(site, spec.lock)
        _drop_build_leftovers(site)
        if can_compile_for(spec.platform.python_version):
            compileall.compile_dir(
                str(site), quiet=2, workers=1, invalidation_mode=py_compile.PycInvalidationMode.UNCHECKED_HASH
            )
        (site / DONE_MARKER).write_text(json.dumps({"distributions": spec.distributions, "lock": spec.lock.digest()}))
        shutil.rmtree(folder, ignore_errors=True)
        site.rename(folder)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return folder


def installed(folder: Path) -> dict[str, str]:
    """Canonical name -> version of every distribution installed in ``folder``."""
    found = {}
    for path in folder.glob("*.dist-info"):
        match = _DIST_INFO.match(path.name)
        if match:
            found[canonical(match.group("name"))] = match.group("version")
    return found


def _check_against_lock(folder: Path, lock: Lock) -> None:
    drift = [
        f"{name} {version} (lock: {lock.pins.get(name, 'not pinned')})"
        for name, version in sorted(installed(folder).items())
        if lock.pins.get(name) != version
    ]
    if drift:
        raise LockError(
            f"pip installed what the lock does not pin: {'; '.join(drift)}; run `ganger deploy --update-lock`"
        )


def _drop_excluded(folder: Path, excluded: tuple[str, ...]) -> None:
    """Remove distributions the Lambda runtime provides, with their dist-info."""
    names = {canonical(e) for e in excluded}
    for path in list(folder.iterdir()):
        match = _DIST_INFO.match(path.name)
        base = canonical(match.group("name")) if match else canonical(path.name.split(".")[0])
        if base in names:
            shutil.rmtree(path) if path.is_dir() else path.unlink()


def _drop_build_leftovers(folder: Path) -> None:
    """Byte code, console scripts and test suites: Lambda compiles what it imports, and nothing runs
    ``bin/`` or a distribution's own tests."""
    for cache in list(folder.rglob("__pycache__")):
        shutil.rmtree(cache, ignore_errors=True)
    for pattern in TRIMMED:
        for path in list(folder.glob(pattern)):
            shutil.rmtree(path, ignore_errors=True)
    shutil.rmtree(folder / "bin", ignore_errors=True)
