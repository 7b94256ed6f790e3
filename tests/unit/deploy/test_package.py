from __future__ import annotations

import io
import subprocess
import zipfile
from collections.abc import Sequence
from pathlib import Path

import pytest

from ganger.deploy.dependencies import DONE_MARKER, DependencyError, DependencySpec, install
from ganger.deploy.package import build_code_zip, package_key


def _names(data: bytes) -> list[str]:
    return zipfile.ZipFile(io.BytesIO(data)).namelist()


def test_the_code_zip_is_deterministic_and_holds_every_handler_module() -> None:
    first, second = build_code_zip(), build_code_zip()

    names = _names(first)
    assert first == second and package_key(first) == package_key(second)
    assert {"essentials/scheduler.py", "processors/telegram_bot.py", "examples/sosw_protocol_worker.py"} <= set(names)
    assert not [n for n in names if "__pycache__" in n or n.endswith(".pyc")]


def test_pip_is_asked_for_lambda_wheels() -> None:
    command = DependencySpec(requirements=("croniter",)).pip_command(Path("/t"))

    joined = " ".join(command)
    assert "--target /t" in joined
    assert "--platform manylinux2014_x86_64 --only-binary=:all: --python-version 3.11" in joined
    assert command[-1] == "croniter"


class FakePip:
    """Installs a package and boto3 into --target, as pip would, and counts runs."""

    def __init__(self, returncode: int = 0) -> None:
        self.runs = 0
        self.returncode = returncode

    def __call__(self, command: Sequence[str]) -> subprocess.CompletedProcess[str]:
        self.runs += 1
        target = Path(command[command.index("--target") + 1])
        for package in ("croniter", "boto3", "botocore"):
            (target / package).mkdir()
            (target / package / "__init__.py").write_text("")
        (target / "boto3-1.0.dist-info").mkdir()
        return subprocess.CompletedProcess(command, self.returncode, "", "ERROR: No matching distribution")


def test_dependencies_are_cached_and_leave_out_what_lambda_provides(tmp_path: Path) -> None:
    pip = FakePip()
    spec = DependencySpec(requirements=("croniter",))

    first = install(spec, tmp_path, run=pip)
    second = install(spec, tmp_path, run=pip)

    names = _names(build_code_zip(dependencies=second))
    assert first == second and pip.runs == 1
    assert sorted(p.name for p in first.iterdir()) == sorted(["croniter", DONE_MARKER])
    assert "croniter/__init__.py" in names and "ganger/config.py" in names
    assert not [n for n in names if n.startswith(("boto3", "botocore", ".ganger"))]


def test_a_failed_pip_says_what_to_do_and_caches_nothing(tmp_path: Path) -> None:
    with pytest.raises(DependencyError, match=r"(?s)No matching distribution.*--code-only"):
        install(DependencySpec(requirements=("nope",)), tmp_path, run=FakePip(returncode=1))

    assert list(tmp_path.iterdir()) == []
