"""The scenarios `ganger local --demo` runs, against the same in-process system."""

from __future__ import annotations

from processors.demo.scenarios import run_all, scenarios
from tests.functional.processors.conftest import Bot


def test_every_demo_scenario_succeeds(bot: Bot) -> None:
    results = run_all(bot.context())
    assert [r.name for r in results] == [s.name for s in scenarios()]
    failed = [(r.name, r.summary, r.replies) for r in results if not r.ok]
    assert failed == []
    by_name = {r.name: r for r in results}
    assert "Total drank = 120 ml" in by_name["feedings"].summary
    assert by_name["image"].records["labels"] >= 1
    assert by_name["devbox"].summary.endswith("running -> stopped")
