"""The bot token never reaches a log; a stranger can start no job.

Templates (no wildcard action, Resource "*" only where AWS cannot scope) and the absence of secrets in
config/ and yaml/ are checked by tests/unit/deploy/test_templates.py; not repeated here.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

import pytest

from ganger.local.telegram_updates import PhotoSpec, UpdateBuilder
from processors.telegram.webhook import ACCESS_DENIED
from tests.corpus.conftest import World
from tests.functional.processors.conftest import STRANGER, TOKEN, USER, WEBHOOK_SECRET

BUILD = UpdateBuilder(first_update_id=9_500_000, first_message_id=90_000)
TOKEN_SECRET_PART = TOKEN.split(":", 1)[1]


class LogWatch:
    """Everything logged (every logger, the root at DEBUG) and printed during a test's call.

    The check runs in the test's body: at teardown ``caplog.text`` holds the teardown phase's records
    (none), so a check there passes whatever the call logged.
    """

    def __init__(self, caplog: pytest.LogCaptureFixture, capfd: pytest.CaptureFixture[str]) -> None:
        self.caplog = caplog
        self.capfd = capfd

    @property
    def records(self) -> list[logging.LogRecord]:
        return self.caplog.get_records("call")

    def assert_no_secret(self) -> None:
        formatter = logging.Formatter("%(name)s %(levelname)s %(message)s")
        logged = "\n".join(formatter.format(record) for record in self.records)
        out, err = self.capfd.readouterr()
        assert self.records, "nothing was logged during the call: the check would prove nothing"
        for where, text in (("log records", logged), ("stdout", out), ("stderr", err)):
            assert TOKEN_SECRET_PART not in text, f"the bot token leaked into {where}"
            assert WEBHOOK_SECRET not in text, f"the webhook secret leaked into {where}"


@pytest.fixture
def all_logs(caplog: pytest.LogCaptureFixture, capfd: pytest.CaptureFixture[str]) -> Iterator[LogWatch]:
    caplog.set_level(logging.DEBUG)
    yield LogWatch(caplog, capfd)


@pytest.fixture
def fresh_credentials(world: World) -> Iterator[None]:
    """The bot reads its secret on every update, so the read (which botocore logs at DEBUG) is in the call."""
    previous = world.system.config.get("telegram_bot_config")
    assert previous is not None
    telegram = {**previous.value.get("telegram", {}), "cache_seconds": 0}
    world.system.config.put("telegram_bot_config", {**previous.value, "telegram": telegram})
    yield
    world.system.config.put("telegram_bot_config", previous.value)


@pytest.fixture
def telegram_unreachable(world: World) -> Iterator[None]:
    previous = world.system.config.get("telegram_bot_config")
    assert previous is not None
    unreachable = {"base_url": "http://127.0.0.1:1/bot", "base_file_url": "http://127.0.0.1:1/file/bot"}
    world.system.config.put("telegram_bot_config", {**previous.value, "telegram": unreachable})
    yield
    world.system.config.put("telegram_bot_config", previous.value)


def photo_update(world: World, file_id: str | None = None) -> dict[str, Any]:
    spec = world.telegram.add_photo(b"\xff\xd8 not really a jpeg", width=10, height=10)
    if file_id is not None:
        spec = PhotoSpec(file_id=file_id, width=10, height=10, file_size=20)
    return BUILD.photo([spec], chat_id=USER)


TOKEN_PATHS = [
    ("help-reply", lambda w: BUILD.text("/help", chat_id=USER)),
    ("jobs-reply", lambda w: BUILD.text("/jobs", chat_id=USER)),
    ("stranger-refused", lambda w: BUILD.text("/up", chat_id=STRANGER)),
    ("token-in-the-message", lambda w: BUILD.text(f"my token is {TOKEN}", chat_id=USER)),
    ("token-as-a-link", lambda w: BUILD.text(f"https://api.telegram.org/bot{TOKEN}/getMe", chat_id=USER)),
    ("unknown-file", lambda w: photo_update(w, file_id="no-such-file")),
    ("photo-download", lambda w: photo_update(w)),
]


@pytest.mark.parametrize("make", [c[1] for c in TOKEN_PATHS], ids=[c[0] for c in TOKEN_PATHS])
def test_the_token_never_appears_in_logs(world: World, fresh_credentials: None, all_logs: LogWatch, make: Any) -> None:
    status, _ = world.webhook(make(world))
    assert status == 200
    assert any("/bot" in r.getMessage() or "sendMessage" in r.getMessage() or r.levelno >= logging.INFO
               for r in all_logs.records), "the paths under test did log something"  # fmt: skip
    all_logs.assert_no_secret()


def test_the_token_stays_out_of_logs_when_telegram_is_unreachable(
    world: World, telegram_unreachable: None, fresh_credentials: None, all_logs: LogWatch
) -> None:
    status, _ = world.webhook(BUILD.text("/help", chat_id=USER))
    assert status == 200
    assert any("reply to chat" in r.getMessage() for r in all_logs.records), "the failed reply was logged"
    all_logs.assert_no_secret()


def test_the_token_stays_out_of_logs_on_a_bad_secret_or_body(world: World, all_logs: LogWatch) -> None:
    assert world.webhook(BUILD.text("/help", chat_id=USER), secret=TOKEN)[0] == 403
    assert world.webhook(f'{{"update_id": "{TOKEN}"}}', raw=True)[0] == 200
    all_logs.assert_no_secret()


STRANGER_MESSAGES = [
    "https://www.youtube.com/watch?v=dQw4w9WgXcQ",
    "/video cats",
    "/up",
    "/up_windows",
    "/status",
    "/shutdown",
    "Shutdown",
    "/jobs",
    "12pm 120ml milk",
    "today",
]


@pytest.mark.parametrize("text", STRANGER_MESSAGES)
def test_an_unknown_user_triggers_no_job(world: World, unchanged: Any, text: str) -> None:
    scheduled = world.system.lam.invocations["sosw_scheduler"]
    status, _ = world.webhook(BUILD.text(text, chat_id=STRANGER))
    assert status == 200
    assert world.system.lam.invocations["sosw_scheduler"] == scheduled
    replies = [r.text for r in world.telegram.sent if str(r.chat_id) == str(STRANGER)]
    assert replies[-1] == ACCESS_DENIED


def test_an_unknown_user_sending_a_photo_triggers_no_job_and_no_download(world: World, unchanged: Any) -> None:
    scheduled = world.system.lam.invocations["sosw_scheduler"]
    spec = world.telegram.add_photo(b"\xff\xd8 photo", width=10, height=10)
    status, _ = world.webhook(BUILD.photo([spec], chat_id=STRANGER))
    assert status == 200
    assert world.system.lam.invocations["sosw_scheduler"] == scheduled
    stored = world.system.clients.get("s3").list_objects_v2(Bucket="ganger-media", Prefix=f"photos/{STRANGER}/")
    assert stored.get("KeyCount", 0) == 0, "a stranger's photo was downloaded and stored"
