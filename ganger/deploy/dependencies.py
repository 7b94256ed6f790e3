"""Third-party packages for the function package, built for Lambda's Python with pip and cached.

``pip install --target`` with ``--platform manylinux2014_x86_64 --only-binary=:all:`` fetches the
wheels Lambda's Amazon Linux can load, whatever machine deploys. The result is cached by the
requirements and the platform, so a second deploy costs nothing. boto3 and botocore are left out:
the Lambda runtime has them.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

from ganger.errors import GangerError

logger = logging.getLogger(__name__)

# What the Lambdas import at run time (setup.py's install_requires without boto3 and local mode's moto).
LAMBDA_REQUIREMENTS: tuple[str, ...] = (
    "aws-lambda-powertools>=3.0,<4",
    "croniter>=2.0",
    "python-telegram-bot>=21,<23",
    "yt-dlp>=2024.1",
    "opencv-python-headless>=4.8,<5",
    "numpy>=1.26",
    "tzdata",
)
# Shipped by the Lambda Python runtime; bundling them only makes the package bigger.
PROVIDED_BY_RUNTIME = ("boto3", "botocore", "s3transfer", "jmespath")
DONE_MARKER = ".ganger-complete"

Runner = Callable[[Sequence[str]], "subprocess.CompletedProcess[str]"]


class DependencyError(GangerError):
    """pip could not build the dependencies for Lambda."""


@dataclass(frozen=True)
class DependencySpec:
    """What to install and for which platform; its digest names the cache entry."""

    requirements: tuple[str, ...] = LAMBDA_REQUIREMENTS
    platform: str = "manylinux2014_x86_64"
    python_version: str = "3.11"
    implementation: str = "cp"
    excluded: tuple[str, ...] = field(default=PROVIDED_BY_RUNTIME)

    def digest(self) -> str:
        return hashlib.sha256(json.dumps(asdict(self), sort_keys=True).encode()).hexdigest()[:16]

    def pip_command(self, target: Path) -> list[str]:
        return [
            sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check", "--no-compile",
            "--target", str(target), "--platform", self.platform, "--only-binary=:all:",
            "--python-version", self.python_version, "--implementation", self.implementation,
            *self.requirements,
        ]  # fmt: skip


def read_requirements(path: Path) -> tuple[str, ...]:
    """Requirement lines of a requirements file (comments and blank lines dropped)."""
    lines = (line.split("#", 1)[0].strip() for line in path.read_text().splitlines())
    return tuple(line for line in lines if line)


def default_cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "ganger" / "lambda-deps"


def _run_pip(command: Sequence[str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(list(command), capture_output=True, text=True, check=False)


def install(spec: DependencySpec, cache_dir: Path | None = None, run: Runner = _run_pip) -> Path:
    """The folder holding ``spec``'s packages, installed now unless the cache has them."""
    folder = (cache_dir or default_cache_dir()) / spec.digest()
    if (folder / DONE_MARKER).exists():
        logger.info("dependencies from the cache: %s", folder)
        return folder
    folder.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix="deps-", dir=folder.parent))
    try:
        result = run(spec.pip_command(staging))
        if result.returncode != 0:
            tail = "\n".join((result.stderr or result.stdout or "").strip().splitlines()[-5:])
            raise DependencyError(
                f"pip could not install the Lambda dependencies for {spec.platform}: {tail}\n"
                "Deploy with --code-only to ship ganger's code alone, or --requirements FILE to choose them."
            )
        _drop_excluded(staging, spec.excluded)
        (staging / DONE_MARKER).write_text(json.dumps(asdict(spec)))
        shutil.rmtree(folder, ignore_errors=True)
        staging.rename(folder)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return folder


def _drop_excluded(folder: Path, excluded: tuple[str, ...]) -> None:
    for path in folder.iterdir():
        name = path.name.split("-")[0].lower()
        if name in excluded:
            shutil.rmtree(path) if path.is_dir() else path.unlink()
