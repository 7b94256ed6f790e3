"""A fleet labourer on in-process moto: yaml/fleet.yaml deployed through CloudFormation, the essentials
and the fleet_metrics Lambda in-process, and a LocalFleet whose instances run the real worker loop."""

from __future__ import annotations

import io
import time
import warnings
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3
import pytest

from benchmarks.harness import Clock, InProcessSystem
from ganger.local.fleet import LocalFleet, StepResult, local_fleet
from processors.fleet.metrics import FleetMetrics
from tests.functional.fleet import handlers

ROOT = Path(__file__).resolve().parents[3]
FLEET = "test_fleet"
MAX_SIZE = 6
LABOURER = {
    "type": "fleet",
    "arn": FLEET,
    "group_name": FLEET,
    "max_simultaneous_invocations": 40,
    "slots_per_instance": 2,
    "duration": 3600,
    "cooldown": 60,
    "max_attempts": 3,
    "retry": {"base_seconds": 0, "factor": 1, "cap_seconds": 0},
}
SETTINGS = {
    "processor": "tests.functional.fleet.handlers.lambda_handler",
    "function_name": "fleet_test_worker",
    "wait_seconds": 1,
    "visibility_timeout_seconds": 4,
    "heartbeat_seconds": 1,
    "stop_grace_seconds": 3,
}


def deploy_fleet_stack(region: str = "us-east-1") -> None:
    s3 = boto3.client("s3", region_name=region)
    package = io.BytesIO()
    with zipfile.ZipFile(package, "w") as archive:
        archive.writestr("processors/__init__.py", "")
    s3.create_bucket(Bucket="ganger-code")
    s3.put_object(Bucket="ganger-code", Key="ganger.zip", Body=package.getvalue())
    cloudformation = boto3.client("cloudformation", region_name=region)
    parameters = {
        "CodeBucket": "ganger-code",
        "CodeKey": "ganger.zip",
        "MetricsCodeKey": "ganger.zip",
        "FleetName": FLEET,
        "MaxSize": str(MAX_SIZE),
        "QueueVisibilitySeconds": str(SETTINGS["visibility_timeout_seconds"]),
    }
    with warnings.catch_warnings():  # moto: "Tried to parse AWS::AutoScaling::ScalingPolicy" (it makes nothing)
        warnings.simplefilter("ignore", UserWarning)
        cloudformation.create_stack(
            StackName="ganger-fleet",
            TemplateBody=(ROOT / "yaml" / "fleet.yaml").read_text(),
            Capabilities=["CAPABILITY_IAM"],
            Parameters=[{"ParameterKey": k, "ParameterValue": v} for k, v in parameters.items()],
        )
    cloudformation.get_waiter("stack_create_complete").wait(StackName="ganger-fleet", WaiterConfig={"Delay": 0.1})


@dataclass
class FleetRig:
    system: InProcessSystem
    clock: Clock
    fleet: LocalFleet
    queue_url: str
    metrics: list[float] = field(default_factory=list)

    def minute(self, pause: float = 0.2) -> StepResult:
        """One minute of the system: the clock moves, workers' reports are handled, the Orchestrator and the
        Scavenger run, the metric is put, the group follows its policy. Then the workers get a moment."""
        self.clock.advance(60)
        self.system.lam.drain()
        self.system.tick()
        measured = self.system.run("ganger_fleet_metrics", {"labourers": [FLEET]})
        self.metrics.append(measured["fleets"][FLEET]["value"])
        step = self.fleet.step()
        time.sleep(pause)
        return step

    def messages(self) -> tuple[int, int]:
        """(visible, in flight) messages in the fleet's queue."""
        attributes = self.system.clients.sqs.get_queue_attributes(
            QueueUrl=self.queue_url,
            AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
        )["Attributes"]
        return int(attributes["ApproximateNumberOfMessages"]), int(attributes["ApproximateNumberOfMessagesNotVisible"])

    def desired(self) -> int:
        group = self.system.clients.get("autoscaling").describe_auto_scaling_groups(AutoScalingGroupNames=[FLEET])
        return int(group["AutoScalingGroups"][0]["DesiredCapacity"])

    def schedule(self, n: int, job_id: str = "fleet-job") -> dict[str, Any]:
        sections = {f"s{i:03d}": None for i in range(n)}
        job = {"job": {"lambda_name": FLEET, "job_id": job_id, "payload": {"sections": sections,
                                                                           "isolate_sections": True}}}  # fmt: skip
        return self.system.schedule(job)


def wait_until(condition: Callable[[], bool], timeout: float = 20.0, step: Callable[[], Any] | None = None) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        if step is not None:
            step()
        time.sleep(0.05)
    return condition()


@pytest.fixture
def rig(system: InProcessSystem, clock: Clock, monkeypatch: pytest.MonkeyPatch) -> Iterator[FleetRig]:
    monkeypatch.setenv("GANGER_CONFIG_TTL_SECONDS", "0")
    handlers.reset()
    deploy_fleet_stack()
    system.set_labourers({FLEET: LABOURER})
    system.config.put("ganger_fleets", {"fleets": {FLEET: SETTINGS}})
    system.register_worker("ganger_fleet_metrics", FleetMetrics(clients=system.clients, clock=clock))
    fleet = local_fleet(system.clients, FLEET, target_value=10, clock=clock, scale_in_after=3)
    fleet.start()
    queue_url = system.clients.sqs.get_queue_url(QueueName=FLEET)["QueueUrl"]
    try:
        yield FleetRig(system, clock, fleet, queue_url)
    finally:
        fleet.stop()
