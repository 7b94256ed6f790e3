"""A link served by a local web server ends as an object in S3 and the video (or a link) in the chat."""

from __future__ import annotations

import json
import logging
import time
import urllib.parse

import pytest

from ganger.local.telegram_updates import UpdateBuilder
from ganger.tasks import STATUS_COMPLETED
from processors.demo.scenarios import DATA_DIR, clip_site
from tests.functional.processors.conftest import TOKEN, USER, Bot

DATA = DATA_DIR  # ../shared/data beside the checkout


def test_a_video_within_the_upload_limit_comes_back_as_a_video_under_the_message(bot: Bot) -> None:
    with clip_site(bot.context(), DATA) as site:
        update = UpdateBuilder().text(f"please get {site}/clip.mp4", chat_id=USER)
        bot.send(update)
        bot.settle()
    accepted, video = bot.sent_to(USER)
    assert accepted.text == "Your message is being processed... I will send you the video."
    assert video.method == "sendVideo" and video.caption == "clip (0.2 MB)"
    assert video.media == (DATA / "clip.mp4").read_bytes()
    assert json.loads(video.params["reply_parameters"])["message_id"] == update["message"]["message_id"]


def test_a_video_over_the_upload_limit_comes_as_a_link(bot: Bot, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO)  # botocore DEBUG prints secret values itself; never run Lambdas at DEBUG
    bot.put_config(
        "video_worker_config",
        {"telegram": {"base_url": bot.telegram.base_url}, "max_megabytes": 5, "max_upload_megabytes": 0.1},
    )
    with clip_site(bot.context(), DATA) as site:
        status, _ = bot.send(UpdateBuilder().text(f"please get {site}/clip.mp4", chat_id=USER))
        assert status == 200
        bot.settle()

    accepted, ready = bot.texts_to(USER)
    assert "sendVideo" not in [r.method for r in bot.sent_to(USER)]
    assert accepted.startswith("Your message is being processed")
    (task,) = bot.system.scan("sosw_closed_tasks")
    assert task["labourer_id_task_status"] == f"video_worker_{STATUS_COMPLETED}"
    key = task["result_key"]
    assert key.startswith(f"videos/{USER}/{task['task_id']}/") and key.endswith(".mp4")
    stored = bot.system.clients.get("s3").get_object(Bucket="ganger-media", Key=key)["Body"].read()
    assert stored == (DATA / "clip.mp4").read_bytes()
    assert ready.startswith("Your video is ready: clip (0.2 MB) (over Telegram's 0.1 MB limit, so here is a link)")
    assert ready.splitlines()[1] == "The link works for 1 hour:"
    link = urllib.parse.urlsplit(ready.splitlines()[-1])
    assert link.path.endswith(key) or urllib.parse.unquote(link.path).endswith(key)
    assert "Signature" in link.query or "X-Amz-Signature" in link.query
    query = urllib.parse.parse_qs(link.query)  # SigV4 says how long, SigV2 until when
    lifetime = int(query["X-Amz-Expires"][0]) if "X-Amz-Expires" in query else int(query["Expires"][0]) - time.time()
    assert 3500 < lifetime <= 3600
    assert "HTTP Request: POST" in caplog.text  # httpx did log its requests...
    assert TOKEN.split(":")[1] not in caplog.text  # ...without the token


def test_a_bad_link_is_told_to_the_user_and_not_retried(bot: Bot) -> None:
    with clip_site(bot.context(), DATA) as site:
        bot.send(UpdateBuilder().text(f"{site}/no-such-video.mp4", chat_id=USER))
        bot.settle(3)
    assert bot.texts_to(USER)[-1].startswith("Sorry, I could not get that video: the site answered 404")
    (task,) = bot.system.scan("sosw_closed_tasks")
    assert task["labourer_id_task_status"] == f"video_worker_{STATUS_COMPLETED}"
    assert task["attempts"] == 1 and task["result_error"] == "the site answered 404"
    assert bot.system.scan("sosw_retry_tasks") == []


def test_a_video_too_large_is_refused(bot: Bot) -> None:
    bot.put_config("video_worker_config", {"telegram": {"base_url": bot.telegram.base_url}, "max_megabytes": 0.1})
    with clip_site(bot.context(), DATA) as site:
        bot.send(UpdateBuilder().text(f"{site}/clip.mp4", chat_id=USER))
        bot.settle()
    assert bot.texts_to(USER)[-1].startswith("Sorry, I could not get that video: the video is")
    listed = bot.system.clients.get("s3").list_objects_v2(Bucket="ganger-media", Prefix="videos/")
    assert listed.get("KeyCount", 0) == 0


def test_jobs_lists_the_chats_jobs_and_their_states(bot: Bot) -> None:
    updates = UpdateBuilder()
    with clip_site(bot.context(), DATA) as site:
        bot.send(updates.text(f"{site}/clip.mp4", chat_id=USER))
        bot.settle()
    bot.send(updates.text("https://videos.example.com/later", chat_id=USER))
    bot.send(updates.text("/jobs", chat_id=USER))
    lines = bot.texts_to(USER)[-1].splitlines()
    assert lines[0] == "Your recent jobs:"
    assert lines[1] == "video https://videos.example.com/later: running", "started as soon as it was asked for"
    assert lines[2].startswith("video http://127.0.0.1:") and lines[2].endswith("/clip.mp4: done")
