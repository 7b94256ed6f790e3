"""A fleet scaling out and back, for `ganger local --demo`: ``run_fleet_scenario(ctx) -> dict``.

The scenario makes (if missing) a demo fleet labourer: its queue, an Auto Scaling group at 0, its
`ganger_labourers` entry and `ganger_fleets` settings. It schedules ``tasks`` tasks through the
Scheduler, then runs minute after minute: the Orchestrator and the Scavenger (``ctx.tick``), the
BacklogPerInstance metric (``processors.fleet.metrics``' logic, in-process), and a ``LocalFleet``
step (the target-tracking arithmetic moto never applies, and worker threads that follow the group).
It stops when every task is closed and the group is back at its minimum, or after ``max_minutes``.

Inputs (``FleetScenarioContext``):

- ``clients``: ``AwsClients`` of the running system (moto server or in-process moto);
- ``tick()``: one orchestration minute: run `sosw_orchestrator` and `sosw_scavenger` once and return
  when the invocations they caused have run (``InProcessSystem.tick`` after a ``lam.drain()``, or the
  local runtime invoking both synchronously and settling its Lambda queue);
- ``advance(seconds)``: moves the system's virtual clock, or None when time is real (the metric is
  then handed to the step directly instead of being read back from CloudWatch);
- ``now()``: the system's clock (metric timestamps, the workers' ownership check);
- ``measure(labourer_id)``: optional; runs the metric and returns the value (default: the
  ``processors.fleet.metrics`` processor in-process with ``clients``);
- knobs: ``labourer_id``, ``tasks``, ``target_value``, ``max_size``, ``slots_per_instance``,
  ``processor`` (a sosw-protocol handler path; default the example worker), ``scale_in_after``,
  ``max_minutes``, ``pause_seconds`` (real time given to the workers each minute).

The result: ``ok``, ``summary`` (one line for the demo's table), ``tasks``, ``completed``,
``max_desired``, ``final_desired``, ``max_metric``, ``final_metric``, ``minutes``, and the per-minute
``desired_history`` and ``metric_history``.
"""

from __future__ import annotations

import json
import logging
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import ClientError

from ganger.clients import AwsClients
from ganger.config import ConfigStore
from ganger.fleet.capacity import describe_group
from ganger.fleet.settings import FLEETS_DOCUMENT
from ganger.labourer import LABOURERS_DOCUMENT
from ganger.local.fleet import LocalFleet, local_fleet
from ganger.tasks import STATUS_COMPLETED, TaskStore

logger = logging.getLogger(__name__)
DEMO_AMI = "ami-12c6146b"


@dataclass
class FleetScenarioContext:
    clients: AwsClients
    tick: Callable[[], Any]
    advance: Callable[[float], None] | None = None
    now: Callable[[], float] = time.time
    measure: Callable[[str], float] | None = None
    labourer_id: str = "demo_fleet"
    tasks: int = 200
    target_value: float = 10.0
    max_size: int = 5
    slots_per_instance: int = 2
    processor: str = "examples.sosw_protocol_worker.lambda_handler"
    scale_in_after: int = 3
    max_minutes: int = 60
    pause_seconds: float = 0.3


def ensure_fleet(ctx: FleetScenarioContext) -> None:
    """The demo fleet's queue, group and config entries (left as they are when they exist)."""
    name = ctx.labourer_id
    ctx.clients.sqs.create_queue(QueueName=name, Attributes={"VisibilityTimeout": "60"})
    autoscaling = ctx.clients.get("autoscaling")
    if describe_group(autoscaling, name) is None:
        ec2 = ctx.clients.get("ec2")
        try:
            ec2.create_launch_template(
                LaunchTemplateName=f"{name}-worker",
                LaunchTemplateData={"ImageId": DEMO_AMI, "InstanceType": "t3.small"},
            )
        except ClientError as exc:
            if "AlreadyExists" not in str(exc):
                raise
        autoscaling.create_auto_scaling_group(
            AutoScalingGroupName=name,
            LaunchTemplate={"LaunchTemplateName": f"{name}-worker", "Version": "$Latest"},
            MinSize=0, MaxSize=ctx.max_size, DesiredCapacity=0, AvailabilityZones=["us-east-1a"],
        )  # fmt: skip
    config = ConfigStore(ctx.clients.dynamodb)
    entry = {"type": "fleet", "arn": name, "group_name": name, "max_simultaneous_invocations": 50,
             "slots_per_instance": ctx.slots_per_instance, "duration": 600, "cooldown": 60}  # fmt: skip
    _merge(config, LABOURERS_DOCUMENT, "labourers", name, entry)
    settings = {"processor": ctx.processor, "wait_seconds": 1, "visibility_timeout_seconds": 60,
                "heartbeat_seconds": 20, "stop_grace_seconds": 5}  # fmt: skip
    _merge(config, FLEETS_DOCUMENT, "fleets", name, settings)


