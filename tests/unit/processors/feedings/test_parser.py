from __future__ import annotations

import datetime
import zoneinfo

import pytest

from processors.feedings.parser import FeedingEntry, feeding_time, parse_feeding

SG = zoneinfo.ZoneInfo("Asia/Singapore")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("12pm 120ml milk", FeedingEntry(120, "milk", datetime.time(12, 0))),
        ("120ml", FeedingEntry(120, "milk", None)),
        ("120ml milk", FeedingEntry(120, "milk", None)),
        ("7:30 90 ml formula", FeedingEntry(90, "formula", datetime.time(7, 30))),
        ("120 ml at 3am", FeedingEntry(120, "milk", datetime.time(3, 0))),
        ("12am 60ML", FeedingEntry(60, "milk", datetime.time(0, 0))),
        ("9:15pm 100 ml breast milk", FeedingEntry(100, "breast milk", datetime.time(21, 15))),
        ("23:05 80ml", FeedingEntry(80, "milk", datetime.time(23, 5))),
    ],
)
def test_the_forms_people_type(text: str, expected: FeedingEntry) -> None:
    assert parse_feeding(text) == expected


@pytest.mark.parametrize("text", ["hello", "12pm milk", "0ml", "today", "99999 ml"])
def test_no_amount_is_no_feeding(text: str) -> None:
    assert parse_feeding(text) is None


def test_a_time_later_than_the_message_is_the_night_before() -> None:
    sent = datetime.datetime(2024, 5, 2, 0, 30, tzinfo=SG)
    at = feeding_time(FeedingEntry(90, "milk", datetime.time(23, 0)), sent)
    assert at == datetime.datetime(2024, 5, 1, 23, 0, tzinfo=SG)


def test_no_time_means_when_it_was_sent() -> None:
    sent = datetime.datetime(2024, 5, 1, 15, 42, 17, tzinfo=SG)
    assert feeding_time(FeedingEntry(90, "milk"), sent) == datetime.datetime(2024, 5, 1, 15, 42, tzinfo=SG)
