"""Labourer health: status 0 (Bad) .. 4 (High), the worst over its CloudWatch `health_metrics`."""

from __future__ import annotations

import datetime
import logging
import operator
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, cast

from ganger.labourer import HealthMetric, Labourer

if TYPE_CHECKING:  # the mypy-boto3 stubs are a dev dependency
    from mypy_boto3_cloudwatch import CloudWatchClient

logger = logging.getLogger(__name__)
HIGHEST = 4
STATUS_NAMES = {0: "Bad", 1: "Poor", 2: "Moderate", 3: "Good", 4: "High"}
_OPERATORS: dict[str, Callable[[float, float], bool]] = {
    "lt": operator.lt,
    "le": operator.le,
    "gt": operator.gt,
    "ge": operator.ge,
}


def health_from_value(value: float | None, metric: HealthMetric) -> int:
    """The highest status whose threshold the value meets (sosw's "feelings"); no data means healthy."""
    if value is None:
        return HIGHEST
    compare = _OPERATORS[metric.feeling_comparison_operator]
    for status in sorted(metric.feelings, key=int, reverse=True):
        if compare(value, metric.feelings[status]):
            return int(status)
    return 0


@dataclass(frozen=True)
class Reading:
    """One health metric as last read: its value (None: no data), the status it gives, and the threshold
    ("feeling") the value must meet for the highest status."""

    metric: str
    value: float | None
    status: int
    threshold: float | None
    comparison: str


class Ecology:
    """Reads each labourer's health metrics from CloudWatch (one GetMetricStatistics per metric)."""

    def __init__(self, cloudwatch: CloudWatchClient, clock: Callable[[], datetime.datetime] | None = None) -> None:
        self._cloudwatch = cloudwatch
        self._clock = clock or (lambda: datetime.datetime.now(datetime.UTC))

    def status(self, labourer: Labourer) -> int:
        return min((reading.status for reading in self.readings(labourer)), default=HIGHEST)

    def readings(self, labourer: Labourer) -> list[Reading]:
        """Each health metric's value and the status it gives (one GetMetricStatistics each)."""
        found = []
        for name, metric in labourer.health_metrics.items():
            value = self._fetch(metric)
            health = health_from_value(value, metric)
            logger.debug("labourer %s metric %s = %s -> %s", labourer.id, name, value, health)
            threshold = metric.feelings.get(str(HIGHEST))
            found.append(Reading(name, value, health, threshold, metric.feeling_comparison_operator))
        return found

    def _fetch(self, metric: HealthMetric) -> float | None:
        details = dict(metric.details)
        period = int(details.pop("MetricAggregationTimeSlice", 300))
        statistic = details.pop("Statistics", ["Average"])[0]
        end = self._clock()
        response = self._cloudwatch.get_metric_statistics(
            StartTime=end - datetime.timedelta(seconds=period),
            EndTime=end,
            Period=details.pop("Period", 60),
            Statistics=[statistic],
            **details,
        )
        # the statistic asked for, named at run time (the stubs' Datapoint keys are literals)
        points = [float(cast("dict[str, float]", p)[statistic]) for p in response.get("Datapoints", [])]
        if not points:
            return None
        if statistic == "Maximum":
            return float(max(points))
        if statistic == "Minimum":
            return float(min(points))
        return float(sum(points) / len(points))
