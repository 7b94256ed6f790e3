"""`ganger local` never takes the bot token on the command line, and config/ allows nobody.

A token in argv shows in ``ps`` and in shell history; it comes from ``GANGER_TELEGRAM_TOKEN`` or
``--telegram-token-file`` instead. The shipped config allows no user (123456789 may be someone's real
account); local mode allows its own chat user, with the fake Bot API only.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import boto3
import pytest
from moto import mock_aws

from ganger.cli.local import telegram_token
from ganger.cli.main import main
from ganger.config import ConfigStore, load_folder
from ganger.constants import ENV_TELEGRAM_TOKEN, LOCAL_CHAT_USER
from ganger.documents import validate
from ganger.errors import GangerError
from ganger.local.runtime import BOT_CONFIG, allow_chat_user

ROOT = Path(__file__).resolve().parents[2]
TOKEN = "4242424242:AAH-real-looking-token-for-tests_0123"


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str]:
    code = main(["local", *argv])
    return code, capsys.readouterr().err


def test_the_token_flag_is_refused_with_the_replacement_named(capsys: pytest.CaptureFixture[str]) -> None:
    code, err = run(capsys, "--telegram-token", TOKEN)
    assert code == 2
    assert "--telegram-token is no longer accepted" in err
    assert ENV_TELEGRAM_TOKEN in err and "--telegram-token-file PATH" in err
    assert TOKEN.split(":")[1] not in err


def test_the_token_comes_from_a_file_or_the_environment(tmp_path: Path) -> None:
    path = tmp_path / "token"
    path.write_text(f"  {TOKEN}\n")
    assert telegram_token(None, path, {}) == TOKEN
    assert telegram_token(None, None, {ENV_TELEGRAM_TOKEN: TOKEN}) == TOKEN
    assert telegram_token(None, path, {ENV_TELEGRAM_TOKEN: "1:other"}) == TOKEN  # the explicit argument wins
    assert telegram_token(None, None, {}) is None  # the fake Bot API
    assert telegram_token(None, None, {ENV_TELEGRAM_TOKEN: " "}) is None


def test_a_bad_token_file_or_value_is_named_and_not_echoed(tmp_path: Path) -> None:
    with pytest.raises(GangerError, match=r"--telegram-token-file .*missing: cannot read it"):
        telegram_token(None, tmp_path / "missing", {})
    (tmp_path / "empty").write_text("\n")
    with pytest.raises(GangerError, match=r"--telegram-token-file .*empty: not a Telegram bot token"):
        telegram_token(None, tmp_path / "empty", {})
    with pytest.raises(GangerError, match=f"{ENV_TELEGRAM_TOKEN}: not a Telegram bot token") as info:
        telegram_token(None, None, {ENV_TELEGRAM_TOKEN: "secret-without-a-bot-id"})
    assert "secret-without-a-bot-id" not in str(info.value)


def test_the_cli_reads_the_environment_and_the_file(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """--demo refuses a real token: that it says so shows the CLI found one, without starting anything."""
    monkeypatch.setenv(ENV_TELEGRAM_TOKEN, TOKEN)
    code, err = run(capsys, "--demo")
    assert code != 0 and "--demo uses the fake Telegram" in err
    monkeypatch.delenv(ENV_TELEGRAM_TOKEN)
    path = tmp_path / "token"
    path.write_text(TOKEN)
    code, err = run(capsys, "--demo", "--telegram-token-file", str(path))
    assert code != 0 and "--demo uses the fake Telegram" in err
    code, err = run(capsys, "--telegram-token-file", str(tmp_path / "nope"))
    assert code == 2 and "nope: cannot read it" in err


def test_the_shipped_config_allows_nobody() -> None:
    for path in sorted((ROOT / "config").glob("*.json")):
        document = json.loads(path.read_text())
        assert document.get("allowed_users", []) == [], f"{path.name} ships an allowed user"


@pytest.fixture
def store() -> Iterator[ConfigStore]:
    with mock_aws():
        dynamodb = boto3.client("dynamodb", region_name="us-east-1")
        dynamodb.create_table(
            TableName="config",
            KeySchema=[
                {"AttributeName": "env", "KeyType": "HASH"},
                {"AttributeName": "config_name", "KeyType": "RANGE"},
            ],
            AttributeDefinitions=[
                {"AttributeName": "env", "AttributeType": "S"},
                {"AttributeName": "config_name", "AttributeType": "S"},
            ],
            BillingMode="PAY_PER_REQUEST",
        )
        config = ConfigStore(dynamodb)
        load_folder(config, ROOT / "config", validate)
        yield config


def test_local_mode_allows_its_own_chat_user(store: ConfigStore) -> None:
    stored = store.get(BOT_CONFIG)
    assert stored is not None and stored.value["allowed_users"] == []
    assert allow_chat_user(store) is True
    assert allow_chat_user(store) is False  # once
    allowed = store.get(BOT_CONFIG)
    assert allowed is not None and allowed.value["allowed_users"] == [LOCAL_CHAT_USER]
    assert {k: v for k, v in allowed.value.items() if k != "allowed_users"} == {
        k: v for k, v in stored.value.items() if k != "allowed_users"
    }
