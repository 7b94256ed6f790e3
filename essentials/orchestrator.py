"""Orchestrator: dispatch queued tasks to each labourer within its limits.

It runs on the minute rule (the safety net: every labourer) and when nudged with
``{"labourer_id": ...}`` (one labourer; the Scheduler nudges it for a labourer whose slot counter has no
cap yet). For each labourer with queued tasks: cap = floor(max_simultaneous_invocations x
coefficient(health)) (a fleet: its capacity), written to the labourer's slot counter, and as many queued
tasks as the counter has free slots are claimed and dispatched in parallel; a failed dispatch goes back to
the front of the queue at once, and one labourer's failure never stops the others.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from typing import Any

from aws_lambda_powertools import Logger

from ganger.documents import OrchestratorConfig
from ganger.ecology import Ecology
from ganger.errors import InvalidEvent
from ganger.fleet import fleet_capacity
from ganger.labourer import Labourer
from ganger.processor import Processor, handler_for
from ganger.slots import Slots

logger = logging.getLogger(__name__)
Logger(service="sosw_orchestrator")


def desired_invocations(max_simultaneous: int, coefficient: float, running: int) -> int:
    """How many tasks to dispatch now (never negative)."""
    return max(0, effective_cap(max_simultaneous, coefficient) - running)


def effective_cap(max_simultaneous: int, coefficient: float) -> int:
    """The most tasks the labourer may run at once at this health."""
    return max(0, math.floor(max_simultaneous * coefficient))


@dataclass
class LabourerRun:
    labourer_id: str
    status: int = 4
    cap: int = 0
    running: int = 0
    desired: int = 0
    claimed: int = 0
    dispatched: int = 0
    dispatch_errors: int = 0


class Orchestrator(Processor[OrchestratorConfig]):
    config_class = OrchestratorConfig
    default_function_name = "sosw_orchestrator"
    uses_labourers = True

    def handle(self, event: Any) -> dict[str, Any]:
        config = self.config
        now = self.clock()
        runs = []
        for labourer in self._selected(config, event):
            try:
                runs.append(self.run_labourer(labourer, config, now))
            except Exception:  # one labourer's failure never stops the others
                logger.exception("orchestrating labourer %s failed", labourer.id)
                self.stats["labourer_errors"] += 1
        return {"labourers": {r.labourer_id: r.__dict__ for r in runs}, "stats": dict(self.stats)}

    def _selected(self, config: OrchestratorConfig, event: Any) -> list[Labourer]:
        labourers = self.labourers()
        names = list(config.labourers) or list(labourers)
        nudged = event.get("labourer_id") if isinstance(event, dict) else None
        if nudged is not None:
            if not isinstance(nudged, str):
                raise InvalidEvent("labourer_id", f"expected a string, got {type(nudged).__name__}")
            if nudged not in names:
                logger.warning("nudged for labourer %s, which this Orchestrator does not run", nudged)
            names = [nudged] if nudged in names else []
        return [labourers[name] for name in names if name in labourers]

    def run_labourer(self, labourer: Labourer, config: OrchestratorConfig, now: float) -> LabourerRun:
        run = LabourerRun(labourer.id)
        queued = self.store.queued(labourer.id, now, limit=labourer.max_simultaneous_invocations)
        if queued:
            run.status = Ecology(self.clients.cloudwatch).status(labourer)
            coefficient = config.invocation_number_coefficient.get(str(run.status), 0.0)
            run.cap = effective_cap(self.concurrency(labourer), coefficient)
            slots = self.slots(labourer, run.cap, now)
            run.running = slots.held
            run.desired = min(len(queued), max(0, slots.free))
        if run.desired > 0:
            started = self.starter.start(labourer, queued[: run.desired], now)
            run.claimed, run.dispatched, run.dispatch_errors = started.claimed, started.dispatched, started.released
            if started.given_back:
                self.stats["given_back"] += started.given_back
        self.stats["dispatched"] += run.dispatched
        self.stats["dispatch_errors"] += run.dispatch_errors
        oldest = now - queued[0].created_at if queued else 0
        self.emit_metrics(
            {"labourer": labourer.id},
            # Queued is what this run read: at most max_simultaneous_invocations (no extra count query).
            {"Dispatched": run.dispatched, "DispatchErrors": run.dispatch_errors, "Running": run.running,
             "Queued": len(queued), "OldestQueuedAge": oldest},
        )  # fmt: skip
        return run

    def slots(self, labourer: Labourer, cap: int, now: float) -> Slots:
        """The labourer's slot counter with its cap set to ``cap`` (created at the first run with work; the
        tasks already invoked then, say by sosw's Orchestrator before a switch, hold their slots)."""
        counter = self.store.slots
        for _ in range(3):
            current = counter.read(labourer.id)
            held = self.store.count_invoked(labourer.id, now) if current is None else 0
            updated = counter.set_cap(labourer.id, cap, current, held)
            if updated is not None:
                return updated
        raise RuntimeError(f"labourer {labourer.id}: its slot counter kept changing while its cap was set")

    def concurrency(self, labourer: Labourer) -> int:
        """A fleet's follows its InService instances (one DescribeAutoScalingGroups); a Lambda's is configured."""
        if labourer.type == "fleet":
            return fleet_capacity(self.clients.get("autoscaling"), labourer)
        return labourer.max_simultaneous_invocations


lambda_handler = handler_for(Orchestrator)
