"""The task-state rule: each state on its own, from the table a row was read from and its greenfield."""

from __future__ import annotations

from ganger.labourer import Labourer
from ganger.task_state import STATES, Table, TaskState, state_of
from ganger.tasks import Task

NOW = 1_800_000_000.0
LABOURER = Labourer("w", duration=60, cooldown=30)


def live(greenfield: int) -> Task:
    return Task("t", "w", 0, greenfield=greenfield)


def test_queued_a_greenfield_below_now() -> None:
    assert state_of(live(1_000_000_001), Table.LIVE, NOW, LABOURER) is TaskState.QUEUED
    assert state_of(live(int(NOW) - 1), Table.LIVE, NOW) is TaskState.QUEUED


def test_running_invoked_within_duration_and_cooldown() -> None:
    task = live(LABOURER.invoked_greenfield(NOW - 10))
    assert state_of(task, Table.LIVE, NOW, LABOURER) is TaskState.RUNNING
    assert state_of(live(LABOURER.invoked_greenfield(NOW - 89)), Table.LIVE, NOW, LABOURER) is TaskState.RUNNING


def test_expired_invoked_longer_ago_than_duration_and_cooldown() -> None:
    assert state_of(live(LABOURER.invoked_greenfield(NOW - 91)), Table.LIVE, NOW, LABOURER) is TaskState.EXPIRED
    assert state_of(live(LABOURER.invoked_greenfield(NOW - 90)), Table.LIVE, NOW, LABOURER) is TaskState.EXPIRED


def test_invoked_when_the_labourer_is_unknown() -> None:
    assert state_of(live(LABOURER.invoked_greenfield(NOW - 10)), Table.LIVE, NOW) is TaskState.INVOKED


def test_live_state_from_greenfield() -> None:
    """Moved from the CLI's live_state: the same assertions, now on the one rule."""
    labourer = Labourer("w", duration=60, cooldown=30)
    queued = Task("a", "w", 0, greenfield=1_000_000_001)
    running = Task("b", "w", 0, greenfield=labourer.invoked_greenfield(NOW - 10))
    expired = Task("c", "w", 0, greenfield=labourer.invoked_greenfield(NOW - 91))
    assert [state_of(t, Table.LIVE, NOW, labourer) for t in (queued, running, expired)] == [
        "queued", "running", "expired"
    ]  # fmt: skip
    assert state_of(running, Table.LIVE, NOW, None) == "invoked"


def test_retrying_whatever_its_greenfield() -> None:
    task = Task("t", "w", 0, greenfield=LABOURER.invoked_greenfield(NOW - 10), desired_launch_time=int(NOW) + 60)
    assert state_of(task, Table.RETRY, NOW, LABOURER) is TaskState.RETRYING


def test_completed_from_the_closed_status() -> None:
    task = Task("t", "w", 0, greenfield=0, extra={"labourer_id_task_status": "w_1"})
    assert state_of(task, Table.CLOSED, NOW) is TaskState.COMPLETED


def test_dead_from_the_closed_status() -> None:
    task = Task("t", "w", 0, greenfield=0, extra={"labourer_id_task_status": "w_0"})
    assert state_of(task, Table.CLOSED, NOW) is TaskState.DEAD
    # a labourer whose id ends in _1 is still read by the status suffix, not fooled by its name
    odd = Task("t", "w_1", 0, greenfield=0, extra={"labourer_id_task_status": "w_1_0"})
    assert state_of(odd, Table.CLOSED, NOW) is TaskState.DEAD


def test_the_states_an_operator_asks_for() -> None:
    assert [str(s) for s in STATES] == ["queued", "running", "expired", "retrying", "completed", "dead"]
