"""Orchestrator: every minute, dispatch queued tasks to each labourer within its limits.

desired = floor(max_simultaneous_invocations x coefficient(health)) - running. It claims that many
queued tasks in conditional transactions and invokes each; a failed dispatch goes back to the
front of the queue at once, and one labourer's failure never stops the others.
"""

from __future__ import annotations

import logging
import math
import uuid
from dataclasses import dataclass
from typing import Any

from aws_lambda_powertools import Logger

from ganger.dispatch import Dispatcher, LambdaDispatcher
from ganger.documents import OrchestratorConfig
from ganger.ecology import Ecology
from ganger.errors import DispatchError
from ganger.fleet import SqsDispatcher, fleet_capacity
from ganger.labourer import Labourer
from ganger.processor import Processor, handler_for

logger = logging.getLogger(__name__)
Logger(service="sosw_orchestrator")


def desired_invocations(max_simultaneous: int, coefficient: float, running: int) -> int:
    """How many tasks to dispatch now (never negative)."""
    return max(0, math.floor(max_simultaneous * coefficient) - running)


@dataclass
class LabourerRun:
    labourer_id: str
    status: int = 4
    running: int = 0
    desired: int = 0
    claimed: int = 0
    dispatched: int = 0
    dispatch_errors: int = 0


class Orchestrator(Processor[OrchestratorConfig]):
    config_class = OrchestratorConfig
    default_function_name = "sosw_orchestrator"
    uses_labourers = True

    def __init__(self, *args: Any, dispatchers: dict[str, Dispatcher] | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._dispatchers = dispatchers

    def dispatcher(self, labourer: Labourer) -> Dispatcher:
        if self._dispatchers is None:
            self._dispatchers = {
                "lambda": LambdaDispatcher(self.clients.lambda_),
                "fleet": SqsDispatcher(self.clients.sqs),
            }
        if labourer.type not in self._dispatchers:
            raise DispatchError("-", labourer.id, f"no dispatcher for labourer type {labourer.type!r}")
        return self._dispatchers[labourer.type]

    def handle(self, event: Any) -> dict[str, Any]:
        config = self.config
        now = self.clock()
        runs = []
        for labourer in self._selected(config):
            try:
                runs.append(self.run_labourer(labourer, config, now))
            except Exception:  # one labourer's failure never stops the others
                logger.exception("orchestrating labourer %s failed", labourer.id)
                self.stats["labourer_errors"] += 1
        return {"labourers": {r.labourer_id: r.__dict__ for r in runs}, "stats": dict(self.stats)}

    def _selected(self, config: OrchestratorConfig) -> list[Labourer]:
        labourers = self.labourers()
        if not config.labourers:
            return list(labourers.values())
        return [labourers[name] for name in config.labourers if name in labourers]

    def run_labourer(self, labourer: Labourer, config: OrchestratorConfig, now: float) -> LabourerRun:
        run = LabourerRun(labourer.id)
        queued = self.store.queued(labourer.id, now, limit=labourer.max_simultaneous_invocations)
        if queued:
            run.status = Ecology(self.clients.cloudwatch).status(labourer)
            run.running = self.store.count_running(labourer.id, labourer.running_after(now))
            coefficient = config.invocation_number_coefficient.get(str(run.status), 0.0)
            run.desired = desired_invocations(self.concurrency(labourer), coefficient, run.running)
        if run.desired > 0:
            self._dispatch(labourer, queued[: run.desired], now, run)
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

    def concurrency(self, labourer: Labourer) -> int:
        """A fleet's follows its InService instances (one DescribeAutoScalingGroups); a Lambda's is configured."""
        if labourer.type == "fleet":
            return fleet_capacity(self.clients.get("autoscaling"), labourer)
        return labourer.max_simultaneous_invocations

    def _dispatch(self, labourer: Labourer, tasks: list[Any], now: float, run: LabourerRun) -> None:
        tokens = [uuid.uuid4().hex for _ in tasks]
        claimed = self.store.claim(tasks, now, tokens, labourer.invoked_greenfield(now))
        run.claimed = len(claimed)
        dispatcher = self.dispatcher(labourer)
        many = getattr(dispatcher, "dispatch_many", None)
        failed = (
            list(many(labourer, claimed)) if many is not None else self._dispatch_each(dispatcher, labourer, claimed)
        )
        run.dispatched = len(claimed) - len(failed)
        if failed:
            run.dispatch_errors = len(failed)
            positions = self.store.reserve_positions(labourer.id, len(failed), front=True)
            for task, position in zip(failed, positions, strict=True):
                self.store.release(task, position)

    @staticmethod
    def _dispatch_each(dispatcher: Dispatcher, labourer: Labourer, claimed: list[Any]) -> list[Any]:
        failed = []
        for task in claimed:
            try:
                dispatcher.dispatch(labourer, task)
            except DispatchError as exc:
                if exc.ambiguous:  # Lambda may be running it: it reports, or expires and is retried
                    logger.warning("%s; leaving the task invoked", exc)
                    continue
                logger.warning("%s; returning the task to the front of the queue", exc)
                failed.append(task)
        return failed


lambda_handler = handler_for(Orchestrator)
