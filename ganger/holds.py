"""What holds a labourer's queued tasks back: the pure rules every start path and ``ganger tasks why`` share.

Dispatch asks ``startable`` how many tasks a lane may start now; ``ganger tasks why`` asks ``lane_hold`` why
that is none, so the operator's answer and the dispatcher's decision cannot drift apart.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from ganger.slots import Slots


def startable(slots: Slots) -> int:
    """Tasks the lane may start now: its free slots, none while the labourer is paused."""
    return 0 if slots.paused else max(0, slots.free)


def startable_lanes(counters: Sequence[Slots]) -> list[int]:
    """``startable`` of each lane."""
    return [startable(slots) for slots in counters]


@dataclass(frozen=True)
class LaneHold:
    """Why a lane starts nothing now: ``kind`` "paused" or "no_free_slot" (with the lane's counts)."""

    kind: str
    lane: int
    running: int
    cap: int
    since: int = 0


@dataclass(frozen=True)
class KeyHold:
    """Why a task's concurrency key starts nothing now: its running count at its ``max_per_key``."""

    key: str
    running: int
    max_per_key: int


def key_room(running: int, max_per_key: int | None) -> int:
    """Tasks of a key that may start now (``ganger.keys``): its cap less its running; unlimited without a cap."""
    return 1 << 30 if max_per_key is None else max(0, max_per_key - running)


def key_hold(key: str, running: int, max_per_key: int | None) -> KeyHold | None:
    """The key's hold, when it is at its cap (None: it has room, or no cap)."""
    if max_per_key is None or key_room(running, max_per_key) > 0:
        return None
    return KeyHold(key, running, max_per_key)


def lane_hold(slots: Slots | None) -> LaneHold | None:
    """Why the lane's counter lets no task start (None: it has a startable slot, or no cap yet)."""
    if slots is None or startable(slots) > 0:
        return None
    kind = "paused" if slots.paused else "no_free_slot"
    return LaneHold(kind, slots.lane, slots.held, slots.cap, slots.pause_stamp if slots.paused else 0)
