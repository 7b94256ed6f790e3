"""A failure after the update was handled never makes the webhook answer 5xx (Telegram would redeliver it).

``Shutdown``, ``Shutdown windows`` and ``Cancel`` answer with ``ReplyKeyboardRemove``. The fake Bot API used
to echo that ``reply_markup`` in the message it returned (Telegram returns one only for inline keyboards),
python-telegram-bot failed to read it, and the webhook answered 500 for an update it had already handled.
"""

from __future__ import annotations

import json
import urllib.request
from typing import Any

import pytest

from ganger.local.telegram_updates import UpdateBuilder
from processors.telegram.webhook import TelegramBot
from tests.functional.processors.conftest import TOKEN, USER, Bot

BOXES = {"read_environment": False, "users": {str(USER): {"instances": {"default": "i-1", "windows": "i-2"}}}}


def bot_api(bot: Bot, method: str, **params: Any) -> dict[str, Any]:
    """One Bot API call to the fake, as python-telegram-bot makes it (JSON)."""
    request = urllib.request.Request(
        f"{bot.telegram.base_url}{TOKEN}/{method}",
        data=json.dumps(params).encode(),
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        answer: dict[str, Any] = json.loads(response.read())
    return answer


@pytest.mark.parametrize(
    ("text", "reply"),
    [
        ("Shutdown", "Stopping your instance... I will message you when it is stopped."),
        ("Shutdown windows", "Stopping instance windows... I will message you when it is stopped."),
        ("Cancel", "Canceled"),
    ],
)
def test_a_reply_that_removes_the_keyboard_is_answered_200(bot: Bot, text: str, reply: str) -> None:
    bot.put_config("devbox_worker_config", BOXES)
    status, body = bot.send(UpdateBuilder().text(text, chat_id=USER))
    assert (status, body) == (200, {"ok": True})
    (sent,) = bot.sent_to(USER)
    assert (sent.text, sent.reply_markup) == (reply, {"remove_keyboard": True})


def test_the_fake_bot_api_returns_reply_markup_only_for_inline_keyboards(bot: Bot) -> None:
    inline = {"inline_keyboard": [[{"text": "Cancel", "callback_data": "cancel"}]]}
    for markup in ({"remove_keyboard": True}, {"keyboard": [[{"text": "Shutdown"}]], "resize_keyboard": True}):
        message = bot_api(bot, "sendMessage", chat_id=USER, text="hi", reply_markup=markup)["result"]
        assert "reply_markup" not in message
        edited = bot_api(bot, "editMessageText", chat_id=USER, message_id=message["message_id"], text="x")
        assert "reply_markup" not in edited["result"]
    message = bot_api(bot, "sendMessage", chat_id=USER, text="sure?", reply_markup=inline)["result"]
    assert message["reply_markup"] == inline
    # what the fake recorded (what `ganger chat` shows) keeps every keyboard
    recorded = [r.reply_markup for r in bot.sent_to(USER) if r.method == "sendMessage"]
    assert recorded == [
        {"remove_keyboard": True},
        {"keyboard": [[{"text": "Shutdown"}]], "resize_keyboard": True},
        inline,
    ]


def test_an_unexpected_failure_after_handling_is_counted_not_redelivered(
    bot: Bot, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """Any error while replying (not only a Telegram failure) comes after the work: 200, logged and counted."""
    bot.put_config("devbox_worker_config", BOXES)
    webhook = TelegramBot(clients=bot.system.clients, clock=bot.clock)
    bot.system.register_worker("telegram_bot", webhook)

    def broken_reply(*args: Any, **kwargs: Any) -> Any:
        raise KeyError("inline_keyboard")  # what python-telegram-bot raised on the echoed markup

    monkeypatch.setattr("ganger.telegram.TelegramApi.send_message", broken_reply)
    status, body = bot.send(UpdateBuilder().text("Shutdown", chat_id=USER))
    assert (status, body) == (200, {"ok": True})
    assert webhook.stats["errors_after_handling"] == 1
    assert len(bot.system.scan("sosw_tasks")) == 1  # the work was done once, and will not be redone
    logged = [r for r in caplog.records if "after the update was handled" in r.getMessage()]
    assert logged and TOKEN.split(":")[1] not in caplog.text
