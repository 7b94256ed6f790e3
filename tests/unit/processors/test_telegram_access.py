from __future__ import annotations

import json

import pytest

from ganger.telegram import (
    Keyboard,
    derive_webhook_secret,
    header,
    parse_credentials,
    parse_update,
    scrub,
    secret_matches,
)


def test_header_names_are_case_insensitive() -> None:
    headers = {"x-telegram-bot-api-secret-token": "s3cret", "Content-Type": "application/json"}
    assert header(headers, "X-Telegram-Bot-Api-Secret-Token") == "s3cret"
    assert secret_matches(headers, "s3cret")


@pytest.mark.parametrize("headers", [{}, None, {"X-Telegram-Bot-Api-Secret-Token": "wrong"}])
def test_missing_or_wrong_secret_fails(headers: dict[str, str] | None) -> None:
    assert not secret_matches(headers, "s3cret")


def test_an_unset_secret_never_matches() -> None:
    assert not secret_matches({"X-Telegram-Bot-Api-Secret-Token": ""}, "")


def test_credentials_from_a_plain_token_derive_the_webhook_secret() -> None:
    credentials = parse_credentials("123:ABC")
    assert credentials.token == "123:ABC"
    assert credentials.webhook_secret == derive_webhook_secret("123:ABC")
    assert "ABC" not in repr(credentials)


def test_credentials_from_json() -> None:
    credentials = parse_credentials(json.dumps({"token": "1:x", "webhook_secret": "hook"}))
    assert (credentials.token, credentials.webhook_secret) == ("1:x", "hook")


def test_scrub_masks_the_token() -> None:
    assert scrub("POST https://api/bot1:x/sendMessage failed", "1:x") == "POST https://api/bot***/sendMessage failed"


def test_parse_update_reads_a_real_update() -> None:
    with open("examples/telegram/text_message.json", encoding="utf-8") as f:
        update = parse_update(json.load(f))
    assert update.message is not None and update.message.text == "12pm 120ml milk"


@pytest.mark.parametrize("body", [{}, {"update_id": "x"}, []])
def test_parse_update_rejects_what_is_not_an_update(body: object) -> None:
    with pytest.raises(ValueError):
        parse_update(body)  # type: ignore[arg-type]


def test_keyboards() -> None:
    assert Keyboard((("Shutdown", "Cancel"),)).markup().to_dict()["keyboard"] == [
        [{"text": "Shutdown"}, {"text": "Cancel"}]
    ]
    assert Keyboard(remove=True).markup().to_dict() == {"remove_keyboard": True}


def test_tokens_in_httpx_log_lines_are_masked(caplog: pytest.LogCaptureFixture) -> None:
    import logging

    with caplog.at_level(logging.INFO, logger="httpx"):
        logging.getLogger("httpx").info('HTTP Request: %s %s "%s"', "POST", "http://t/bot12:AbC-d_e/sendMessage", "200")
    assert caplog.messages == ['HTTP Request: POST http://t/bot***/sendMessage "200"']
