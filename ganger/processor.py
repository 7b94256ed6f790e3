"""Processor: the base of every ganger Lambda.

It owns the Lambda's config document (``<function name>_config``, merged over the class's typed
defaults, re-read after a short TTL, last good value kept), its injected AWS clients, per-run
stats and EMF metrics. Nothing here does I/O before the first invocation.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections import Counter
from collections.abc import Callable
from typing import Any, ClassVar, Generic, TypeVar

from aws_lambda_powertools.metrics import EphemeralMetrics, MetricUnit
from botocore.exceptions import BotoCoreError, ClientError

from ganger import constants, schema
from ganger.clients import AwsClients
from ganger.config import ConfigStore, TypedConfig, refresh_together
from ganger.dispatch import Dispatcher, Dispatchers
from ganger.errors import TransientAwsError
from ganger.labourer import Labourer, labourers_config
from ganger.rates import wake_pacer
from ganger.starts import DEFAULT_POOL_SIZE, Started, Starter
from ganger.tasks import TaskStore

logger = logging.getLogger(__name__)
C = TypeVar("C")
P = TypeVar("P", bound="Processor[Any]")
METRICS_NAMESPACE = "ganger"


class Processor(Generic[C]):
    """Base class: subclasses set ``config_class`` (a dataclass with defaults) and implement ``handle``."""

    config_class: ClassVar[type[Any]]
    default_function_name: ClassVar[str] = "ganger_processor"
    uses_labourers: ClassVar[bool] = False  # every run needs the labourers: read both documents at once
    dispatch_pool_size: int = DEFAULT_POOL_SIZE  # parallel dispatches when this Lambda starts tasks

    def __init__(
        self,
        clients: AwsClients | None = None,
        config_store: ConfigStore | None = None,
        function_name: str | None = None,
        clock: Callable[[], float] = time.time,
        config_clock: Callable[[], float] = time.monotonic,
        dispatchers: dict[str, Dispatcher] | None = None,
    ) -> None:
        self.clients = clients or AwsClients()
        self._dispatcher_overrides = dispatchers
        self._starter: Starter | None = None
        self._nudged: set[str] = set()
        self.config_clock = config_clock
        self._config_store = config_store
        self.function_name = function_name
        self.clock = clock
        self.stats: Counter[str] = Counter()
        self._config: TypedConfig[C] | None = None
        self._labourers: TypedConfig[dict[str, Labourer]] | None = None
        self._store: TaskStore | None = None
        self.context: Any = None

    # ---- config --------------------------------------------------------------------------------

    @property
    def store(self) -> TaskStore:
        """The task tables (created on first use)."""
        if self._store is None:
            self._store = TaskStore(self.clients.dynamodb)
        return self._store

    @property
    def starter(self) -> Starter:
        """Starts a labourer's queued tasks in its free slots (created on first use)."""
        if self._starter is None:
            dispatchers = Dispatchers(self.clients, self._dispatcher_overrides)
            self._starter = Starter(
                self.store,
                dispatchers,
                pool_size=self.dispatch_pool_size,
                rand=self.store.rand,
                sleep=self.store.sleep,
                clock=self.clock,
            )
        return self._starter

    @property
    def config_store(self) -> ConfigStore:
        if self._config_store is None:
            self._config_store = ConfigStore(self.clients.dynamodb)
        return self._config_store

    @property
    def config_name(self) -> str:
        return f"{self.function_name or self.default_function_name}_config"

    def _typed_config(self) -> TypedConfig[C]:
        if self._config is None:
            cls = self.config_class
            self._config = TypedConfig(
                lambda: self.config_store,
                self.config_name,
                lambda doc: schema.parse(cls, doc),
                schema.to_dict(cls()),
                clock=self.config_clock,
            )
        return self._config

    def _labourers_config(self) -> TypedConfig[dict[str, Labourer]]:
        if self._labourers is None:
            self._labourers = labourers_config(lambda: self.config_store, clock=self.config_clock)
        return self._labourers

    @property
    def config(self) -> C:
        """This Lambda's typed config (cached for the TTL)."""
        return self._typed_config().get()

    def labourers(self) -> dict[str, Labourer]:
        """Every labourer, from the one `ganger_labourers` document (cached for the TTL)."""
        return self._labourers_config().get()

    # ---- running -------------------------------------------------------------------------------

    def __call__(self, event: Any, context: Any = None) -> Any:
        self.context = context
        if context is not None and getattr(context, "function_name", None):
            self.function_name = context.function_name
        elif self.function_name is None:
            self.function_name = constants.getenv(constants.ENV_FUNCTION_NAME) or self.default_function_name
        self.stats = Counter()
        self._nudged = set()
        if self.uses_labourers:
            refresh_together(self.config_store, [self._typed_config(), self._labourers_config()])
        try:
            return self.handle(event)
        finally:
            if self.stats:
                logger.info("%s run stats: %s", self.function_name, dict(self.stats))

    def handle(self, event: Any) -> Any:
        raise NotImplementedError

    def start_queued(self, labourer: Labourer, now: float, limit: int | None = None) -> Started:
        """Event-driven dispatch: start the labourer's queued tasks in its free slots now. A labourer whose slot
        counter has no cap yet is left to the Orchestrator, nudged once per run; a "tick" labourer waits for
        the minute rule. Best effort: when AWS fails here the tasks stay queued for the next start or tick, and
        the work that called this (a job written, a report stored) is not undone."""
        if labourer.dispatch != "event":
            return Started()
        try:
            started = self.starter.fill(labourer, now, limit)
            if started is None:
                self.nudge_orchestrator(labourer.id)
                return Started()
        except (ClientError, BotoCoreError, TransientAwsError) as exc:
            logger.warning("labourer %s: could not start queued tasks now (%s); the minute tick will", labourer.id, exc)
            self.stats["start_errors"] += 1
            return Started()
        self.stats["started"] += started.dispatched
        self.count_start(started)
        self.pace_if_held(labourer, started)
        return started

    def pace_if_held(self, labourer: Labourer, started: Started) -> None:
        """A rate-limited labourer left with queued tasks and no pacer: wake one (``ganger.rates``), once per run.
        Best effort: the minute tick's start wakes one too."""
        key = f"pace#{labourer.id}"
        if not (started.rate_backlog and started.pacer_idle) or key in self._nudged:
            return
        self._nudged.add(key)
        try:
            wake_pacer(self.clients.lambda_, labourer.id, self.function_name or "")
            self.stats["pacer_wakes"] += 1
        except (ClientError, BotoCoreError) as exc:
            logger.warning("labourer %s: no pacer woken (%s); the minute tick wakes one", labourer.id, exc)

    def count_start(self, started: Started) -> None:
        """The stats of a start's side outcomes: attempts given back, releases that failed even after retries."""
        if started.given_back:
            self.stats["given_back"] += started.given_back
        if started.release_failed:
            self.stats["release_failed"] += started.release_failed

    def nudge_orchestrator(self, labourer_id: str) -> None:
        """Ask the Orchestrator (InvocationType Event) to run one labourer now; once per run."""
        if labourer_id in self._nudged:
            return
        self._nudged.add(labourer_id)
        function = constants.getenv(constants.ENV_ORCHESTRATOR_FUNCTION) or constants.DEFAULT_ORCHESTRATOR_FUNCTION
        payload = json.dumps({"labourer_id": labourer_id, "nudged_by": self.function_name}).encode()
        self.clients.lambda_.invoke(FunctionName=function, InvocationType="Event", Payload=payload)
        self.stats["orchestrator_nudges"] += 1

    def remaining_seconds(self) -> float:
        """Time left in this invocation (from the Lambda context); plenty when run outside Lambda."""
        if self.context is not None and hasattr(self.context, "get_remaining_time_in_millis"):
            return float(self.context.get_remaining_time_in_millis()) / 1000.0
        return 900.0

    def emit_metrics(self, dimensions: dict[str, str], values: dict[str, float]) -> None:
        """One EMF blob with these dimensions (Powertools prints it; CloudWatch turns it into metrics).
        Nothing when every value is zero: an idle labourer's graphs show gaps, not a blob a minute."""
        if not any(values.values()):
            return
        metrics = EphemeralMetrics(namespace=METRICS_NAMESPACE, service=self.function_name)
        metrics.add_dimensions(**dimensions)
        for name, value in values.items():
            unit = MetricUnit.Seconds if name.endswith("Age") else MetricUnit.Count
            metrics.add_metric(name=name, unit=unit, value=value)
        metrics.flush_metrics()


_generation = 0


def reset_processors() -> None:
    """Make every ``handler_for`` handler build a fresh processor (a "cold start"; tests use it)."""
    global _generation
    _generation += 1


def handler_for(factory: Callable[[], Processor[Any]]) -> Callable[[Any, Any], Any]:
    """A ``lambda_handler`` that builds its processor on first use, one per thread.

    On AWS a container runs one invocation at a time; the local runtime runs several at once in one
    process, so each thread gets its own processor, as each container would.
    """
    local = threading.local()

    def lambda_handler(event: Any, context: Any) -> Any:
        processor = getattr(local, "processor", None)
        if processor is None or getattr(local, "generation", None) != _generation:
            processor = local.processor = factory()
            local.generation = _generation
        return processor(event, context)

    return lambda_handler
