"""The issue's done-when, end to end: `ganger local --speed 1` serves the console at the state file's
``console_url``; in headless Chromium its overview lists every labourer of config/ganger_labourers.json, and a
task of `ganger schedule examples/job.json` shows completed with its attempts on its own page."""

from __future__ import annotations

import json
import os
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.console.conftest import shoot
from tests.e2e.test_local_mode import ROOT, LocalProcess, ganger, local_system

pytestmark = pytest.mark.e2e


@pytest.fixture
def real_speed(env: dict[str, str]) -> Iterator[tuple[LocalProcess, dict[str, str]]]:
    yield from local_system(env, "1")


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    clean.update(GANGER_HOME=str(tmp_path / "home"), PYTHONUNBUFFERED="1")
    return clean


def test_ganger_local_serves_the_console_and_a_scheduled_task_shows_completed(
    browser: Any, real_speed: tuple[LocalProcess, dict[str, str]]
) -> None:
    local, env = real_speed
    state = json.loads((Path(env["GANGER_HOME"]) / "local.json").read_text())
    url = state["console_url"]
    assert url.startswith("http://127.0.0.1:") and f"console                 {url}" in local.output
    with urllib.request.urlopen(url, timeout=10) as response:  # loopback: the console of ganger local
        assert response.status == 200

    page = browser.new_page()
    try:
        page.goto(url)
        configured = json.loads((ROOT / "config" / "ganger_labourers.json").read_text())["labourers"]
        expect(page.locator("#labourers tbody tr")).to_have_count(len(configured))
        for name in configured:
            expect(page.locator(f'#labourers tr[data-labourer="{name}"] td').first).to_have_text(name)

        scheduled = ganger("schedule", "examples/job.json", env=env)
        assert scheduled.returncode == 0, scheduled.stderr
        task_id = f"{json.loads(scheduled.stdout)['job_id']}-0"
        deadline = time.monotonic() + 30
        while True:
            page.goto(f"{url}tasks/{task_id}")
            if "state completed" in page.locator("dl").inner_text().replace("\n", " ").replace("\t", " "):
                break
            assert time.monotonic() < deadline, page.locator("main").inner_text()
            time.sleep(0.5)
        expect(page.locator("#attempts")).to_contain_text("attempt 1 invoked")
        expect(page.locator("#attempts")).to_contain_text("closed as completed")
        expect(page.locator("dl")).to_contain_text("sosw_closed_tasks")
        shoot(page, "local-task")
    finally:
        page.close()
