"""The CLI's main(argv) against the in-process moto system of tests/functional/conftest.py.

Commands run with ``--aws``: under ``mock_aws()`` the default endpoints are moto's, so the CLI reads the
same tables as the system. The CLI's wall clock is pinned to the system's settable clock.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from benchmarks.harness import Clock, InProcessSystem
from ganger.cli.main import main

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning:moto.*")


@dataclass
class Result:
    code: int
    out: str
    err: str


Cli = Callable[..., Result]


def job(n: int, job_id: str = "", **payload: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"sections": [f"s{i}" for i in range(n)], "isolate_sections": True, **payload}
    spec: dict[str, Any] = {"lambda_name": "example_worker", "payload": body}
    if job_id:
        spec["job_id"] = job_id
    return {"job": spec}


@pytest.fixture
def cli(
    system: InProcessSystem, clock: Clock, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> Cli:  # fmt: skip
    monkeypatch.setenv("GANGER_HOME", str(tmp_path / "home"))
    pinned = SimpleNamespace(time=clock, sleep=time.sleep, strftime=time.strftime)
    for module in ("ganger.cli.status", "ganger.cli.tasks_cmd"):
        monkeypatch.setattr(f"{module}.time", pinned)
    capsys.readouterr()

    def run(*argv: str) -> Result:
        code = main([*argv, "--aws"])
        captured = capsys.readouterr()
        return Result(code, captured.out, captured.err)

    return run
