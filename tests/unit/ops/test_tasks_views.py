"""Pure parts of `ganger tasks`: --since parsing and the text view."""

from __future__ import annotations

import pytest

from ganger.cli.tasks_cmd import parse_since, render_view
from ganger.errors import InvalidInput
from ganger.ops.tasks import Located, task_view
from ganger.task_state import TaskState
from ganger.tasks import Task

NOW = 1_800_000_000.0


@pytest.mark.parametrize(
    ("text", "expected"),
    [("1700000000", 1_700_000_000), ("90m", int(NOW) - 5400), ("2d", int(NOW) - 172800),
     ("2027-01-15T00:00:00", 1_799_971_200)],
)  # fmt: skip
def test_parse_since(text: str, expected: int) -> None:
    assert parse_since(text, NOW) == expected


def test_parse_since_names_the_option() -> None:
    with pytest.raises(InvalidInput, match="`--since`"):
        parse_since("yesterday-ish", NOW)


def test_view_splits_stats_and_result() -> None:
    task = Task("t1", "w", 1_800_000_000, 5, attempts=2, extra={"stat_ms": 12, "result_sum": 5, "sosw": "x"})
    view = task_view(Located(task, TaskState.COMPLETED, "sosw_closed_tasks"))
    assert (view["stats"], view["result"], view["other"]) == ({"ms": 12}, {"sum": 5}, {"sosw": "x"})
    text = render_view(view)
    assert "created_at:           2027-01-15 08:00:00 UTC" in text
    assert 'result:               {"sum": 5}' in text and "failure_reason" not in text
