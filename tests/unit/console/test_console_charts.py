"""The charts' pure parts: percentiles, time buckets and what a sample covers, running over time, the SVG, and
the one Query per lane each chart's read makes."""

from __future__ import annotations

from typing import Any

from ganger.console import charts, series, svg
from ganger.console.history import History
from ganger.console.series import Closed, Sample, Timeline
from ganger.labourer import Labourer
from ganger.tasks import TableNames

NOW = 1_800_000_000.0  # a whole hour: buckets start on the minute


def sample(closed: list[int], limit: int = 100, latency: int = 2) -> Sample:
    tasks = [Closed(created_at=c - latency - 1, invoked_at=c - 1, closed_at=c) for c in sorted(closed, reverse=True)]
    return Sample(tasks, limit, NOW - 3600, NOW)


def test_percentiles_are_nearest_rank_as_the_benchmarks() -> None:
    assert series.percentile([], 0.5) is None
    assert series.percentile([3.0], 0.95) == 3.0
    values = [float(v) for v in range(1, 101)]
    assert series.percentile(values, 0.5) == 51.0  # round(0.5 * 99) = 50 (banker's), the 51st
    assert series.percentile(values, 0.95) == 95.0
    assert series.percentile([5.0, 1.0, 3.0], 0.5) == 3.0  # sorted first


def test_start_latency_only_for_a_task_done_at_its_first_attempt() -> None:
    assert Closed(created_at=100, invoked_at=107, closed_at=120).start_latency == 7
    assert Closed(created_at=100, invoked_at=150, closed_at=160, attempts=2).start_latency is None  # a retry's
    assert Closed(created_at=100, invoked_at=150, closed_at=160, redriven=True).start_latency is None
    assert Closed(created_at=100, invoked_at=None, closed_at=160).start_latency is None
    assert Closed(created_at=100, invoked_at=90, closed_at=160).start_latency is None  # clocks disagree


def test_a_sample_that_is_not_full_covers_the_hour_and_a_full_one_from_its_oldest_task() -> None:
    partial = sample([int(NOW) - 3000, int(NOW) - 10], limit=5)
    assert not partial.full and partial.covered_from == NOW - 3600
    full = sample([int(NOW) - 600, int(NOW) - 300, int(NOW) - 10], limit=3)
    assert full.full and full.covered_from == NOW - 600


def test_completions_per_minute_count_each_minute_and_leave_the_unread_ones_out() -> None:
    closed = [int(NOW) - 30, int(NOW) - 20, int(NOW) - 90, int(NOW) - 200]  # minutes 59, 59, 58, 56
    per_minute = series.counts(series.bucketed(sample(closed), 60, "one"))
    assert len(per_minute) == 60 and per_minute[-4:] == [1, 0, 1, 2] and sum(v or 0 for v in per_minute) == 4
    full = series.counts(series.bucketed(sample(closed, limit=4), 60, "one"))
    assert full[:56] == [None] * 56  # before the oldest task read: not read, not 0
    assert full[56:] == [None, 0, 1, 2]  # the minute the oldest closed in is partly read: not read either


def test_latency_percentiles_per_bucket_skip_tasks_without_one() -> None:
    tasks = [Closed(created_at=int(NOW) - 100, invoked_at=int(NOW) - 100 + lat, closed_at=int(NOW) - 10)
             for lat in (1, 2, 3, 40)]  # fmt: skip
    tasks.append(Closed(created_at=0, invoked_at=5, closed_at=int(NOW) - 5, attempts=3))  # retried: no latency
    found = series.bucketed(Sample(tasks, 100, NOW - 3600, NOW), 300, "start_latency")
    assert len(found) == 12 and sorted(found[-1].values) == [1, 2, 3, 40]
    assert series.percentiles(found, 0.5)[-1] == 3 and series.percentiles(found, 0.95)[-1] == 40
    assert series.percentiles(found, 0.5)[:-1] == [None] * 11


def test_running_counts_the_attempts_covering_each_moment() -> None:
    steps = series.running_steps([(0, 50), (10, 30), (20, 200), (-5, 5)], since=0, now=100)
    assert steps == [(0, 2), (5, 1), (10, 2), (20, 3), (30, 2), (50, 1), (100, 1)]
    assert series.running_steps([], since=0, now=100) == [(0, 0), (100, 0)]
    assert series.running_steps([(150, 160), (-20, -10)], since=0, now=100) == [(0, 0), (100, 0)]


