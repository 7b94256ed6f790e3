"""Lanes' pure parts: which lane a task is in, each lane's share of the cap, a stored labourer_id read back
as labourer and lane, the labourer's lanes setting, and how free slots are planned over the lanes' queues."""

from __future__ import annotations

import random
import zlib
from collections import Counter

import pytest

from ganger.backoff import jittered_delay
from ganger.labourer import Labourer, parse_labourers
from ganger.lanes import auto_lanes, lane_of, parse_queue_key, queue_key, split_cap
from ganger.schema import SchemaError
from ganger.starts import plan_claims
from ganger.tasks import Task


def test_a_task_keeps_its_lane_and_the_lanes_fill_evenly() -> None:
    ids = [f"job-{i}" for i in range(3000)]
    lanes = [lane_of(task_id, 3) for task_id in ids]
    assert lanes == [lane_of(task_id, 3) for task_id in ids], "stable: a redelivered job makes the same rows"
    assert lanes[:5] == [zlib.crc32(t.encode()) % 3 for t in ids[:5]]
    assert all(900 <= n <= 1100 for n in Counter(lanes).values())
    assert {lane_of(task_id, 1) for task_id in ids} == {0}


def test_the_cap_is_split_over_the_lanes_and_sums_to_it() -> None:
    assert split_cap(1000, 10) == [100] * 10
    assert split_cap(10, 3) == [4, 3, 3]
    assert split_cap(2, 3) == [1, 1, 0]
    assert split_cap(0, 2) == [0, 0]
    assert all(sum(split_cap(cap, lanes)) == cap for cap in range(50) for lanes in range(1, 9))


def test_auto_lanes_keep_a_labourer_up_to_100_in_one_lane() -> None:
    assert [auto_lanes(n) for n in (0, 1, 100, 101, 1000, 10_000)] == [1, 1, 1, 2, 10, 100]
    assert Labourer("w", max_simultaneous_invocations=100).lane_count == 1
    assert Labourer("w", max_simultaneous_invocations=250).lane_count == 3
    assert Labourer("w", max_simultaneous_invocations=250, lanes=1).lane_count == 1
    assert Labourer("w", lanes=3).queue_keys() == ["w", "w#1", "w#2"]


def test_a_labourer_id_with_a_hash_or_a_lane_count_below_one_is_refused() -> None:
    with pytest.raises(SchemaError, match=r"labourers\.bad#id.*may not contain '#'"):
        parse_labourers({"labourers": {"bad#id": {}}})
    with pytest.raises(SchemaError, match="lanes"):
        parse_labourers({"labourers": {"w": {"lanes": 0}}})
    with pytest.raises(SchemaError, match="lanes"):
        parse_labourers({"labourers": {"w": {"lanes": "many"}}})
    with pytest.raises(SchemaError, match="handoff_guard"):
        parse_labourers({"labourers": {"w": {"handoff_guard": "none"}}})
    assert parse_labourers({"labourers": {"w": {"lanes": 4, "handoff_guard": "transaction"}}})["w"].lanes == 4


def test_a_stored_labourer_id_is_read_as_labourer_and_lane() -> None:
    assert parse_queue_key("w") == ("w", 0)
    assert parse_queue_key("w#7") == ("w", 7)
    assert parse_queue_key("w#x") == ("w#x", 0)  # not a lane key (no labourer id has '#')
    assert queue_key("w", 0) == "w" and queue_key("w", 2) == "w#2"
    item = Task("t", "w", 1, 5, lane=2, slot_lane=0).to_item()
    assert item["labourer_id"] == {"S": "w#2"} and item["slot_lane"] == {"N": "0"}
    task = Task.from_item(item)
    assert (task.labourer_id, task.lane, task.slot_lane, task.holds_lane) == ("w", 2, 0, 0)
    assert "lane" not in task.extra and "slot_lane" not in task.extra
    plain = Task("t", "w", 1, 5).to_item()
    assert plain["labourer_id"] == {"S": "w"} and "slot_lane" not in plain and "lane" not in plain
    assert Task.from_item(plain).lane == 0
    assert Task("t", "w", 1, 5, lane=2, slot_lane=2).to_item().get("slot_lane") is None, "its own lane: not stored"


def test_a_workers_event_names_the_labourer_and_the_lane() -> None:
    event = Task("t", "w", 1, 5, lane=2, slot_lane=1).event()
    assert (event["labourer_id"], event["lane"], event["slot_lane"]) == ("w", 2, 1)
    assert "lane" not in Task("t", "w", 1, 5).event()


def queued(lane: int, n: int) -> list[Task]:
    return [Task(f"{lane}-{i}", "w", 0, i, lane=lane) for i in range(n)]


def test_each_lane_claims_its_own_queue_first() -> None:
    plan = plan_claims([2, 2, 2], [queued(0, 5), queued(1, 5), queued(2, 5)])
    assert {lane: [t.task_id for t in tasks] for lane, tasks in plan.items()} == {
        0: ["0-0", "0-1"], 1: ["1-0", "1-1"], 2: ["2-0", "2-1"]
    }  # fmt: skip


def test_a_lane_with_an_empty_queue_takes_other_lanes_tasks() -> None:
    plan = plan_claims([2, 2, 0], [queued(0, 1), queued(1, 2), queued(2, 4)])
    ids = {lane: [t.task_id for t in tasks] for lane, tasks in plan.items()}
    assert ids[0] == ["0-0", "2-0"], "lane 0's own task first, then lane 2's (no slots of its own)"
    assert ids[1] == ["1-0", "1-1"]
    assert sum(len(tasks) for tasks in plan.values()) == 4
    assert len({t.task_id for tasks in plan.values() for t in tasks}) == 4, "no task planned twice"


def test_no_more_is_planned_than_there_are_free_slots_or_tasks() -> None:
    assert plan_claims([0, 0], [queued(0, 3), queued(1, 3)]) == {}
    plan = plan_claims([5, 5], [queued(0, 1), queued(1, 2)])
    assert sorted(len(tasks) for tasks in plan.values()) == [1, 2]
    plan = plan_claims([-2, 3], [queued(0, 4), queued(1, 0)])
    assert [t.task_id for t in plan[1]] == ["0-0", "0-1", "0-2"] and 0 not in plan


def test_the_backoff_is_jittered_below_an_exponential_ceiling() -> None:
    rand = random.Random(7)
    delays = [jittered_delay(attempt, rand, base=0.1, cap=1.0) for attempt in range(8) for _ in range(50)]
    by_attempt = [delays[i * 50 : (i + 1) * 50] for i in range(8)]
    assert all(0 <= d <= min(1.0, 0.1 * 2**a) for a, ds in enumerate(by_attempt) for d in ds)
    assert len(set(by_attempt[3])) == 50, "jittered: callers that met once do not meet again in lockstep"
