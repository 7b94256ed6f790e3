"""The arithmetic of BacklogPerInstance and of a target-tracking policy on it (pure functions)."""

from __future__ import annotations

import math

METRIC_NAME = "BacklogPerInstance"
METRIC_NAMESPACE = "ganger"
DIMENSION = "labourer"
ZERO_INSTANCES_FLOOR = 99.0


def backlog_per_instance(backlog: int, in_service: int, zero_instances_floor: float = ZERO_INSTANCES_FLOOR) -> float:
    """Backlog / InService instances; 0 without a backlog.

    With no instance and a backlog, the value is the backlog itself (the backlog one instance would
    face, so a large backlog asks for ``ceil(backlog / target)`` instances at once) but never below
    ``zero_instances_floor`` (99, TelegramAI's corner case): a backlog smaller than the target would
    otherwise read as "under target" and a group at 0 would never scale out.
    """
    if backlog <= 0:
        return 0.0
    if in_service <= 0:
        return float(max(backlog, zero_instances_floor))
    return backlog / in_service


def target_tracking_desired(metric: float, in_service: int, target: float, minimum: int, maximum: int) -> int:
    """The capacity a target-tracking policy asks for: ceil(metric x InService / target), clamped.

    A group at 0 counts as one instance (the metric is then the whole backlog), so it can scale out.
    """
    if target <= 0:
        raise ValueError("the target value must be positive")
    base = max(in_service, 1) if metric > 0 else in_service
    desired = math.ceil(round(metric * base / target, 9))
    return max(minimum, min(maximum, desired))
