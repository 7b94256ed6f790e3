"""An in-process ganger: the real tables (deployed from yaml/ through CloudFormation), the config
folder, the four essentials and any workers, all in one process on in-process moto.

Tests and benchmarks drive it tick by tick: ``tick()`` runs the Orchestrator and the Scavenger once,
as their every-minute rules would, and then every invocation they caused.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import boto3

from ganger.clients import AwsClients
from ganger.config import ConfigStore, load_folder
from ganger.documents import validate
from ganger.labourer import LABOURERS_DOCUMENT
from ganger.local.inprocess import InProcessLambda
from ganger.processor import Processor
from ganger.tasks import TaskStore

ROOT = Path(__file__).resolve().parents[1]
TABLES_TEMPLATE = ROOT / "yaml" / "tables.yaml"
CONFIG_DIR = ROOT / "config"
ESSENTIALS = ("sosw_scheduler", "sosw_orchestrator", "sosw_scavenger", "sosw_worker_assistant")


class Clock:
    """A settable clock: essentials read it instead of the wall clock."""

    def __init__(self, now: float) -> None:
        self.now = float(now)

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def deploy_tables(cloudformation: Any, stack_name: str = "ganger-tables", template: Path = TABLES_TEMPLATE) -> None:
    """Create the tables stack and wait for it, as on AWS."""
    cloudformation.create_stack(StackName=stack_name, TemplateBody=template.read_text())
    cloudformation.get_waiter("stack_create_complete").wait(StackName=stack_name, WaiterConfig={"Delay": 0.1})


class InProcessSystem:
    """Everything wired together; call inside ``moto.mock_aws()`` (or against any endpoint)."""

    def __init__(
        self,
        clock: Callable[[], float] | None = None,
        region: str = "us-east-1",
        config_clock: Callable[[], float] | None = None,
    ) -> None:
        self.clock = clock
        self.config_clock = config_clock
        self.region = region
        self.lam = InProcessLambda()
        self.clients = AwsClients(region=region)
        self.store = TaskStore(self.clients.dynamodb)
        self.config = ConfigStore(self.clients.dynamodb)
        self.essentials: dict[str, Any] = {}

    def deploy(self, labourers: dict[str, Any] | None = None, wake_ahead_seconds: float = 0) -> InProcessSystem:
        """Tables from the template, the config folder, then (optionally) a labourers document. The Scavenger
        waits for retries due soon only with ``wake_ahead_seconds`` (its sleep must move this system's clock)."""
        deploy_tables(boto3.client("cloudformation", region_name=self.region))
        load_folder(self.config, CONFIG_DIR, validate)
        scavenger = self.config.get("sosw_scavenger_config")
        value = scavenger.value if scavenger is not None else {}
        self.config.put("sosw_scavenger_config", {**value, "wake_ahead_seconds": wake_ahead_seconds})
        if labourers is not None:
            self.set_labourers(labourers)
        self._register_essentials()
        return self

    def set_labourers(self, labourers: dict[str, Any]) -> None:
        validate(LABOURERS_DOCUMENT, {"labourers": labourers})
        self.config.put(LABOURERS_DOCUMENT, {"labourers": labourers})
        for processor in self.essentials.values():
            if processor._labourers is not None:
                processor._labourers.invalidate()

    def _register_essentials(self) -> None:
        from essentials.orchestrator import Orchestrator
        from essentials.scavenger import Scavenger
        from essentials.scheduler import Scheduler
        from essentials.worker_assistant import WorkerAssistant

        kinds: dict[str, type[Processor[Any]]] = dict(
            zip(ESSENTIALS, (Scheduler, Orchestrator, Scavenger, WorkerAssistant), strict=True)
        )
        for name, cls in kinds.items():
            kwargs: dict[str, Any] = {"clients": self.clients, "function_name": name}
            if self.clock is not None:
                kwargs["clock"] = self.clock
            if self.config_clock is not None:
                kwargs["config_clock"] = self.config_clock
            processor = cls(**kwargs)
            self.essentials[name] = processor
            self.lam.register(name, processor)

    def register_worker(self, name: str, handler: Callable[[Any, Any], Any]) -> None:
        self.lam.register(name, handler)

    def schedule(self, job: dict[str, Any]) -> dict[str, Any]:
        """Send a job to the Scheduler, synchronously, through the Lambda API."""
        response = self.clients.lambda_.invoke(FunctionName="sosw_scheduler", Payload=json.dumps(job).encode())
        body = json.loads(response["Payload"].read() or b"null")
        if response.get("FunctionError"):
            raise RuntimeError(body.get("errorMessage", body))
        self.lam.drain()
        return dict(body)

    def run(self, name: str, event: Any | None = None) -> Any:
        result = self.lam.run(name, event if event is not None else {})
        self.lam.drain()
        return result

    def tick(self) -> tuple[Any, Any]:
        """One minute of the system: Orchestrator, its workers, Scavenger."""
        orchestrated = self.run("sosw_orchestrator")
        scavenged = self.run("sosw_scavenger")
        return orchestrated, scavenged

    def scan(self, table: str) -> list[dict[str, Any]]:
        """Every real row of a table (ganger's own markers excluded)."""
        from ganger.tasks import MARKER_PREFIX, from_attr

        rows: list[dict[str, Any]] = []
        kwargs: dict[str, Any] = {"TableName": table}
        while True:
            page = self.clients.dynamodb.scan(**kwargs)
            rows.extend({k: from_attr(v) for k, v in item.items()} for item in page["Items"])
            if "LastEvaluatedKey" not in page:
                break
            kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]
        return [r for r in rows if not str(r.get("task_id", "")).startswith(MARKER_PREFIX)]