def _merge(config: ConfigStore, document: str, section: str, key: str, entry: dict[str, Any]) -> None:
    stored = config.get(document)
    value = dict(stored.value) if stored else {}
    value[section] = {**value.get(section, {}), key: entry}
    config.put(document, value)


def schedule(ctx: FleetScenarioContext, job_id: str) -> int:
    sections = {f"s{i:03d}": None for i in range(ctx.tasks)}
    job = {"job": {"lambda_name": ctx.labourer_id, "job_id": job_id,
                   "payload": {"sections": sections, "isolate_sections": True, "numbers": [1, 2, 3]}}}  # fmt: skip
    response = ctx.clients.lambda_.invoke(FunctionName="sosw_scheduler", Payload=json.dumps(job).encode())
    body = json.loads(response["Payload"].read() or b"null")
    if response.get("FunctionError"):
        raise RuntimeError(f"the Scheduler refused the fleet demo job: {body.get('errorMessage')}")
    return int(body["tasks_created"])


def _default_measure(ctx: FleetScenarioContext) -> Callable[[str], float]:
    from processors.fleet.metrics import FleetMetrics

    metrics = FleetMetrics(clients=ctx.clients, clock=ctx.now)
    return lambda labourer_id: float(metrics({"labourers": [labourer_id]})["fleets"][labourer_id]["value"])


def run_fleet_scenario(ctx: FleetScenarioContext) -> dict[str, Any]:
    """Scale a fleet out for ``ctx.tasks`` tasks and back to its minimum; what happened, as a dict."""
    ensure_fleet(ctx)
    job_id = f"fleet-demo-{uuid.uuid4().hex[:8]}"
    created = schedule(ctx, job_id)
    measure = ctx.measure or _default_measure(ctx)
    fleet = local_fleet(ctx.clients, ctx.labourer_id, ctx.target_value, ctx.now, ctx.scale_in_after)
    metrics: list[float] = []
    fleet.start()
    try:
        for _ in range(ctx.max_minutes):
            _minute(ctx, fleet, measure, metrics)
            if _completed(ctx, job_id) >= created and fleet.history[-1].desired == 0:
                break
    finally:
        fleet.stop()
    return _summary(ctx, fleet, metrics, created, _completed(ctx, job_id))


def _minute(
    ctx: FleetScenarioContext, fleet: LocalFleet, measure: Callable[[str], float], metrics: list[float]
) -> None:
    if ctx.advance is not None:
        ctx.advance(60)
    ctx.tick()
    metrics.append(measure(ctx.labourer_id))
    fleet.step() if ctx.advance is not None else fleet.step(metric=metrics[-1])
    time.sleep(ctx.pause_seconds)


def _completed(ctx: FleetScenarioContext, job_id: str) -> int:
    closed = TaskStore(ctx.clients.dynamodb).closed(ctx.labourer_id, STATUS_COMPLETED, 0)
    return sum(1 for task in closed if task.job_id == job_id)


def _summary(ctx: FleetScenarioContext, fleet: LocalFleet, metrics: list[float], created: int,
             completed: int) -> dict[str, Any]:  # fmt: skip
    desired = [step.desired for step in fleet.history]
    final = desired[-1] if desired else 0
    ok = completed == created and max(desired, default=0) > 0 and final == 0
    summary = (
        f"{completed}/{created} tasks on fleet {ctx.labourer_id}: scaled 0 -> {max(desired, default=0)} "
        f"-> {final} instances in {len(desired)} minutes (BacklogPerInstance peak {max(metrics, default=0):g})"
    )
    return {
        "name": "fleet scaling", "ok": ok, "summary": summary, "labourer": ctx.labourer_id, "tasks": created,
        "completed": completed, "max_desired": max(desired, default=0), "final_desired": final,
        "max_metric": max(metrics, default=0.0), "final_metric": metrics[-1] if metrics else 0.0,
        "minutes": len(desired), "desired_history": desired, "metric_history": metrics,
    }  # fmt: skip
