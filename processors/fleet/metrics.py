"""Fleet metrics: every minute, BacklogPerInstance for each fleet labourer, put to CloudWatch.

BacklogPerInstance = (the fleet's queued tasks in DynamoDB + the visible messages in its queue) /
its InService instances, with the labourer as the dimension; the group's target-tracking policy
scales on it. 0 without a backlog; with no instance and a backlog, see
``ganger.fleet.scaling.backlog_per_instance``. The event may name the labourers to measure
(``{"labourers": ["video_fleet"]}``, as a fleet stack's rule does); otherwise the config document's
list, and when that is empty every fleet labourer.
"""

from __future__ import annotations

import datetime
import logging
from dataclasses import dataclass, field
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from ganger.errors import GangerError
from ganger.fleet.capacity import describe_group, in_service
from ganger.fleet.dispatch import QueueUrls
from ganger.fleet.scaling import DIMENSION, METRIC_NAME, METRIC_NAMESPACE, ZERO_INSTANCES_FLOOR, backlog_per_instance
from ganger.fleet.settings import group_name, queue_name
from ganger.labourer import Labourer
from ganger.processor import Processor, handler_for

logger = logging.getLogger(__name__)
CONFIG_DOCUMENT = "ganger_fleet_metrics_config"
MAX_DATA_PER_CALL = 500


@dataclass(frozen=True)
class FleetMetricsConfig:
    labourers: list[str] = field(default_factory=list)  # empty: every fleet labourer
    namespace: str = METRIC_NAMESPACE
    metric_name: str = METRIC_NAME
    zero_instances_floor: float = ZERO_INSTANCES_FLOOR


@dataclass(frozen=True)
class Measurement:
    labourer_id: str
    queued: int
    visible: int
    in_service: int
    value: float


class FleetMetrics(Processor[FleetMetricsConfig]):
    config_class = FleetMetricsConfig
    default_function_name = "ganger_fleet_metrics"

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._urls: QueueUrls | None = None

    @property
    def urls(self) -> QueueUrls:
        if self._urls is None:
            self._urls = QueueUrls(self.clients.sqs)
        return self._urls

    def handle(self, event: Any) -> dict[str, Any]:
        config = self.config
        wanted = (event.get("labourers") if isinstance(event, dict) else None) or config.labourers
        fleets = [lab for lab in self.labourers().values() if lab.type == "fleet" and (not wanted or lab.id in wanted)]
        now = self.clock()
        measured = []
        for labourer in fleets:
            try:
                measured.append(self.measure(labourer, now, config.zero_instances_floor))
            except (ClientError, BotoCoreError, GangerError):  # one fleet's failure never stops the others
                logger.exception("measuring fleet %s failed", labourer.id)
                self.stats["errors"] += 1
        self.publish(measured, now, config)
        return {
            "metric": config.metric_name,
            "fleets": {m.labourer_id: m.__dict__ for m in measured},
            "stats": dict(self.stats),
        }

    def measure(self, labourer: Labourer, now: float, floor: float) -> Measurement:
        """Three reads: a COUNT query, GetQueueAttributes, DescribeAutoScalingGroups."""
        queued = self.store.count_queued(labourer.id, now, labourer.lane_count)
        attributes = self.clients.sqs.get_queue_attributes(
            QueueUrl=self.urls.url(queue_name(labourer)), AttributeNames=["ApproximateNumberOfMessages"]
        )["Attributes"]
        visible = int(attributes.get("ApproximateNumberOfMessages", 0))
        group = describe_group(self.clients.get("autoscaling"), group_name(labourer))
        instances = in_service(group) if group else 0
        value = backlog_per_instance(queued + visible, instances, floor)
        logger.info("fleet %s: queued %d + visible %d over %d InService = %s", labourer.id, queued, visible,
                    instances, value)  # fmt: skip
        return Measurement(labourer.id, queued, visible, instances, value)

    def publish(self, measured: list[Measurement], now: float, config: FleetMetricsConfig) -> None:
        timestamp = datetime.datetime.fromtimestamp(now, datetime.UTC)
        data = [
            {
                "MetricName": config.metric_name,
                "Dimensions": [{"Name": DIMENSION, "Value": m.labourer_id}],
                "Timestamp": timestamp,
                "Value": m.value,
                "Unit": "Count",
            }
            for m in measured
        ]
        for start in range(0, len(data), MAX_DATA_PER_CALL):
            self.clients.cloudwatch.put_metric_data(
                Namespace=config.namespace, MetricData=data[start : start + MAX_DATA_PER_CALL]
            )
        self.stats["published"] += len(data)


lambda_handler = handler_for(FleetMetrics)
