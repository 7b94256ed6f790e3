"""Starter.deliver: claimed tasks are dispatched in parallel (a bounded pool), failures released, ambiguous kept."""

from __future__ import annotations

import threading
import time
from typing import Any

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

    def __init__(self) -> None:
        self.released: list[str] = []

    def reserve_positions(self, labourer_id: str, count: int, front: bool = False) -> list[int]:
        return list(range(count))

    def release(self, task: Task, position: int) -> bool:
        self.released.append(task.task_id)
        return True


def tasks(n: int) -> list[Task]:
    return [Task(f"t{i}", "w", 0, 0, attempts=1, invocation_token="x") for i in range(n)]


def starter(dispatcher: Any, pool: int, store: Any = None) -> Starter:
    return Starter(store, Dispatchers(None, {"lambda": dispatcher}), pool_size=pool)


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
