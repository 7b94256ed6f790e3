"""`ganger deploy --package-only DIR` builds the real packages (wheels for Lambda from the package index,
cached by the lock under ~/.cache/ganger, so a second run is offline) and no AWS call is made. Each
package is checked as Lambda would load it: unzipped, in an isolated interpreter beside only boto3."""

from __future__ import annotations

import io
import zipfile
from collections.abc import Iterator
from contextlib import redirect_stdout
from pathlib import Path
from typing import Any

import boto3.session
import pytest

from ganger.cli.main import main
from ganger.deploy import coldstart
from ganger.deploy.functions import (
    ESSENTIAL_UNZIPPED_LIMIT,
    IMPORT_NAMES,
    LAMBDA_UNZIPPED_LIMIT,
    PACKAGES,
    PackageSpec,
)

pytestmark = [pytest.mark.slow, pytest.mark.timeout(1800)]
FUNCTIONS = [spec for spec in PACKAGES if spec.lambda_function]
ESSENTIALS = [spec for spec in FUNCTIONS if spec.essential]
NEVER_IN_AN_ESSENTIAL = ("ganger/local/", "moto/", "cv2/", "yt_dlp/", "telegram/", "numpy/", "croniter/")


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, str]]:
    out = tmp_path_factory.mktemp("packages")
    patch = pytest.MonkeyPatch()
    patch.setattr(boto3.session.Session, "client", _no_aws_call)
    printed = io.StringIO()
    try:
        with redirect_stdout(printed):
            code = main(["deploy", "--package-only", str(out), *(f"--function={s.name}" for s in FUNCTIONS)])
    finally:
        patch.undo()
    assert code == 0
    yield out, printed.getvalue()


def _no_aws_call(*args: Any, **kwargs: Any) -> None:
    raise AssertionError("--package-only made an AWS client")


def _names(path: Path) -> list[str]:
    return zipfile.ZipFile(path).namelist()


def _unzipped(path: Path) -> int:
    return sum(info.file_size for info in zipfile.ZipFile(path).infolist())


def test_the_table_lists_every_function_with_its_sizes_and_limit(built: tuple[Path, str]) -> None:
    out, printed = built
    rows = {line.split()[0]: line.split() for line in printed.splitlines() if line.split()[:1]}
    assert rows["function"][:3] == ["function", "zipped", "unzipped"]
    for spec in FUNCTIONS:
        assert rows[spec.name][-2:] == [f"{(spec.unzipped_limit or 0) / 2**20:.1f}", "MiB"]
        assert (out / f"{spec.name}.zip").is_file()


def test_every_function_is_under_its_limit_and_the_essentials_under_15_mb(built: tuple[Path, str]) -> None:
    out, _ = built
    sizes = {spec.name: _unzipped(out / f"{spec.name}.zip") for spec in FUNCTIONS}
    assert all(size < LAMBDA_UNZIPPED_LIMIT for size in sizes.values()), sizes
    assert all(sizes[spec.name] < ESSENTIAL_UNZIPPED_LIMIT for spec in ESSENTIALS), sizes


@pytest.mark.parametrize("spec", ESSENTIALS, ids=lambda s: s.name)
def test_an_essential_ships_nothing_of_local_mode_or_the_processors_libraries(
    built: tuple[Path, str], spec: PackageSpec
) -> None:
    out, _ = built
    names = _names(out / f"{spec.name}.zip")
    assert f"{spec.module.replace('.', '/')}.py" in names
    assert [n for n in names if n.startswith(NEVER_IN_AN_ESSENTIAL)] == []


@pytest.mark.parametrize("spec", FUNCTIONS, ids=lambda s: s.name)
def test_every_handler_imports_from_its_own_package_beside_only_boto3(
    built: tuple[Path, str], spec: PackageSpec
) -> None:
    out, _ = built
    runtime = coldstart.lambda_runtime(out / "runtime")
    unpacked = coldstart.unpack(out / f"{spec.name}.zip", out / "unpacked" / spec.name)
    shipped = tuple(module for module, dist in IMPORT_NAMES.items() if dist in spec.distributions)

    probe = coldstart.probe(unpacked, runtime, spec.module, extra=shipped)  # the wheels load on this platform

    assert spec.module in probe.modules
    assert "moto" not in probe.modules and "ganger.local" not in probe.modules
    if spec.essential:
        assert not {"cv2", "yt_dlp", "telegram", "numpy"} & set(probe.modules)