def test_the_last_pause_within_the_hour() -> None:
    assert series.last_pause(False, None, None, NOW - 3600, NOW) == []
    assert series.last_pause(True, int(NOW) - 60, None, NOW - 3600, NOW) == [(NOW - 60, NOW)]
    assert series.last_pause(False, int(NOW) - 600, int(NOW) - 300, NOW - 3600, NOW) == [(NOW - 600, NOW - 300)]
    assert series.last_pause(False, int(NOW) - 9000, int(NOW) - 4000, NOW - 3600, NOW) == []
    assert series.last_pause(False, int(NOW) - 9000, int(NOW) - 60, NOW - 3600, NOW) == [(NOW - 3600, NOW - 60)]


def test_a_timeline_draws_from_where_both_samples_are_complete() -> None:
    completed = Sample([Closed(int(NOW) - 700, int(NOW) - 100, int(NOW) - 690)], 1, NOW - 3600, NOW)  # full
    dead = Sample([], 10, NOW - 3600, NOW)
    line = Timeline(completed, dead, invoked=[int(NOW) - 50], invoked_limit=10, cap=4, configured_cap=5)
    assert line.covered_from == NOW - 100
    assert line.running() == [(NOW - 100, 0), (NOW - 50, 1), (NOW, 1)]
    html = charts.timeline(line)
    assert 'class="span"' in html and "not read" in html  # the hour before the newest task read is shaded
    assert "configured cap 5" in html and "cap now 4" in html and 'data-peak="1"' in html
    assert "the last 1 completed" in html and "no task dead in the last hour" in html


def test_bars_mark_unread_buckets_and_scale_to_the_largest() -> None:
    chart = svg.bars([None, 0, 2, 4], "a <label>")
    assert chart.count('class="unread"') == 1 and chart.count("data-value=") == 3
    assert 'data-total="6"' in chart and "a &lt;label&gt;" in chart and "<label>" not in chart
    assert 'height="34"' in chart  # the largest bar fills the chart (36 less the baseline)


def test_lines_break_where_a_bucket_has_no_value() -> None:
    chart = svg.lines({"p50": [1.0, 2.0, None, 3.0, 4.0], "p95": [None, None, None, None, 9.0]}, "latency")
    assert chart.count('<polyline class="p50"') == 2 and chart.count("<circle") == 1  # p95: one point
    assert 'data-max="9"' in chart


def test_the_overview_captions_say_what_the_sample_covers() -> None:
    found = series.figures(sample([int(NOW) - 120, int(NOW) - 60], limit=2, latency=3))
    assert found.p50 == 3 and found.latencies == 2
    assert "the last 2 completed: 07:58-08:00 UTC" in charts.completions_chart(found)
    assert "p50 3 s · p95 3 s" in charts.latency_chart(found)


class Recording:
    """A DynamoDB client that records its Queries and answers each with ``items``."""

    def __init__(self, items: list[dict[str, Any]]) -> None:
        self.items = items
        self.queries: list[dict[str, Any]] = []

    def query(self, **query: Any) -> dict[str, Any]:
        self.queries.append(query)
        return {"Items": self.items[: query["Limit"]]}


def test_the_charts_read_one_bounded_query_per_lane_with_a_projection() -> None:
    item = {"task_id": {"S": "t"}, "created_at": {"N": "100"}, "invoked_at": {"N": "103"}, "closed_at": {"N": "110"},
            "attempts": {"N": "1"}}  # fmt: skip
    ddb = Recording([item] * 5)
    lab = Labourer(id="w", lanes=2)
    got = History(ddb, TableNames()).closed(lab, "1", NOW - 3600, NOW, limit=3)
    assert len(got.tasks) == 3 and got.full and got.tasks[0].start_latency == 3
    assert [q["ExpressionAttributeValues"][":s"]["S"] for q in ddb.queries] == ["w_1", "w#1_1"]
    assert all(q["Limit"] == 3 and q["ScanIndexForward"] is False and "ProjectionExpression" in q for q in ddb.queries)
    assert all(q["IndexName"] == "labourer_task_status_with_time" for q in ddb.queries)
    running = Recording([{"task_id": {"S": "_ganger_slots#w"}}, {"task_id": {"S": "t"}, "invoked_at": {"N": "7"}}])
    assert History(running, TableNames()).invoked(lab, NOW, limit=10) == [7, 7]
    assert running.queries[0]["KeyConditionExpression"] == "labourer_id = :l AND greenfield > :now"
