"""processors/fleet/metrics.py on moto: BacklogPerInstance per fleet, put to CloudWatch with the labourer dimension."""

from __future__ import annotations

import datetime

import pytest

from benchmarks.harness import Clock, InProcessSystem
from processors.fleet.metrics import FleetMetrics
from tests.functional.fleet.conftest import FLEET, LABOURER, SETTINGS, deploy_fleet_stack


@pytest.fixture
def metrics(system: InProcessSystem, clock: Clock, monkeypatch: pytest.MonkeyPatch) -> FleetMetrics:
    monkeypatch.setenv("GANGER_CONFIG_TTL_SECONDS", "0")
    deploy_fleet_stack()
    system.set_labourers({FLEET: LABOURER, "example_worker": {"max_simultaneous_invocations": 5}})
    system.config.put("ganger_fleets", {"fleets": {FLEET: SETTINGS}})
    return FleetMetrics(clients=system.clients, clock=clock)


def schedule(system: InProcessSystem, n: int) -> None:
    sections = {f"s{i}": None for i in range(n)}
    system.schedule({"job": {"lambda_name": FLEET, "payload": {"sections": sections, "isolate_sections": True}}})


def put_in_cloudwatch(system: InProcessSystem, clock: Clock) -> list[float]:
    end = datetime.datetime.fromtimestamp(clock.now + 60, datetime.UTC)
    response = system.clients.cloudwatch.get_metric_statistics(
        Namespace="ganger", MetricName="BacklogPerInstance", Dimensions=[{"Name": "labourer", "Value": FLEET}],
        StartTime=end - datetime.timedelta(minutes=5), EndTime=end, Period=60, Statistics=["Maximum"],
    )  # fmt: skip
    return [p["Maximum"] for p in sorted(response["Datapoints"], key=lambda p: p["Timestamp"])]


def test_no_backlog_reads_zero(metrics: FleetMetrics, system: InProcessSystem, clock: Clock) -> None:
    result = metrics({})
    assert set(result["fleets"]) == {FLEET}  # only fleet labourers are measured
    assert result["fleets"][FLEET]["value"] == 0.0
    assert put_in_cloudwatch(system, clock) == [0.0]


def test_backlog_on_an_empty_group_makes_it_scale_out(metrics: FleetMetrics, system: InProcessSystem) -> None:
    schedule(system, 7)
    fleet = metrics({"labourers": [FLEET]})["fleets"][FLEET]
    assert fleet == {"labourer_id": FLEET, "queued": 7, "visible": 0, "in_service": 0, "value": 99.0}


def test_queued_tasks_and_visible_messages_per_in_service_instance(
    metrics: FleetMetrics, system: InProcessSystem, clock: Clock
) -> None:
    schedule(system, 30)
    system.clients.get("autoscaling").set_desired_capacity(AutoScalingGroupName=FLEET, DesiredCapacity=4)
    system.tick()  # 4 InService x 2 slots: 8 tasks go to the queue, 22 stay queued in DynamoDB
    clock.advance(60)
    fleet = metrics({})["fleets"][FLEET]
    assert (fleet["queued"], fleet["visible"], fleet["in_service"]) == (22, 8, 4)
    assert fleet["value"] == 7.5
    assert put_in_cloudwatch(system, clock) == [7.5]
