"""BacklogPerInstance and the target-tracking arithmetic (pure)."""

from __future__ import annotations

import pytest

from ganger.fleet.scaling import backlog_per_instance, target_tracking_desired


@pytest.mark.parametrize(
    ("backlog", "instances", "expected"),
    [
        (0, 0, 0.0),  # no backlog, no instance: nothing to do
        (0, 4, 0.0),
        (40, 4, 10.0),
        (5, 2, 2.5),
        (3, 0, 99.0),  # a small backlog on an empty group still reads above any sane target
        (250, 0, 250.0),  # a big one asks for its whole size at once
    ],
)
def test_backlog_per_instance(backlog: int, instances: int, expected: float) -> None:
    assert backlog_per_instance(backlog, instances) == expected


def test_zero_instances_floor_is_configurable() -> None:
    assert backlog_per_instance(3, 0, zero_instances_floor=11) == 11.0


@pytest.mark.parametrize(
    ("metric", "in_service", "target", "minimum", "maximum", "expected"),
    [
        (200.0, 0, 10, 0, 50, 20),  # from zero: the backlog / target
        (200.0, 0, 10, 0, 8, 8),  # clamped to the group's max
        (99.0, 0, 10, 0, 50, 10),
        (20.0, 4, 10, 0, 50, 8),  # twice the target: twice the instances
        (10.0, 4, 10, 0, 50, 4),  # on target: stay
        (2.5, 4, 10, 0, 50, 1),
        (0.0, 4, 10, 0, 50, 0),  # no backlog: back to the minimum
        (0.0, 4, 10, 1, 50, 1),
        (0.0, 0, 10, 0, 50, 0),
    ],
)
def test_target_tracking_desired(
    metric: float, in_service: int, target: float, minimum: int, maximum: int, expected: int
) -> None:
    assert target_tracking_desired(metric, in_service, target, minimum, maximum) == expected


def test_target_must_be_positive() -> None:
    with pytest.raises(ValueError, match="positive"):
        target_tracking_desired(1.0, 1, 0, 0, 1)
