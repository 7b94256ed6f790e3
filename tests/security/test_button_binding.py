"""Issue 25, finding 5: inline buttons are bound to the user who asked. In a group, someone else pressing
``[Shutdown]`` or ``[Cancel]`` gets a toast and nothing changes (no job, the question is not edited);
the asker's press works, and its job id comes from the pressed question, not from any user's message."""

from __future__ import annotations

import json
from typing import Any

import pytest

from ganger.local.telegram_updates import UpdateBuilder
from processors.telegram.routes import route_press
from tests.functional.processors.conftest import STRANGER, USER, Bot

GROUP = -1001234567890
FRIEND = 55_555_555  # another allowed user in the group
NOT_YOURS = "Only the person who asked can press these buttons."


@pytest.fixture
def group(bot: Bot) -> Bot:
    stored = bot.system.config.get("telegram_bot_config")
    assert stored is not None
    bot.put_config("telegram_bot_config", {**stored.value, "allowed_users": [USER, FRIEND]})
    users = {str(u): {"instances": {"default": f"i-{u}", "windows": f"i-{u}-w"}} for u in (USER, FRIEND)}
    bot.put_config("devbox_worker_config", {"read_environment": False, "users": users})
    return bot


def _ask(bot: Bot, updates: UpdateBuilder, text: str = "/shutdown windows") -> tuple[Any, dict[str, str]]:
    """The asker's /shutdown in the group; the bot's question and its buttons' data by label."""
    bot.send(updates.text(text, chat_id=GROUP, user_id=USER))
    (question,) = [r for r in bot.sent_to(GROUP) if r.method == "sendMessage"]
    markup = question.reply_markup if isinstance(question.reply_markup, dict) else json.loads(question.reply_markup)
    buttons = {b["text"]: b["callback_data"] for row in markup["inline_keyboard"] for b in row}
    return question, buttons


def _tasks(bot: Bot) -> list[dict[str, Any]]:
    return [{**t, "payload": json.loads(t["payload"])} for t in bot.system.scan("sosw_tasks")]


def _toasts(bot: Bot) -> list[tuple[str, str | None]]:
    return [
        (r.params["callback_query_id"], r.params.get("text"))
        for r in bot.telegram.sent
        if r.method == "answerCallbackQuery"
    ]


def test_the_buttons_carry_the_asker_within_telegrams_64_bytes(group: Bot) -> None:
    _, buttons = _ask(group, UpdateBuilder())
    assert set(buttons) == {"Shutdown Windows", "Cancel"}
    assert all(len(data.encode()) <= 64 for data in buttons.values())
    assert {route_press(data).asker for data in buttons.values()} == {USER}


@pytest.mark.parametrize("presser", [FRIEND, STRANGER], ids=["another-allowed-user", "a-stranger"])
@pytest.mark.parametrize("label", ["Shutdown Windows", "Cancel"])
def test_someone_elses_press_gets_a_toast_and_changes_nothing(group: Bot, presser: int, label: str) -> None:
    updates = UpdateBuilder()
    question, buttons = _ask(group, updates)
    press = updates.callback_query(buttons[label], chat_id=GROUP, message_id=question.message_id, user_id=presser)

    assert group.send(press) == (200, {"ok": True})

    assert _toasts(group) == [(press["callback_query"]["id"], NOT_YOURS)]
    assert [r.method for r in group.sent_to(GROUP)] == ["sendMessage"]  # the question is not edited
    assert _tasks(group) == []  # neither the presser's box nor the asker's


def test_the_askers_press_stops_the_askers_box_under_a_job_id_of_the_question(group: Bot) -> None:
    updates = UpdateBuilder()
    question, buttons = _ask(group, updates)
    other = updates.callback_query(buttons["Shutdown Windows"], chat_id=GROUP, message_id=question.message_id,
                                   user_id=FRIEND)  # fmt: skip
    mine = updates.callback_query(buttons["Shutdown Windows"], chat_id=GROUP, message_id=question.message_id,
                                  user_id=USER)  # fmt: skip
    group.send(other)
    assert group.send(mine) == (200, {"ok": True})

    assert _toasts(group) == [(other["callback_query"]["id"], NOT_YOURS), (mine["callback_query"]["id"], None)]
    (edited,) = [r for r in group.sent_to(GROUP) if r.method == "editMessageText"]
    assert edited.message_id == question.message_id
    assert edited.text == "Stopping instance windows... I will message you when it is stopped."
    (task,) = _tasks(group)
    assert (task["payload"]["action"], task["payload"]["user_id"], task["payload"]["code"]) == (
        "shutdown",
        USER,
        "windows",
    )
    assert task["job_id"] == f"tg-{GROUP}-press-{question.message_id}"


def test_a_button_without_an_asker_is_refused(group: Bot) -> None:
    """Buttons sent before the binding carry ``shutdown:<code>``: nobody's, so nobody may press them."""
    updates = UpdateBuilder()
    question, _ = _ask(group, updates)
    press = updates.callback_query("shutdown:windows", chat_id=GROUP, message_id=question.message_id, user_id=USER)
    group.send(press)
    assert _toasts(group) == [(press["callback_query"]["id"], NOT_YOURS)]
    assert _tasks(group) == []
