"""A fleet's concurrency: InService instances x slots per instance, capped by its configured maximum."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from ganger.fleet.settings import group_name
from ganger.labourer import Labourer

if TYPE_CHECKING:  # the mypy-boto3 stubs are a dev dependency
    from mypy_boto3_autoscaling import AutoScalingClient

logger = logging.getLogger(__name__)


def in_service(group: dict[str, Any]) -> int:
    """Healthy InService instances of one DescribeAutoScalingGroups entry."""
    return sum(
        1
        for instance in group.get("Instances", [])
        if instance.get("LifecycleState") == "InService" and instance.get("HealthStatus", "Healthy") == "Healthy"
    )


def describe_group(autoscaling: AutoScalingClient, name: str) -> dict[str, Any] | None:
    """The group (one DescribeAutoScalingGroups call), or None when it does not exist."""
    groups = autoscaling.describe_auto_scaling_groups(AutoScalingGroupNames=[name]).get("AutoScalingGroups", [])
    return dict(groups[0]) if groups else None


def fleet_capacity(autoscaling: AutoScalingClient, labourer: Labourer) -> int:
    """How many tasks the fleet can run at once now; 0 when its group is missing."""
    group = describe_group(autoscaling, group_name(labourer))
    if group is None:
        logger.warning("fleet %s: no Auto Scaling group %s", labourer.id, group_name(labourer))
        return 0
    return min(labourer.max_simultaneous_invocations, in_service(group) * labourer.slots_per_instance)
