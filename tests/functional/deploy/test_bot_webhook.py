"""`ganger bot set-webhook` against the fake Bot API, with the token in (moto's) Secrets Manager."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from urllib.parse import parse_qs

import pytest

from ganger.cli.main import main
from ganger.local.http_server import HttpRequest, HttpResponse
from ganger.local.moto_server import EmbeddedAws
from ganger.local.telegram_fake import FakeTelegram
from ganger.telegram import derive_webhook_secret

TOKEN = "123456:test-token-not-real"


class RecordingTelegram(FakeTelegram):
    """The fake, also keeping each request body (it records setWebhook's URL only)."""

    def __init__(self, token: str) -> None:
        super().__init__(token)
        self.bodies: list[bytes] = []

    def handle(self, request: HttpRequest) -> HttpResponse:
        self.bodies.append(request.body)
        return super().handle(request)


@pytest.fixture
def telegram() -> Iterator[RecordingTelegram]:
    fake = RecordingTelegram(TOKEN)
    fake.start()
    yield fake
    fake.stop()


def set_webhook(aws: EmbeddedAws, telegram: FakeTelegram, *extra: str) -> int:
    return main(["bot", "set-webhook", "--endpoint-url", aws.endpoint_url, "--telegram-url", telegram.base_url, *extra])


def test_registers_the_url_with_the_secret_the_lambda_checks(
    aws: EmbeddedAws, telegram: RecordingTelegram, capsys: pytest.CaptureFixture[str]
) -> None:
    aws.client("secretsmanager").create_secret(Name="ganger/telegram-bot", SecretString=TOKEN)

    assert set_webhook(aws, telegram, "https://example.test/prod/webhook") == 0

    out = capsys.readouterr().out
    request = next(b for b in telegram.bodies if b"example.test" in b)
    assert telegram.webhook.url == "https://example.test/prod/webhook"
    assert telegram.webhook.secret_token == derive_webhook_secret(TOKEN)
    assert json.loads(parse_qs(request.decode())["allowed_updates"][0]) == [
        "message",
        "callback_query",
    ]  # the inline buttons need callback queries
    assert "webhook set: https://example.test/prod/webhook" in out
    assert TOKEN not in out


def test_the_token_reaches_no_output_even_at_debug(
    aws: EmbeddedAws, telegram: RecordingTelegram, caplog: pytest.LogCaptureFixture, capsys: pytest.CaptureFixture[str]
) -> None:
    """`ganger -vv bot set-webhook` logs botocore's response bodies and python-telegram-bot's Bot API URL."""
    secret = json.dumps({"token": TOKEN, "webhook_secret": "s3cr3t-value-of-the-webhook"})
    aws.client("secretsmanager").create_secret(Name="ganger/telegram-bot", SecretString=secret)
    caplog.set_level(logging.DEBUG)

    assert main(["-vv", "bot", "set-webhook", "--endpoint-url", aws.endpoint_url, "--telegram-url",
                 telegram.base_url, "https://example.test/prod/webhook"]) == 0  # fmt: skip

    logged = "\n".join(record.getMessage() for record in caplog.records)  # the records of this call
    out, err = capsys.readouterr()
    assert "GetSecretValue" in logged and "setWebhook" in logged  # the calls that could leak were logged
    for text in (logged, out, err):
        assert TOKEN.split(":")[1] not in text
        assert "s3cr3t-value-of-the-webhook" not in text


def test_the_secret_from_a_json_secret_is_used(aws: EmbeddedAws, telegram: RecordingTelegram) -> None:
    secret = json.dumps({"token": TOKEN, "webhook_secret": "s3cr3t-value"})
    aws.client("secretsmanager").create_secret(Name="bots/mine", SecretString=secret)

    assert set_webhook(aws, telegram, "https://example.test/hook", "--secret-id", "bots/mine") == 0

    assert telegram.webhook.secret_token == "s3cr3t-value"


def test_a_missing_secret_is_a_clear_error_without_calling_telegram(
    aws: EmbeddedAws, telegram: RecordingTelegram, capsys: pytest.CaptureFixture[str]
) -> None:
    assert set_webhook(aws, telegram, "https://example.test/hook") == 2

    assert "cannot read the bot token: ResourceNotFoundException" in capsys.readouterr().err
    assert telegram.bodies == []
