"""The console in a real browser: headless Chromium from Debian's packages, driven by Playwright for Python.

The console is served on 127.0.0.1 by the test, over the in-process moto system of tests/functional (its tables
deployed from yaml/, the essentials and the example worker in-process), and stopped after. Set
``GANGER_SCREENSHOTS=docs/console`` to write each page's screenshot there (the README shows them).
"""

from __future__ import annotations

import os
import shutil
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto import mock_aws

from benchmarks.harness import ROOT, Clock, InProcessSystem, deploy_tables
from examples import sosw_protocol_worker
from ganger import audit
from ganger.console.build import build_console
from ganger.console.server import ConsoleServer

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning:moto.*")
CHROMIUM = shutil.which("chromium") or ("/usr/bin/chromium" if Path("/usr/bin/chromium").exists() else None)
NO_CHROMIUM = "no chromium on PATH: the console's browser tests need Debian's `chromium` (.ci/run installs it)"
OPERATOR = "test operator"
LABOURERS = {
    "example_worker": {
        "dispatch": "tick", "max_simultaneous_invocations": 5, "duration": 60, "cooldown": 30, "max_attempts": 2,
        "retry": {"base_seconds": 10, "factor": 2, "cap_seconds": 100},
    },
    "other_worker": {"dispatch": "tick", "max_simultaneous_invocations": 2, "duration": 60, "cooldown": 30},
}  # fmt: skip


def job(n: int, **payload: Any) -> dict[str, Any]:
    body = {"sections": [f"s{i}" for i in range(n)], "isolate_sections": True, **payload}
    return {"job": {"lambda_name": "example_worker", "payload": body}}


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    if CHROMIUM is None:
        pytest.skip(NO_CHROMIUM)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, headless=True)
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    page = context.new_page()
    page.set_default_timeout(15_000)
    yield page
    context.close()


@pytest.fixture
def clock() -> Clock:
    return Clock(time.time())


@pytest.fixture
def system(clock: Clock, monkeypatch: pytest.MonkeyPatch) -> Iterator[InProcessSystem]:
    """The in-process system with the audit trail on (the WorkerAssistant records each report)."""
    monkeypatch.setenv(audit.ENV_AUDIT_TABLE, "ganger_task_audit")
    with mock_aws():
        sosw_protocol_worker._lambda = None
        system = InProcessSystem(clock=clock)
        with system.lam.installed():
            system.deploy(labourers=LABOURERS)
            system.register_worker("example_worker", sosw_protocol_worker.lambda_handler)
            deploy_tables(boto3.client("cloudformation"), "ganger-audit", ROOT / "yaml" / "audit.yaml")
            system.config.put(audit.AUDIT_DOCUMENT, {"enabled": True, "ttl_days": 7})
            yield system


@pytest.fixture
def console(system: InProcessSystem) -> Iterator[Callable[..., ConsoleServer]]:
    """``console(allow_actions=...)``: a console on a free port of 127.0.0.1, stopped after the test."""
    started: list[ConsoleServer] = []

    def start(allow_actions: bool = True) -> ConsoleServer:
        server = build_console(system.clients, 0, allow_actions, OPERATOR, "ganger_task_audit").start()
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop()


def shoot(page: Any, name: str) -> None:
    """The page as the browser shows it, into $GANGER_SCREENSHOTS/<name>.png when that is set."""
    folder = os.environ.get("GANGER_SCREENSHOTS")
    if folder:
        Path(folder).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(folder) / f"{name}.png"), full_page=True)
