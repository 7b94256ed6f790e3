"""Starter.deliver: claimed tasks are dispatched in parallel (a bounded pool), failures released, ambiguous kept."""

from __future__ import annotations

import threading
import time
from typing import Any

from botocore.exceptions import ClientError

from ganger.dispatch import Dispatchers
from ganger.errors import DispatchError
from ganger.labourer import Labourer
from ganger.starts import Starter
from ganger.tasks import Task

LABOURER = Labourer("w")


class Recording:
    def __init__(self, fail: set[str] = frozenset(), ambiguous: set[str] = frozenset()) -> None:  # type: ignore[assignment]
        self.threads: set[int] = set()
        self.active = 0
        self.peak = 0
        self.lock = threading.Lock()
        self.fail, self.ambiguous = fail, ambiguous

    def dispatch(self, labourer: Labourer, task: Task) -> None:
        with self.lock:
            self.threads.add(threading.get_ident())
            self.active += 1
            self.peak = max(self.peak, self.active)
        time.sleep(0.01)  # an Invoke's round trip
        with self.lock:
            self.active -= 1
        if task.task_id in self.fail:
            raise DispatchError(task.task_id, labourer.id, "throttled")
        if task.task_id in self.ambiguous:
            raise DispatchError(task.task_id, labourer.id, "read timeout", ambiguous=True)


class Releasing:
    """The part of TaskStore a release uses."""

    def __init__(self, throttled: dict[str, int] | None = None) -> None:
        self.released: list[str] = []
        self.abandoned: list[str] = []
        self.throttled = dict(throttled or {})  # task -> how many of its releases are throttled

    def reserve_positions(self, labourer_id: str, count: int, front: bool = False) -> list[int]:
        return list(range(count))

    def release(self, task: Task, position: int) -> bool:
        if self.throttled.get(task.task_id, 0) > 0:
            self.throttled[task.task_id] -= 1
            raise ClientError({"Error": {"Code": "ThrottlingException", "Message": "slow down"}}, "TransactWriteItems")
        self.released.append(task.task_id)
        return True

    def abandon(self, task: Task, position: int, now: float, limit: int) -> bool:
        self.abandoned.append(task.task_id)
        return task.task_id != "started"  # its worker marked its start first: not given back


def tasks(n: int) -> list[Task]:
    return [Task(f"t{i}", "w", 0, 0, attempts=1, invocation_token="x") for i in range(n)]


def starter(dispatcher: Any, pool: int, store: Any = None) -> Starter:
    return Starter(store, Dispatchers(None, {"lambda": dispatcher}), pool_size=pool, sleep=lambda seconds: None)


def test_many_tasks_are_dispatched_in_parallel_within_the_pool() -> None:
    dispatcher = Recording()
    started = starter(dispatcher, pool=8).deliver(LABOURER, tasks(40))
    assert started.dispatched == 40
    assert 1 < dispatcher.peak <= 8, "parallel, and never more Invokes at once than the pool"


def test_a_pool_of_one_dispatches_one_after_another() -> None:
    dispatcher = Recording()
    assert starter(dispatcher, pool=1).deliver(LABOURER, tasks(5)).dispatched == 5
    assert dispatcher.peak == 1 and len(dispatcher.threads) == 1


def test_failed_dispatches_are_released_and_ambiguous_ones_stay_invoked() -> None:
    store = Releasing()
    dispatcher = Recording(fail={"t1", "t3"}, ambiguous={"t2"})
    started = starter(dispatcher, pool=4, store=store).deliver(LABOURER, tasks(6))
    assert sorted(store.released) == ["t1", "t3"]
    assert (started.dispatched, started.released, started.ambiguous) == (3, 2, 1)


def test_a_throttled_release_is_retried_and_one_that_keeps_failing_stops_no_other() -> None:
    store = Releasing(throttled={"t0": 1, "t1": 99})
    started = starter(Recording(fail={"t0", "t1", "t2"}), pool=1, store=store).deliver(LABOURER, tasks(3))
    assert store.released == ["t0", "t2"], "t0 on its second try; t1 never, and it stops nobody"
    assert started.released == 2
    assert started.release_failed == 1, "a release that finally fails is counted, never silent"


def test_ambiguous_dispatches_of_a_labourer_that_marks_starts_are_given_back_unless_started() -> None:
    store = Releasing()
    marking = Labourer("w", marks_start=True)
    claimed = [*tasks(2), Task("started", "w", 0, 0, attempts=1, invocation_token="y")]
    dispatcher = Recording(ambiguous={"t1", "started"})
    started = starter(dispatcher, pool=1, store=store).deliver(marking, claimed)
    assert store.abandoned == ["t1", "started"] and store.released == []
    assert (started.dispatched, started.given_back, started.ambiguous) == (1, 1, 1)
