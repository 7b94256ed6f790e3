"""The scenarios `ganger local --demo` runs, against the same in-process system."""

from __future__ import annotations

import pytest

from ganger.config import ConfigStore
from processors.demo.scenarios import devbox_scenario, run_all, scenarios, schedule_auto_shutdown
from processors.devbox.local_boxes import create_local_boxes
from tests.functional.processors.conftest import USER, Bot


def test_every_demo_scenario_succeeds(bot: Bot) -> None:
    results = run_all(bot.context())
    assert [r.name for r in results] == [s.name for s in scenarios()]
    failed = [(r.name, r.summary, r.replies) for r in results if not r.ok]
    assert failed == []
    by_name = {r.name: r for r in results}
    assert "Total drank = 120 ml" in by_name["feedings"].summary
    assert by_name["image"].records["labels"] >= 1
    assert by_name["devbox"].summary.endswith("running -> stopped")


def test_devbox_scenario_uses_the_box_a_warm_worker_already_knows(bot: Bot, monkeypatch: pytest.MonkeyPatch) -> None:
    """`ganger local --demo` runs at speed 30, so the hourly sweep can warm the dev-box worker before the
    scenario: a box the scenario then put in the config would not be the one the worker starts (CI saw
    "devbox FAILED i-...: stopped" when the clock crossed an hour)."""
    monkeypatch.setenv("GANGER_CONFIG_TTL_SECONDS", "600")  # as deployed: the worker keeps its config
    store = ConfigStore(bot.system.clients.dynamodb)
    stored = store.get("devbox_worker_config")
    assert stored is not None
    users = {str(USER): {"code": "alice", "instances": {"default": "i-0123456789abcdef0"}}}
    store.put("devbox_worker_config", {**stored.value, "users": users}, expected_version=stored.version)
    create_local_boxes(bot.system.clients, store)  # what `ganger local` does at start
    ctx = bot.context()
    schedule_auto_shutdown(ctx)
    ctx.settle()  # the sweep has read the config: the worker is warm

    result = devbox_scenario(ctx)

    assert result.ok, (result.summary, result.replies)
    configured = store.get("devbox_worker_config")
    assert configured is not None
    assert result.records["instance_id"] == configured.value["users"][str(USER)]["instances"]["default"]
