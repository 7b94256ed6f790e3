"""Local mode's fleets: instances are worker threads, and the target-tracking step moto never runs.

moto keeps Auto Scaling groups and stores scaling policies (its CloudFormation does not even create
``AWS::AutoScaling::ScalingPolicy``), but nothing ever acts on a policy. ``LocalFleet.step()`` does
what AWS would each minute: reads the fleet's latest ``BacklogPerInstance`` from CloudWatch, applies
the policy's arithmetic (``desired = ceil(metric x InService / target)``, clamped to the group's
min and max; scale-in only after ``scale_in_after`` minutes in a row ask for it, as AWS's alarm waits)
and sets the desired capacity; then every InService instance gets a ``WorkerProcess``
(the real `ganger worker` loop, ``slots_per_instance`` threads) and every instance gone from the
group has its process stopped as SIGTERM would (finish or release).
"""

from __future__ import annotations

import datetime
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ganger.clients import AwsClients
from ganger.config import ConfigStore
from ganger.fleet.capacity import describe_group, in_service
from ganger.fleet.process import WorkerProcess, build_process
from ganger.fleet.scaling import DIMENSION, METRIC_NAME, METRIC_NAMESPACE, target_tracking_desired
from ganger.fleet.settings import FleetSettings, group_name, resolve_fleet
from ganger.labourer import Labourer

logger = logging.getLogger(__name__)
POLICY_NAME = "backlog-per-instance"
ProcessFactory = Callable[[str], WorkerProcess]


@dataclass(frozen=True)
class StepResult:
    metric: float | None
    in_service: int
    desired: int
    processes: int


