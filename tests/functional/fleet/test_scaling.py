"""200 tasks for a fleet whose group is at 0: it scales out on BacklogPerInstance, drains, and scales back."""

from __future__ import annotations

from ganger.tasks import STATUS_COMPLETED
from tests.functional.fleet import handlers
from tests.functional.fleet.conftest import FLEET, LABOURER, MAX_SIZE, FleetRig


def test_fleet_scales_out_drains_the_queue_and_returns_to_its_minimum(rig: FleetRig) -> None:
    assert rig.desired() == 0
    assert rig.schedule(200)["tasks_created"] == 200

    steps = [rig.minute()]
    assert rig.metrics[0] == 200.0  # nothing InService: the whole backlog, so the group scales out
    assert steps[0].desired == MAX_SIZE  # ceil(200 / 10) = 20, clamped to the group's max
    for _ in range(60):
        steps.append(rig.minute())
        if len(rig.system.scan("sosw_closed_tasks")) == 200 and rig.desired() == 0:
            break

    closed = rig.system.scan("sosw_closed_tasks")
    assert len(closed) == 200
    assert {row["labourer_id_task_status"] for row in closed} == {f"{FLEET}_{STATUS_COMPLETED}"}
    assert sorted(row["result_sections"][0] for row in closed) == [f"s{i:03d}" for i in range(200)]
    assert rig.system.scan("sosw_tasks") == [] and rig.system.scan("sosw_retry_tasks") == []
    assert len(handlers.RUNS) == 200

    # The metric rose, then fell to 0; the group grew and returned to its minimum of 0.
    assert max(rig.metrics) >= 99 and rig.metrics[-1] == 0.0
    assert max(s.desired for s in steps) == MAX_SIZE
    assert max(s.in_service for s in steps) == MAX_SIZE
    assert steps[-1].desired == 0 and rig.desired() == 0
    print("metric", [round(m, 1) for m in rig.metrics], "desired", [s.desired for s in steps])
    assert rig.messages() == (0, 0)
    rig.fleet.stop()
    assert rig.fleet.processes == {}


def test_orchestrator_dispatches_no_more_than_the_fleet_can_run(rig: FleetRig) -> None:
    rig.schedule(50)
    rig.system.tick()  # the group is at 0: nothing InService, nothing dispatched
    assert rig.messages() == (0, 0)
    group = rig.system.clients.get("autoscaling")
    group.set_desired_capacity(AutoScalingGroupName=FLEET, DesiredCapacity=3)  # no workers started: no step
    orchestrated, _ = rig.system.tick()
    assert orchestrated["labourers"][FLEET]["dispatched"] == 6  # 3 InService x 2 slots
    visible, in_flight = rig.messages()
    assert visible + in_flight == 6


def test_config_routes_the_same_processor_to_a_lambda_or_to_the_fleet(rig: FleetRig) -> None:
    """One processor, two labourers: a job's lambda_name picks Lambda or fleet; no code changes."""
    lambda_entry = {"type": "lambda", "arn": "fleet_test_worker", "max_simultaneous_invocations": 10}
    rig.system.set_labourers({FLEET: LABOURER, "fleet_test_worker": lambda_entry})
    rig.system.register_worker("fleet_test_worker", handlers.lambda_handler)
    for labourer in (FLEET, "fleet_test_worker"):
        sections = {f"{labourer}-{i}": None for i in range(4)}
        rig.system.schedule({"job": {"lambda_name": labourer, "payload": {"sections": sections,
                                                                          "isolate_sections": True}}})  # fmt: skip
    for _ in range(10):
        rig.minute()
        if len(rig.system.scan("sosw_closed_tasks")) == 8:
            break
    closed = rig.system.scan("sosw_closed_tasks")
    by_labourer = {lab: sorted(r["result_sections"][0] for r in closed if r["labourer_id"] == lab)
                   for lab in (FLEET, "fleet_test_worker")}  # fmt: skip
    assert by_labourer == {lab: [f"{lab}-{i}" for i in range(4)] for lab in by_labourer}
    assert rig.system.lam.invocations["fleet_test_worker"] == 4  # the Lambda labourer's tasks were invoked
    assert max(s.in_service for s in rig.fleet.history) > 0  # the fleet's ran on instances
