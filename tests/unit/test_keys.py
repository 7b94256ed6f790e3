"""Concurrency keys' pure rules: fair queue positions, room per key, hand-off order, config validation."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ganger.documents import validate
from ganger.errors import ConfigError
from ganger.keys import KeyPolicy, fair_positions, handoff_order, stored_key, within_room
from ganger.labourer import parse_labourers

CONFIG = Path(__file__).resolve().parents[2] / "config" / "ganger_labourers.json"


def test_a_new_key_starts_at_the_head_and_a_known_key_after_its_last() -> None:
    positions, lasts = fair_positions(["B", "B", "A"], head=100, lasts={"A": 500})
    assert positions == [100, 101, 501] and lasts == {"B": 101, "A": 501}


def test_a_key_whose_tasks_all_ran_restarts_at_the_head() -> None:
    positions, _ = fair_positions(["A"], head=900, lasts={"A": 500})
    assert positions == [900]


def test_keys_interleave_so_that_each_takes_turns() -> None:
    a, lasts = fair_positions(["A"] * 5, head=1, lasts={})
    b, _ = fair_positions(["B"] * 3, head=3, lasts=lasts)  # B arrives when A's third task is at the head
    order = sorted([(p, "A") for p in a] + [(p, "B") for p in b])
    assert [key for _, key in order] == ["A", "A", "A", "B", "A", "B", "A", "B"]


def test_within_room_keeps_the_queue_order_and_each_keys_room() -> None:
    tasks = ["A1", "A2", "B1", "A3", "B2", "C1"]
    assert within_room(tasks, lambda t: t[0], {"A": 2, "B": 0, "C": 1}) == ["A1", "A2", "C1"]


def test_handoff_order_tries_one_other_key_then_the_ending_keys_own() -> None:
    assert handoff_order(["B1", "A1", "C1", "A2"], lambda t: t[0], "A") == ["B1", "A1", "A2", "C1"]
    assert handoff_order(["B1", "A1"], lambda t: t[0], None) == ["B1", "A1"]


def test_key_of_reads_the_payload_field() -> None:
    policy = KeyPolicy("chat_id", 2)
    assert policy.key_of(json.dumps({"chat_id": 42})) == "42"
    assert policy.key_of({"chat_id": "x"}) == "x" and policy.key_of("{}") == "" and policy.key_of("not json") == ""
    assert stored_key("k" * 500).startswith("sha256:") and stored_key("k") == "k"


@pytest.mark.parametrize(
    ("entry", "field"),
    [
        ({"concurrency_key": "chat_id", "max_per_key": 0}, "`max_per_key`"),
        ({"concurrency_key": "chat_id", "max_per_key": "2"}, "max_per_key"),
        ({"max_per_key": 2}, "`max_per_key` needs `concurrency_key`"),
        ({"concurrency_key": "chat id"}, "`concurrency_key`"),
    ],
)
def test_a_bad_key_setting_is_refused_naming_the_field(entry: dict[str, object], field: str) -> None:
    with pytest.raises(ConfigError) as info:
        validate("ganger_labourers", {"labourers": {"w": entry}})
    assert field in str(info.value) and "labourers.w" in str(info.value)


def test_the_bots_workers_are_keyed_by_chat() -> None:
    document = json.loads(CONFIG.read_text())
    validate("ganger_labourers", document)
    labourers = parse_labourers(document)
    for name in ("video_worker", "image_worker"):
        policy = labourers[name].key_policy
        assert policy is not None and policy.field == "chat_id" and policy.max_per_key is not None
    payload = {"url": "https://example.com/v", "chat_id": 7, "reply_to": 1}  # what processors.telegram.jobs sends
    assert labourers["video_worker"].key_policy.key_of(payload) == "7"  # type: ignore[union-attr]


def test_ganger_cost_counts_what_max_per_key_adds() -> None:
    from ganger.cost import Prices, knob_lines

    knobs = knob_lines(Prices())
    assert knobs["max_per_key"] == {"write_units_per_task": 4.0, "usd_per_million_tasks": 2.5}
    assert knobs["concurrency_key"]["write_units_per_task"] == 0.0