class LocalFleet:
    """One fleet labourer in local mode. ``start()``, then ``step()`` every (virtual) minute, then ``stop()``."""

    def __init__(
        self,
        clients: AwsClients,
        labourer: Labourer,
        settings: FleetSettings,
        target_value: float = 10.0,
        clock: Callable[[], float] = time.time,
        process_factory: ProcessFactory | None = None,
        scale_in_after: int = 15,
    ) -> None:
        self.clients = clients
        self.labourer = labourer
        self.settings = settings
        self.target_value = target_value
        self.clock = clock
        self.scale_in_after = scale_in_after
        self._factory = process_factory or self._build_process
        self._wants_fewer = 0
        self.processes: dict[str, WorkerProcess] = {}
        self._stopping: list[threading.Thread] = []
        self.history: list[StepResult] = []

    @property
    def group(self) -> str:
        return group_name(self.labourer)

    def start(self) -> None:
        """Make sure the group has its target-tracking policy (as AWS would hold it) and start its instances."""
        logger.warning(
            "fleet %s: moto stores target-tracking policies but never acts on them; ganger's local step "
            "applies BacklogPerInstance target %s to group %s", self.labourer.id, self.target(), self.group,
        )  # fmt: skip
        self.ensure_policy()
        self.reconcile()

    def ensure_policy(self) -> None:
        """Put the group's target-tracking policy through the API when it has none (moto's CloudFormation
        reports ``AWS::AutoScaling::ScalingPolicy`` as created but makes nothing), so it can be inspected."""
        autoscaling = self.clients.get("autoscaling")
        if autoscaling.describe_policies(AutoScalingGroupName=self.group).get("ScalingPolicies"):
            return
        autoscaling.put_scaling_policy(
            AutoScalingGroupName=self.group,
            PolicyName=POLICY_NAME,
            PolicyType="TargetTrackingScaling",
            TargetTrackingConfiguration={
                "TargetValue": self.target_value,
                "CustomizedMetricSpecification": {
                    "Namespace": METRIC_NAMESPACE,
                    "MetricName": METRIC_NAME,
                    "Dimensions": [{"Name": DIMENSION, "Value": self.labourer.id}],
                    "Statistic": "Average",
                },
            },
        )

    def target(self) -> float:
        """The policy's target value when the group has one, else the configured ``target_value``."""
        policies = self.clients.get("autoscaling").describe_policies(AutoScalingGroupName=self.group)
        for policy in policies.get("ScalingPolicies", []):
            config = policy.get("TargetTrackingConfiguration") or {}
            metric = config.get("CustomizedMetricSpecification") or {}
            if metric.get("MetricName") == METRIC_NAME and config.get("TargetValue"):
                return float(config["TargetValue"])
        return self.target_value

    def step(self, metric: float | None = None) -> StepResult:
        """One target-tracking evaluation, then the instances follow the group."""
        value = self.read_metric() if metric is None else metric
        group = describe_group(self.clients.get("autoscaling"), self.group)
        if group is None:
            raise LookupError(f"fleet {self.labourer.id}: no Auto Scaling group {self.group}")
        current = in_service(group)
        desired = int(group["DesiredCapacity"])
        if value is not None:
            desired = self._damped(
                target_tracking_desired(value, current, self.target(), group["MinSize"], group["MaxSize"]),
                int(group["DesiredCapacity"]),
            )
            if desired != group["DesiredCapacity"]:
                logger.info("fleet %s: BacklogPerInstance %s over %d InService -> desired %d (was %d)",
                            self.labourer.id, value, current, desired, group["DesiredCapacity"])  # fmt: skip
                self.clients.get("autoscaling").set_desired_capacity(
                    AutoScalingGroupName=self.group, DesiredCapacity=desired, HonorCooldown=False
                )
        running = self.reconcile()
        result = StepResult(value, current, desired, running)
        self.history.append(result)
        return result

    def _damped(self, proposed: int, desired: int) -> int:
        """Scale out at once; scale in only after ``scale_in_after`` steps in a row want fewer instances (AWS's
        scale-in alarm waits 15 minutes), so a running task's instance is not taken away the moment the
        backlog empties."""
        if proposed >= desired:
            self._wants_fewer = 0
            return proposed
        self._wants_fewer += 1
        if self._wants_fewer < self.scale_in_after:
            return desired
        self._wants_fewer = 0
        return proposed

    def read_metric(self) -> float | None:
        """The latest minute's average of the fleet's BacklogPerInstance (None when nothing was put)."""
        end = datetime.datetime.fromtimestamp(self.clock() + 60, datetime.UTC)
        response = self.clients.cloudwatch.get_metric_statistics(
            Namespace=METRIC_NAMESPACE,
            MetricName=METRIC_NAME,
            Dimensions=[{"Name": DIMENSION, "Value": self.labourer.id}],
            StartTime=end - datetime.timedelta(seconds=300),
            EndTime=end,
            Period=60,
            Statistics=["Average"],
        )
        points = sorted(response.get("Datapoints", []), key=lambda p: p["Timestamp"])
        return float(points[-1]["Average"]) if points else None

    def reconcile(self) -> int:
        """Start a worker process per new InService instance; stop those of instances that left."""
        group = describe_group(self.clients.get("autoscaling"), self.group) or {}
        live = {i["InstanceId"] for i in group.get("Instances", []) if i.get("LifecycleState") == "InService"}
        for instance_id in sorted(set(self.processes) - live):
            self._stop_in_background(instance_id, self.processes.pop(instance_id))
        for instance_id in sorted(live - set(self.processes)):
            process = self._factory(instance_id)
            process.start()
            self.processes[instance_id] = process
            logger.info("fleet %s: instance %s started its worker", self.labourer.id, instance_id)
        for process in self.processes.values():
            process.restart_dead()
        return len(self.processes)

    def _stop_in_background(self, instance_id: str, process: WorkerProcess) -> None:
        logger.info("fleet %s: instance %s left the group; stopping its worker (SIGTERM)", self.labourer.id,
                    instance_id)  # fmt: skip
        thread = threading.Thread(target=process.stop, name=f"stop-{instance_id}", daemon=True)
        thread.start()
        self._stopping.append(thread)

    def stop(self) -> None:
        """Stop every instance's worker (finish or release) and wait for them."""
        for instance_id in list(self.processes):
            self._stop_in_background(instance_id, self.processes.pop(instance_id))
        for thread in self._stopping:
            thread.join()
        self._stopping.clear()

    def _build_process(self, instance_id: str) -> WorkerProcess:
        return build_process(self.clients, self.labourer, self.settings, clock=self.clock,
                             name=f"{self.labourer.id}-{instance_id}")  # fmt: skip


def local_fleet(
    clients: AwsClients,
    labourer_id: str,
    target_value: float = 10.0,
    clock: Callable[[], float] = time.time,
    scale_in_after: int = 15,
) -> LocalFleet:
    """A LocalFleet for a configured fleet labourer (reads `ganger_labourers` and `ganger_fleets`)."""
    labourer, settings = resolve_fleet(ConfigStore(clients.dynamodb), labourer_id)
    return LocalFleet(clients, labourer, settings, target_value, clock, scale_in_after=scale_in_after)


def fleet_labourers(labourers: dict[str, Labourer]) -> list[str]:
    """The ids of every fleet labourer (what `ganger local` should start a LocalFleet for)."""
    return sorted(lab.id for lab in labourers.values() if lab.type == "fleet")


def describe(fleet: LocalFleet) -> dict[str, Any]:
    """A summary of what the fleet did: the largest desired capacity, the last state."""
    last = fleet.history[-1] if fleet.history else None
    return {
        "labourer": fleet.labourer.id,
        "max_desired": max((s.desired for s in fleet.history), default=0),
        "desired": last.desired if last else 0,
        "metric": last.metric if last else None,
        "steps": len(fleet.history),
    }
