"""Lanes: one labourer's queue, index keys and slot counter split so that no single item serializes it.

DynamoDB runs one transaction at a time on an item and takes at most 1,000 write units a second on one
partition key value of a table or an index. A labourer whose every claim, hand-off and end touched one
counter item, and whose every task wrote to one greenfield-index key, topped out near 100 tasks a second.
A labourer with ``lanes`` L keeps L queues and L slot counters instead:

- lane k's *queue key* is the labourer id for k = 0 and ``<labourer>#<k>`` for k >= 1. It is what a task of
  lane k stores as ``labourer_id``, so the greenfield index, the retry table's partition key and the closed
  table's ``labourer_id_task_status`` are spread over the lanes without any schema change; a labourer with
  one lane is stored exactly as before lanes existed;
- lane k's slot counter is ``_ganger_slots#<queue key>``; the Orchestrator splits the cap over the lanes
  (``split_cap``);
- the Scheduler puts a task in lane ``crc32(task_id) % L`` (``lane_of``): a redelivered job makes the same rows.

Everything here is pure.
"""

from __future__ import annotations

import math
import zlib

LANE_SEPARATOR = "#"
SLOTS_PER_LANE = 100  # "auto": one lane per 100 slots of max_simultaneous_invocations


def auto_lanes(max_simultaneous: int) -> int:
    """The lanes of ``"auto"``: one per 100 slots of the cap, at least one (a cap <= 100 keeps one lane)."""
    return max(1, math.ceil(max_simultaneous / SLOTS_PER_LANE))


def queue_key(labourer_id: str, lane: int) -> str:
    """The ``labourer_id`` a task of this lane stores: the labourer's id itself for lane 0."""
    return labourer_id if lane == 0 else f"{labourer_id}{LANE_SEPARATOR}{lane}"


def parse_queue_key(key: str) -> tuple[str, int]:
    """(labourer id, lane) of a stored ``labourer_id``. Labourer ids have no '#', so the first one splits."""
    base, separator, lane = key.partition(LANE_SEPARATOR)
    if separator and lane.isdigit():
        return base, int(lane)
    return key, 0


def lane_of(task_id: str, lanes: int) -> int:
    """A task's lane: a stable hash of its id, so that the same task id always lands in the same lane."""
    return zlib.crc32(task_id.encode()) % lanes if lanes > 1 else 0


def split_cap(cap: int, lanes: int) -> list[int]:
    """Each lane's share of ``cap``: cap // L each, the first cap % L lanes one more (they sum to ``cap``)."""
    base, extra = divmod(max(cap, 0), lanes)
    return [base + (1 if lane < extra else 0) for lane in range(lanes)]
