"""python-telegram-bot talking to the fake Bot API: sends are recorded, files round-trip."""

from __future__ import annotations

import asyncio
import json
import urllib.request
from collections.abc import Iterator
from typing import Any

import pytest
from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.error import BadRequest, InvalidToken

from ganger.local.telegram_fake import FakeTelegram
from ganger.local.telegram_updates import make_callback_update, make_photo_update, make_text_update

TOKEN = "123456:TEST-token"
PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4


@pytest.fixture
def telegram() -> Iterator[FakeTelegram]:
    fake = FakeTelegram(TOKEN)
    fake.start()
    yield fake
    fake.stop()


def _bot(fake: FakeTelegram, token: str = TOKEN) -> Bot:
    return Bot(token, base_url=fake.base_url, base_file_url=fake.base_file_url)


def _run(coro: Any) -> Any:
    return asyncio.run(coro)


def test_get_me_and_send_message_with_keyboard(telegram: FakeTelegram) -> None:
    keyboard = InlineKeyboardMarkup([[InlineKeyboardButton("Yes", callback_data="yes")]])

    async def scenario() -> Any:
        async with _bot(telegram) as bot:
            return bot.username, await bot.send_message(chat_id=42, text="hello", reply_markup=keyboard)

    username, message = _run(scenario())

    assert username == telegram.bot_username
    assert message.text == "hello" and message.chat.id == 42 and message.from_user.is_bot
    record = telegram.wait_for(lambda r: r.method == "sendMessage")
    assert (record.chat_id, record.text) == (42, "hello")
    assert record.reply_markup == {"inline_keyboard": [[{"text": "Yes", "callback_data": "yes"}]]}


def test_message_ids_increase(telegram: FakeTelegram) -> None:
    async def scenario() -> list[int]:
        async with _bot(telegram) as bot:
            return [(await bot.send_message(chat_id=1, text=str(i))).message_id for i in range(3)]

    ids = _run(scenario())

    assert ids == sorted(ids) and len(set(ids)) == 3


def test_send_photo_upload_then_by_file_id_then_by_url(telegram: FakeTelegram) -> None:
    async def scenario() -> Any:
        async with _bot(telegram) as bot:
            uploaded = await bot.send_photo(chat_id=7, photo=PNG, caption="a chart")
            file_id = uploaded.photo[-1].file_id
            again = await bot.send_photo(chat_id=7, photo=file_id)
            by_url = await bot.send_photo(chat_id=7, photo="https://example.com/cat.jpg")
            return uploaded, again, by_url

    uploaded, again, by_url = _run(scenario())

    records = [r for r in telegram.sent if r.method == "sendPhoto"]
    assert [r.media_size for r in records] == [len(PNG), None, None]
    assert records[0].media == PNG and records[0].caption == "a chart"
    assert records[1].media_ref == uploaded.photo[-1].file_id
    assert records[2].media_ref == "https://example.com/cat.jpg"
    assert uploaded.caption == "a chart" and again.photo[-1].file_id == uploaded.photo[-1].file_id
    assert by_url.photo


def test_send_document_and_video_and_chat_action(telegram: FakeTelegram) -> None:
    async def scenario() -> Any:
        async with _bot(telegram) as bot:
            await bot.send_chat_action(chat_id=5, action="upload_document")
            document = await bot.send_document(chat_id=5, document=b"report", filename="report.csv")
            video = await bot.send_video(chat_id=5, video=b"\x00\x01video")
            return document, video

    document, video = _run(scenario())

    assert document.document.file_name == "report.csv" and document.document.file_size == 6
    assert video.video.file_size == 7
    assert [r.method for r in telegram.sent] == ["sendChatAction", "sendDocument", "sendVideo"]
    assert telegram.sent[0].text == "upload_document"


def test_bot_downloads_a_photo_the_user_sent(telegram: FakeTelegram) -> None:
    spec = telegram.add_photo(PNG, width=800, height=600)
    message = Update.de_json(make_photo_update(spec, chat_id=99, caption="look"), None).message
    assert message is not None

    async def scenario() -> bytes:
        async with _bot(telegram) as bot:
            photo_file = await bot.get_file(message.photo[-1].file_id)
            return bytes(await photo_file.download_as_bytearray())

    assert message.caption == "look" and message.photo[-1].width == 800
    assert _run(scenario()) == PNG


def test_edit_message_text_and_answer_callback_query(telegram: FakeTelegram) -> None:
    query = Update.de_json(make_callback_update("yes", chat_id=3, message_id=10), None).callback_query
    assert query is not None and query.data == "yes"

    async def scenario() -> Any:
        async with _bot(telegram) as bot:
            answered = await bot.answer_callback_query(query.id, text="ok")
            edited = await bot.edit_message_text("Done", chat_id=3, message_id=10)
            return answered, edited

    answered, edited = _run(scenario())

    assert answered is True
    assert edited.text == "Done" and edited.message_id == 10
    assert [r.method for r in telegram.sent] == ["answerCallbackQuery", "editMessageText"]


def test_wrong_token_is_unauthorized(telegram: FakeTelegram) -> None:
    async def scenario() -> None:
        async with _bot(telegram, token="999:wrong"):
            pass

    with pytest.raises(InvalidToken):
        _run(scenario())
    assert telegram.sent == []


def test_unknown_file_id_is_a_bad_request(telegram: FakeTelegram) -> None:
    async def scenario() -> None:
        async with _bot(telegram) as bot:
            await bot.send_photo(chat_id=1, photo="not-a-file-id")

    with pytest.raises(BadRequest, match=r"(?i)wrong file identifier"):
        _run(scenario())


def test_webhook_set_get_delete(telegram: FakeTelegram) -> None:
    async def scenario() -> Any:
        async with _bot(telegram) as bot:
            await bot.set_webhook("http://127.0.0.1:1/hook", secret_token="s3cret")
            info = await bot.get_webhook_info()
            await bot.delete_webhook()
            return info, await bot.get_webhook_info()

    info, after = _run(scenario())

    assert info.url == "http://127.0.0.1:1/hook"
    assert after.url == ""
    assert telegram.webhook.url == ""


def test_get_updates_serves_pushed_updates_and_honours_offset(telegram: FakeTelegram) -> None:
    first = make_text_update("/start", chat_id=11)
    second = make_text_update("hi", chat_id=11)
    telegram.push_update(first)
    telegram.push_update(second)

    async def scenario() -> Any:
        async with _bot(telegram) as bot:
            batch = await bot.get_updates(timeout=1)
            confirmed = await bot.get_updates(offset=batch[-1].update_id + 1, timeout=0)
            return batch, confirmed

    batch, confirmed = _run(scenario())

    assert [u.message.text for u in batch] == ["/start", "hi"]
    assert batch[0].message.entities[0].type == "bot_command"
    assert confirmed == ()
    assert telegram.pending_updates() == 0


def test_get_updates_conflicts_with_an_active_webhook(telegram: FakeTelegram) -> None:
    telegram.push_update(make_text_update("hi", chat_id=1))
    url = f"{telegram.base_url}{TOKEN}"
    urllib.request.urlopen(f"{url}/setWebhook?url=http://127.0.0.1:1/hook", timeout=5).read()

    request = urllib.request.Request(f"{url}/getUpdates", method="POST")
    with pytest.raises(urllib.error.HTTPError) as caught:
        urllib.request.urlopen(request, timeout=5)

    assert caught.value.code == 409
    assert json.loads(caught.value.read())["ok"] is False
