"""What a Telegram user sees: buttons that work, links in entities, other bots' commands left alone,
group etiquette, ounces, image files, and the webhook's redelivery rules (issue 13)."""

from __future__ import annotations

import datetime
import json
import zoneinfo
from typing import Any

import pytest
from botocore.exceptions import ClientError

from ganger.local.telegram_updates import UpdateBuilder, link_entity
from processors.demo.scenarios import DATA_DIR, serve_directory
from processors.video import chat as video_chat
from tests.functional.processors.conftest import STRANGER, USER, Bot

GROUP = -1001234567890
AFTERNOON = datetime.datetime(2024, 5, 1, 15, 0, tzinfo=zoneinfo.ZoneInfo("Asia/Singapore")).timestamp()


def _tasks(bot: Bot) -> list[dict[str, Any]]:
    return [{**t, "payload": json.loads(t["payload"])} for t in bot.system.scan("sosw_tasks")]


def _thread(record: Any) -> int | None:
    raw = record.params.get("reply_parameters")
    return int(json.loads(raw)["message_id"]) if raw else None


def _devbox(bot: Bot) -> None:
    bot.put_config(
        "devbox_worker_config",
        {"read_environment": False, "users": {str(USER): {"instances": {"default": "i-1", "windows": "i-2"}}}},
    )


# ---- inline buttons ------------------------------------------------------------------------------


def test_pressing_shutdown_answers_the_button_stops_the_box_and_edits_the_question(bot: Bot) -> None:
    _devbox(bot)
    updates = UpdateBuilder()
    bot.send(updates.text("/shutdown windows", chat_id=USER))
    (question,) = bot.sent_to(USER)
    press = updates.callback_query(f"shutdown:{USER}:windows", chat_id=USER, message_id=question.message_id)
    assert bot.send(press) == (200, {"ok": True})

    answered = [r for r in bot.telegram.sent if r.method == "answerCallbackQuery"]
    assert [r.params["callback_query_id"] for r in answered] == [press["callback_query"]["id"]]
    (edited,) = [r for r in bot.sent_to(USER) if r.method == "editMessageText"]
    assert edited.message_id == question.message_id
    assert edited.text == "Stopping instance windows... I will message you when it is stopped."
    (task,) = _tasks(bot)
    assert task["labourer_id"] == "devbox_worker"
    assert (task["payload"]["action"], task["payload"]["code"]) == ("shutdown", "windows")


def test_pressing_cancel_stops_nothing_and_a_stranger_cannot_press(bot: Bot) -> None:
    _devbox(bot)
    updates = UpdateBuilder()
    bot.send(updates.text("/shutdown", chat_id=USER))
    (question,) = bot.sent_to(USER)
    bot.send(updates.callback_query(f"shutdown:{USER}:", chat_id=USER, message_id=question.message_id,
                                    user_id=STRANGER))  # fmt: skip
    bot.send(updates.callback_query(f"cancel:{USER}:", chat_id=USER, message_id=question.message_id))
    edits = [r.text for r in bot.sent_to(USER) if r.method == "editMessageText"]
    assert edits == ["Canceled"]  # the stranger's press got a toast and changed nothing
    assert len([r for r in bot.telegram.sent if r.method == "answerCallbackQuery"]) == 2
    assert _tasks(bot) == []


def test_plain_text_shutdown_still_stops_at_once(bot: Bot) -> None:
    _devbox(bot)
    bot.send(UpdateBuilder().text("Shutdown windows", chat_id=USER))
    assert bot.texts_to(USER) == ["Stopping instance windows... I will message you when it is stopped."]
    assert [t["payload"]["code"] for t in _tasks(bot)] == ["windows"]


# ---- links in entities ---------------------------------------------------------------------------


def test_a_text_link_after_emoji_is_found_by_its_utf16_offset(bot: Bot) -> None:
    text = "🎬🎬 grandma's favourite, watch this one"
    update = UpdateBuilder().text(
        text, chat_id=USER, entities=[link_entity(text, "this one", "https://videos.example.com/v/42")]
    )
    assert update["message"]["entities"][0]["offset"] == len(text[: text.index("this")]) + 2  # two surrogate pairs
    bot.send(update)
    assert bot.texts_to(USER) == ["Your message is being processed... I will send you the video."]
    assert [t["payload"]["url"] for t in _tasks(bot)] == ["https://videos.example.com/v/42"]


