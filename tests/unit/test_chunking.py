import datetime

import pytest

from ganger.chunking import chunk_job, period_dates
from ganger.errors import InvalidJob

TODAY = datetime.date(2026, 11, 22)  # a Sunday
ATTRS = ["section", "store", "product"]


def test_no_chunking_config_is_one_task() -> None:
    job = {"sections": {"a": {"stores": {"x": None}}}, "other": 1}
    assert chunk_job(job, [], TODAY) == [job]


def test_isolate_flat_list() -> None:
    chunks = chunk_job({"sections": ["a", "b", "c"], "isolate_sections": True, "k": 1}, ATTRS, TODAY)
    assert chunks == [{"sections": ["a"], "k": 1}, {"sections": ["b"], "k": 1}, {"sections": ["c"], "k": 1}]


def test_max_per_batch() -> None:
    chunks = chunk_job({"stores": ["1", "2", "3", "4", "5"], "max_stores_per_batch": 2}, ["store"], TODAY)
    assert [c["stores"] for c in chunks] == [["1", "2"], ["3", "4"], ["5"]]


def test_nested_isolation_splits_upper_levels_by_name() -> None:
    job = {
        "sections": {
            "north": {"stores": ["n1", "n2", "n3"], "max_stores_per_batch": 2},
            "south": {"stores": ["s1", "s2"]},
            "empty": None,
        },
    }
    chunks = chunk_job(job, ATTRS, TODAY)
    assert {"sections": ["north"], "stores": ["n1", "n2"]} in chunks
    assert {"sections": ["north"], "stores": ["n3"]} in chunks
    assert {"sections": ["south"], "stores": ["s1", "s2"]} in chunks
    assert {"sections": ["empty"]} in chunks
    assert len(chunks) == 4


def test_root_isolation_flag_applies_to_deeper_levels() -> None:
    job = {"sections": {"a": {"stores": ["1", "2"]}, "b": {"stores": ["3"]}}, "isolate_stores": True}
    chunks = chunk_job(job, ATTRS, TODAY)
    assert [(c["sections"], c["stores"]) for c in chunks] == [(["a"], ["1"]), (["a"], ["2"]), (["b"], ["3"])]


def test_isolated_days() -> None:
    chunks = chunk_job({"period": "last_3_days", "isolate_days": True}, [], TODAY)
    assert [c["date_list"] for c in chunks] == [["2026-11-19"], ["2026-11-20"], ["2026-11-21"]]
    assert chunk_job({"period": "yesterday"}, [], TODAY) == [{"date_list": ["2026-11-21"]}]


@pytest.mark.parametrize(
    ("period", "expected"),
    [
        ("today", ["2026-11-22"]),
        ("yesterday", ["2026-11-21"]),
        ("2_days_back", ["2026-11-20"]),
        ("previous_2_days", ["2026-11-18", "2026-11-19"]),
        ("last_2_days", ["2026-11-20", "2026-11-21"]),
        ("last_week", [f"2026-11-{d:02d}" for d in range(8, 15)]),  # sosw: Sunday..Saturday
    ],
)
def test_periods(period: str, expected: list[str]) -> None:
    assert period_dates(period, TODAY) == expected


def test_bad_period_names_the_field() -> None:
    with pytest.raises(InvalidJob, match="`period`: unsupported period 'fortnight'"):
        chunk_job({"period": "fortnight"}, [], TODAY)


def test_embedded_data_in_an_isolated_list_names_the_item() -> None:
    with pytest.raises(InvalidJob, match=r"`sections\[1\]`: expected a string or number, got dict"):
        chunk_job({"sections": ["a", {"b": 1}], "isolate_sections": True}, ATTRS, TODAY)
