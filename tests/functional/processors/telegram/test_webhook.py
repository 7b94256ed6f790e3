"""The webhook's guarantees: the secret, dedupe, allowed users, always 200, the confirmation keyboard."""

from __future__ import annotations

import json
from pathlib import Path

from ganger.local.telegram_updates import UpdateBuilder
from processors.telegram.webhook import TelegramBot
from tests.functional.processors.conftest import STRANGER, USER, Bot

EXAMPLES = Path(__file__).resolve().parents[4] / "examples" / "telegram"


def example(name: str) -> dict:
    return json.loads((EXAMPLES / name).read_text())


def test_a_wrong_or_missing_secret_is_403_and_nothing_happens(bot: Bot) -> None:
    update = example("text_message.json")
    assert bot.send(update, secret="not-the-secret")[0] == 403
    assert bot.send(update, secret=None)[0] == 403
    assert bot.telegram.sent == []
    assert bot.system.scan("feedings") == []
    assert bot.system.scan("ganger_telegram_updates") == []


def test_an_unknown_user_is_refused_and_gets_no_job(bot: Bot) -> None:
    status, _ = bot.send(example("unknown_user.json"))
    assert status == 200
    assert bot.texts_to(STRANGER) == ["Access denied!"]
    assert bot.system.scan("sosw_tasks") == []
    assert bot.system.scan("ganger_chat_jobs") == []


def test_start_needs_no_access_and_explains_the_bot(bot: Bot) -> None:
    bot.send(UpdateBuilder().text("/start", chat_id=STRANGER))
    (reply,) = bot.texts_to(STRANGER)
    assert "/up" in reply and "photo" in reply and "/jobs" in reply


def test_a_redelivered_update_schedules_nothing_new(bot: Bot) -> None:
    update = UpdateBuilder().text("https://videos.example.com/watch?v=1", chat_id=USER)
    first = bot.send(update)
    second = bot.send(update)
    assert first == (200, {"ok": True})
    assert second == (200, {"ok": True, "duplicate": True})
    assert len(bot.system.scan("sosw_tasks")) == 1
    assert bot.texts_to(USER) == ["Your message is being processed... I will send you the video."]

    # Even when the dedupe record is gone (TTL), the job id derived from the message dedupes.
    bot.system.clients.dynamodb.delete_item(
        TableName="ganger_telegram_updates", Key={"update_key": {"S": f"4242424242:{update['update_id']}"}}
    )
    assert bot.send(update)[0] == 200
    assert len(bot.system.scan("sosw_tasks")) == 1


def test_unusable_updates_still_get_200(bot: Bot) -> None:
    assert bot.send({"update_id": 5, "edited_message": example("edited_message.json")["edited_message"]})[0] == 200
    assert bot.send({"no": "update"})[0] == 200
    assert bot.send(UpdateBuilder().text("what is this?", chat_id=USER))[0] == 200
    assert bot.texts_to(USER)[-1].startswith("Sorry, I did not understand that.")


def test_an_internal_failure_is_answered_politely_with_200(bot: Bot) -> None:
    bot.put_config(
        "telegram_bot_config",
        {
            "telegram": {"base_url": bot.telegram.base_url, "base_file_url": bot.telegram.base_file_url},
            "allowed_users": [USER],
            "scheduler_function": "no_such_function",
        },
    )
    status, _ = bot.send(UpdateBuilder().text("https://videos.example.com/v/2", chat_id=USER))
    assert status == 200
    assert bot.texts_to(USER) == ["Something went wrong, please try again..."]


def test_shutdown_asks_with_inline_buttons_and_cancel_stops_nothing(bot: Bot) -> None:
    bot.put_config(
        "devbox_worker_config",
        {"read_environment": False, "users": {str(USER): {"instances": {"default": "i-1", "windows": "i-2"}}}},
    )
    updates = UpdateBuilder()
    bot.send(updates.text("/shutdown_windows", chat_id=USER))
    bot.send(updates.text("Cancel", chat_id=USER))
    bot.send(updates.text("/up_mac", chat_id=USER))
    question, canceled, wrong_code = bot.sent_to(USER)
    assert question.text == "Stop instance windows? Are you sure?"
    assert question.reply_markup["inline_keyboard"] == [
        [
            {"text": "Shutdown Windows", "callback_data": f"shutdown:{USER}:windows"},  # bound to the asker
            {"text": "Cancel", "callback_data": f"cancel:{USER}:"},
        ]
    ]
    assert (canceled.text, canceled.reply_markup) == ("Canceled", {"remove_keyboard": True})
    assert wrong_code.text == "You have no instance 'mac'. Your instances: (default), windows."
    assert bot.system.scan("sosw_tasks") == []


def test_without_its_token_the_bot_answers_503_so_telegram_redelivers(bot: Bot) -> None:
    secrets = bot.system.clients.get("secretsmanager")
    value = secrets.get_secret_value(SecretId="ganger/telegram-bot")["SecretString"]
    secrets.delete_secret(SecretId="ganger/telegram-bot", ForceDeleteWithoutRecovery=True)
    bot.system.register_worker("telegram_bot", TelegramBot(clients=bot.system.clients))  # a cold start
    update = UpdateBuilder().text("12pm 120ml milk", chat_id=USER)
    assert bot.send(update) == (503, {"ok": False, "retry": "credentials unavailable"})
    assert bot.telegram.sent == []
    assert bot.system.scan("ganger_telegram_updates") == []

    secrets.create_secret(Name="ganger/telegram-bot", SecretString=value)  # the outage ends: the redelivery works
    assert bot.send(update) == (200, {"ok": True})
    assert bot.texts_to(USER)[0].startswith("Recorded 120 ml milk at 12:00")