def test_a_url_entity_without_a_scheme_is_a_link(bot: Bot) -> None:
    text = "👀 youtu.be/dQw4w9WgXcQ"
    bot.send(UpdateBuilder().text(text, chat_id=USER, entities=[link_entity(text, "youtu.be/dQw4w9WgXcQ")]))
    assert [t["payload"]["url"] for t in _tasks(bot)] == ["https://youtu.be/dQw4w9WgXcQ"]


# ---- other bots, groups, threads -----------------------------------------------------------------


def test_a_command_for_another_bot_is_ignored_and_one_for_this_bot_runs(bot: Bot) -> None:
    _devbox(bot)
    updates = UpdateBuilder()
    assert bot.send(updates.text("/up@other_bot windows", chat_id=GROUP, user_id=USER))[0] == 200
    assert bot.sent_to(GROUP) == [] and _tasks(bot) == []
    asking = updates.text("/up@ganger_local_bot windows", chat_id=GROUP, user_id=USER)
    bot.send(asking)
    (started,) = bot.sent_to(GROUP)
    assert started.text == "Starting instance windows... I will message you when it is running."
    assert _thread(started) == asking["message"]["message_id"]  # threaded under the asking message
    assert [t["payload"]["reply_to"] for t in _tasks(bot)] == [asking["message"]["message_id"]]


def test_strangers_in_a_group_are_ignored_silently_but_told_in_private(bot: Bot) -> None:
    updates = UpdateBuilder()
    bot.send(updates.text("/jobs", chat_id=GROUP, user_id=STRANGER))
    bot.send(updates.text("hello everyone", chat_id=GROUP, user_id=USER))
    assert bot.sent_to(GROUP) == []  # no "Access denied!" to the whole group, no reply to chatter
    bot.send(updates.text("/jobs", chat_id=STRANGER))
    assert bot.texts_to(STRANGER) == ["Access denied!"]


# ---- ounces --------------------------------------------------------------------------------------


def test_a_feeding_in_ounces_is_recorded_in_ml(bot: Bot) -> None:
    bot.send(UpdateBuilder(now=lambda: AFTERNOON).text("bottle 2 oz at 5am", chat_id=USER))
    (reply,) = bot.texts_to(USER)
    assert reply.startswith("Recorded 59 ml (2 oz) bottle at 05:00 on 2024-05-01.")
    (row,) = bot.system.scan("feedings")
    assert (row["amount"], row["category"], row["time"]) == (59, "bottle", "05:00")


# ---- image documents -----------------------------------------------------------------------------


def test_a_photo_sent_as_a_file_is_detected_like_a_photo(bot: Bot) -> None:
    photo = (DATA_DIR / "pedestrians.jpg").read_bytes()
    file_id = bot.telegram.add_file(photo, file_name="street.jpg", mime_type="image/jpeg")
    update = UpdateBuilder().document(
        file_id, chat_id=USER, file_name="street.jpg", mime_type="image/jpeg", file_size=len(photo)
    )
    bot.send(update)
    bot.settle()
    accepted, annotated = bot.sent_to(USER)
    assert accepted.text == "Photo received. Looking for objects in it..."
    assert annotated.method == "sendPhoto" and annotated.caption.startswith("Found: person x")
    assert _thread(annotated) == update["message"]["message_id"]


def test_an_image_file_over_the_limit_is_refused_and_other_files_are_ignored(bot: Bot) -> None:
    updates = UpdateBuilder()
    big = 25 * 1024 * 1024
    bot.send(updates.document("f1", chat_id=USER, file_name="huge.png", mime_type="image/png", file_size=big))
    bot.send(updates.document("f2", chat_id=USER, file_name="notes.pdf", mime_type="application/pdf", file_size=9))
    assert bot.texts_to(USER) == ["That image is too large (25.0 MB); I take images up to 20 MB."]
    assert _tasks(bot) == []


def test_an_unreadable_image_is_answered_at_once(bot: Bot) -> None:
    """The bytes decide, not the MIME type: a file that is not JPEG, PNG or WebP starts no job."""
    file_id = bot.telegram.add_file(b"GIF89a not really", file_name="x.gif", mime_type="image/gif")
    update = UpdateBuilder().document(file_id, chat_id=USER, file_name="x.gif", mime_type="image/gif", file_size=17)
    bot.send(update)
    bot.settle()
    assert bot.texts_to(USER) == ["Sorry, I could not look at that: it is not a JPEG, PNG or WebP image."]
    assert _tasks(bot) == []


