"""The long-polling bridge, against the fake Bot API and a local webhook receiver."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest

from ganger.local.http_server import BackgroundHttpServer, HttpRequest, HttpResponse
from ganger.local.telegram_fake import FakeTelegram
from ganger.local.telegram_poller import SECRET_HEADER, TelegramPoller
from ganger.local.telegram_updates import make_text_update

TOKEN = "4242:poller-token"


class Receiver:
    """A webhook that records updates; fails the first ``failures`` requests with 500."""

    def __init__(self, failures: int = 0) -> None:
        self.updates: list[dict[str, Any]] = []
        self.secrets: list[str | None] = []
        self.failures = failures
        self.calls = 0
        self.lock = threading.Lock()
        self.server = BackgroundHttpServer(self.handle, name="receiver")

    def handle(self, request: HttpRequest) -> HttpResponse:
        with self.lock:
            self.calls += 1
            if self.calls <= self.failures:
                return HttpResponse(500)
            self.updates.append(json.loads(request.body))
            self.secrets.append(request.header(SECRET_HEADER))
        return HttpResponse(200)

    def wait(self, count: int, timeout: float = 5) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self.lock:
                if len(self.updates) >= count:
                    return True
            time.sleep(0.02)
        return False


@pytest.fixture
def telegram() -> Iterator[FakeTelegram]:
    fake = FakeTelegram(TOKEN)
    fake.start()
    yield fake
    fake.stop()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    hook = Receiver()
    hook.server.start()
    yield hook
    hook.server.stop()


def _poller(telegram: FakeTelegram, receiver: Receiver, **kwargs: Any) -> TelegramPoller:
    return TelegramPoller(
        TOKEN,
        f"{receiver.server.url}/telegram",
        secret_token="s3cret",
        base_url=telegram.api_root,
        retry_delay=0.05,
        **kwargs,
    )


def test_updates_are_forwarded_in_order_with_the_secret_header(telegram: FakeTelegram, receiver: Receiver) -> None:
    sent = [make_text_update(text, chat_id=8) for text in ("/start", "one", "two")]
    for update in sent:
        telegram.push_update(update)
    poller = _poller(telegram, receiver, poll_timeout=1)

    poller.start()
    assert receiver.wait(3)
    poller.stop()

    assert [u["update_id"] for u in receiver.updates] == [u["update_id"] for u in sent]
    assert receiver.secrets == ["s3cret"] * 3
    assert poller.forwarded == 3
    assert telegram.pending_updates() == 0  # confirmed on stop


def test_start_deletes_the_webhook_so_get_updates_works(telegram: FakeTelegram, receiver: Receiver) -> None:
    telegram.handle(HttpRequest("POST", f"/bot{TOKEN}/setWebhook?url=https://example.com/hook", (), b""))
    telegram.push_update(make_text_update("hello", chat_id=8))
    poller = _poller(telegram, receiver, poll_timeout=1)

    poller.start()
    assert receiver.wait(1)
    poller.stop()

    assert telegram.webhook.url == ""
    assert receiver.updates[0]["message"]["text"] == "hello"


def test_failed_forward_is_retried(telegram: FakeTelegram) -> None:
    hook = Receiver(failures=2)
    hook.server.start()
    try:
        telegram.push_update(make_text_update("retry me", chat_id=8))
        poller = _poller(telegram, hook, poll_timeout=1)
        poller.start()
        assert hook.wait(1)
        poller.stop()
    finally:
        hook.server.stop()

    assert hook.calls == 3
    assert hook.updates[0]["message"]["text"] == "retry me"
    assert (poller.forwarded, poller.failed) == (1, 0)


def test_stop_interrupts_a_long_poll_promptly(telegram: FakeTelegram, receiver: Receiver) -> None:
    poller = _poller(telegram, receiver, poll_timeout=25)
    poller.start()
    time.sleep(0.2)  # the poller is now waiting inside getUpdates

    started = time.monotonic()
    poller.stop()

    assert time.monotonic() - started < 2
    assert not any(t.name == "ganger-telegram-poller" for t in threading.enumerate())
