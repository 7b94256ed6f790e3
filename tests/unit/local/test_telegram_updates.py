"""Incoming update builders and request parameter parsing for the fake Bot API."""

from __future__ import annotations

import httpx

from ganger.local.form_data import parse_form
from ganger.local.http_server import HttpRequest
from ganger.local.telegram_updates import (
    PhotoSpec,
    UpdateBuilder,
    make_photo_update,
    make_text_update,
    utf16_length,
)


def test_update_ids_are_unique_and_increasing() -> None:
    ids = [make_text_update("hi", chat_id=1)["update_id"] for _ in range(5)]

    assert ids == sorted(ids) and len(set(ids)) == 5


def test_commands_get_a_bot_command_entity() -> None:
    update = UpdateBuilder(now=lambda: 1_900_000_000).text("/start ref-42", chat_id=5, user_id=6, username="ann")

    message = update["message"]
    assert message["entities"] == [{"type": "bot_command", "offset": 0, "length": 6}]
    assert (message["chat"]["id"], message["from"]["id"], message["from"]["username"]) == (5, 6, "ann")
    assert message["date"] == 1_900_000_000
    assert "entities" not in make_text_update("plain", chat_id=5)["message"]


def test_photo_update_lists_sizes_with_file_details() -> None:
    update = make_photo_update(PhotoSpec("AgAC1", 800, 600, 12345), chat_id=-100, caption="hello")

    photo = update["message"]["photo"][0]
    assert (photo["file_id"], photo["width"], photo["height"], photo["file_size"]) == (
        "AgAC1",
        800,
        600,
        12345,
    )
    assert photo["file_unique_id"]
    assert update["message"]["caption"] == "hello"
    assert update["message"]["chat"]["type"] == "supergroup"


def test_entity_lengths_count_utf16_units() -> None:
    assert utf16_length("/start") == 6
    assert utf16_length("😀") == 2


def _request(**kwargs: object) -> HttpRequest:
    built = httpx.Request("POST", "http://127.0.0.1/bot1:t/sendPhoto?chat_id=1", **kwargs)  # type: ignore[arg-type]
    return HttpRequest("POST", "/bot1:t/sendPhoto?chat_id=1", tuple(built.headers.items()), built.read())


def test_form_parsing_handles_urlencoded_json_and_multipart() -> None:
    urlencoded = parse_form(_request(data={"text": "héllo"}))
    as_json = parse_form(_request(json={"text": "x", "reply_markup": {"k": 1}}))
    multipart = parse_form(_request(data={"caption": "c"}, files={"photo": ("p.jpg", b"\x00\xff\r\n", "image/jpeg")}))

    assert urlencoded.fields == {"chat_id": "1", "text": "héllo"}
    assert as_json.fields["reply_markup"] == '{"k": 1}'
    assert multipart.fields == {"chat_id": "1", "caption": "c"}
    upload = multipart.files["photo"]
    assert (upload.filename, upload.content_type, upload.data) == ("p.jpg", "image/jpeg", b"\x00\xff\r\n")