def test_an_image_that_does_not_decode_is_answered_in_its_thread(bot: Bot) -> None:
    header = b"\x89PNG\r\n\x1a\n\x00\x00\x00\x0dIHDR" + (10).to_bytes(4, "big") * 2  # 10 x 10, then no image
    file_id = bot.telegram.add_file(header + bytes(40), file_name="x.png")
    update = UpdateBuilder().document(file_id, chat_id=USER, file_name="x.png", mime_type="image/png", file_size=64)
    bot.send(update)
    bot.settle()
    answer = bot.sent_to(USER)[-1]
    assert answer.text == "Sorry, I could not look at that: it is not an image I can read."
    assert _thread(answer) == update["message"]["message_id"]


# ---- redelivery ----------------------------------------------------------------------------------


def test_a_transient_failure_answers_503_and_the_redelivery_is_handled(
    bot: Bot, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = video_chat.schedule_job
    failures = [ClientError({"Error": {"Code": "ThrottlingException"}}, "Invoke")]

    def flaky(*args: Any, **kwargs: Any) -> bool:
        if failures:
            raise failures.pop()
        return real(*args, **kwargs)

    monkeypatch.setattr(video_chat, "schedule_job", flaky)  # the Scheduler throttled once
    update = UpdateBuilder().text("https://videos.example.com/v/7", chat_id=USER)
    assert bot.send(update) == (503, {"ok": False, "retry": "transient failure"})
    assert bot.texts_to(USER) == [] and _tasks(bot) == []

    assert bot.send(update) == (200, {"ok": True})  # Telegram's redelivery
    assert bot.send(update) == (200, {"ok": True, "duplicate": True})
    assert bot.texts_to(USER) == ["Your message is being processed... I will send you the video."]
    assert len(_tasks(bot)) == 1


def test_an_update_whose_lambda_timed_out_is_handled_once_its_lease_expires(bot: Bot) -> None:
    update = UpdateBuilder().text("12pm 120ml milk", chat_id=USER)
    key = {"update_key": {"S": f"4242424242:{update['update_id']}"}}
    now = int(bot.clock())
    # What a Lambda killed mid-way leaves behind: the update claimed, never finished.
    item = {**key, "state": {"S": "handling"}, "lease_until": {"N": str(now + 30)}, "expires_at": {"N": "0"}}
    bot.system.clients.dynamodb.put_item(TableName="ganger_telegram_updates", Item=item)
    assert bot.send(update) == (503, {"ok": False, "retry": "being handled"})  # maybe still running: later
    bot.clock.advance(31)
    assert bot.send(update) == (200, {"ok": True})
    assert bot.texts_to(USER)[0].startswith("Recorded 120 ml milk")
    assert bot.send(update) == (200, {"ok": True, "duplicate": True})
    assert len(bot.texts_to(USER)) == 1


# ---- every job answered --------------------------------------------------------------------------


def test_a_download_that_dies_is_reported_to_the_chat_once(bot: Bot) -> None:
    with serve_directory(DATA_DIR) as site:
        dead_site = site  # the server is gone once the block ends: every attempt fails to connect
    stored = bot.system.config.get("video_worker_config")
    assert stored is not None  # the site is allowed (a loopback address): its connection fails, not the check
    allowed = [dead_site.removeprefix("http://")]
    bot.put_config("video_worker_config", {**stored.value, "allowed_private_destinations": allowed})
    asking = UpdateBuilder().text(f"{dead_site}/clip.mp4", chat_id=USER)
    bot.send(asking)
    for _ in range(6):
        bot.settle()
        bot.clock.advance(3600)
    (closed,) = bot.system.scan("sosw_closed_tasks")
    assert closed["labourer_id_task_status"] == "video_worker_0"  # dead after its retries

    def report() -> dict[str, Any]:
        answer = bot.system.clients.lambda_.invoke(
            FunctionName="telegram_bot", Payload=json.dumps({"action": "report_dead_jobs"}).encode()
        )
        return dict(json.loads(answer["Payload"].read()))

    assert report() == {"reported": 1}
    assert report() == {"reported": 0}
    told = bot.sent_to(USER)[-1]
    assert told.text == (
        f"Sorry, I could not download the video from {dead_site}/clip.mp4: it kept failing (I tried 3 times). "
        "Check the link, or try again later."
    )
    assert _thread(told) == asking["message"]["message_id"]
    assert len([t for t in bot.texts_to(USER) if t.startswith("Sorry")]) == 1
