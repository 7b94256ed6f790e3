"""Priorities: a job's ``priority`` (an integer, higher first) encoded into its tasks' queue positions.

A queued task's greenfield is its queue position, and every read of a queue (the Orchestrator's, the Starter's,
a hand-off's) takes the lowest greenfields first. So priority costs nothing at run time: the position a task is
given (by the Scheduler, when a retry or a delayed task comes back, on a release, on a redrive) is moved down by
``priority x PRIORITY_STEP``, which puts every task of a higher priority before every task of a lower one,
and equal priorities keep their FIFO order. No new item, no extra call, no schema change.

Greenfield bands (``QUEUE_BASE`` = 10^9; now ~ 1.8 x 10^9; invoked = now + one year):

- priority 0: the positions as they always were, ``QUEUE_BASE`` - fronts .. ``QUEUE_BASE`` + tails, so a queue
  written before priorities existed is read exactly as before;
- priority p (1 .. ``PRIORITY_MAX``): the same positions minus p x 10^12, down to -10^15, which stays within
  2^53 (exact in a JSON number or a double) and below every other band. 10^12 front or tail positions of one
  labourer would be needed to reach the next band.

A negative priority has no room: below priority 0 comes ``now``, which the invoked band starts above, and the
tail grows towards it. So priorities run from 0 (the default, the lowest) to ``PRIORITY_MAX``.
"""

from __future__ import annotations

from typing import Any

PRIORITY_MIN = 0
PRIORITY_MAX = 1000
PRIORITY_STEP = 10**12


def queue_position(position: int, priority: int) -> int:
    """The greenfield of a task of ``priority`` given queue ``position`` (priority 0: the position itself)."""
    return position - priority * PRIORITY_STEP


def parse_priority(value: Any) -> int:
    """A checked priority; ValueError says what is wrong (the caller names the field)."""
    if value is None:
        return 0
    if not isinstance(value, int) or isinstance(value, bool):
        raise ValueError(f"expected an integer from {PRIORITY_MIN} to {PRIORITY_MAX}, got {value!r:.60}")
    if not PRIORITY_MIN <= value <= PRIORITY_MAX:
        raise ValueError(f"expected an integer from {PRIORITY_MIN} (the default) to {PRIORITY_MAX}, got {value}")
    return value


def top_priority(priorities: list[int]) -> list[int]:
    """Indexes of the entries of the highest priority (a hand-off picks among these only)."""
    if not priorities:
        return []
    top = max(priorities)
    return [i for i, p in enumerate(priorities) if p == top]
