from __future__ import annotations

import pytest

from processors.telegram.routes import Kind, Route, route


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("/start", Route(Kind.START)),
        ("/help@ganger_bot", Route(Kind.HELP, addressee="ganger_bot")),
        ("/jobs", Route(Kind.JOBS)),
        ("/up", Route(Kind.DEVBOX_UP)),
        ("/up_windows", Route(Kind.DEVBOX_UP, "windows")),
        ("/up windows", Route(Kind.DEVBOX_UP, "windows")),
        ("/up_windows@ganger_bot", Route(Kind.DEVBOX_UP, "windows", "ganger_bot")),
        ("/status", Route(Kind.DEVBOX_STATUS)),
        ("/status_windows", Route(Kind.DEVBOX_STATUS, "windows")),
        ("/shutdown", Route(Kind.DEVBOX_CONFIRM_SHUTDOWN)),
        ("/shutdown_windows", Route(Kind.DEVBOX_CONFIRM_SHUTDOWN, "windows")),
        ("Shutdown", Route(Kind.DEVBOX_SHUTDOWN)),
        ("SHUTDOWN", Route(Kind.DEVBOX_SHUTDOWN)),
        ("Shutdown Windows", Route(Kind.DEVBOX_SHUTDOWN, "windows")),
        ("Cancel", Route(Kind.CANCEL)),
        ("Today", Route(Kind.FEEDINGS_DAY, "today")),
        ("yesterday", Route(Kind.FEEDINGS_DAY, "yesterday")),
        ("12pm 120ml milk", Route(Kind.FEEDING, "12pm 120ml milk")),
        ("look https://youtu.be/abc?t=1, nice", Route(Kind.VIDEO, "https://youtu.be/abc?t=1")),
        ("/video cat piano", Route(Kind.VIDEO, "ytsearch1:cat piano")),
        ("hello there", Route(Kind.UNKNOWN, "hello there")),
        ("/nope", Route(Kind.UNKNOWN, "/nope")),
        ("", Route(Kind.EMPTY)),
    ],
)
def test_route(text: str, expected: Route) -> None:
    assert route(text) == expected


def test_a_photo_is_a_photo_whatever_its_caption() -> None:
    assert route("https://example.com", has_photo=True) == Route(Kind.PHOTO)
