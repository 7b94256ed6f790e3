"""The schemas of ganger's config documents, and validation of a document by its name.

Each essential's document is ``<function name>_config``; the default function names are sosw's.
Labourers are defined once, in ``ganger_labourers``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ganger import schema
from ganger.errors import ConfigError
from ganger.labourer import LABOURERS_DOCUMENT, parse_labourers

DEFAULT_COEFFICIENTS = {"0": 0.0, "1": 0.0, "2": 0.5, "3": 0.75, "4": 1.0}


@dataclass(frozen=True)
class OrchestratorConfig:
    invocation_number_coefficient: dict[str, float] = field(default_factory=lambda: dict(DEFAULT_COEFFICIENTS))
    labourers: list[str] = field(default_factory=list)  # empty: every configured labourer


@dataclass(frozen=True)
class ScavengerConfig:
    labourers: list[str] = field(default_factory=list)
    batch_limit: int = 500  # expired tasks and due retries handled per labourer per run
    dead_tasks_topic_arn: str = ""


@dataclass(frozen=True)
class WorkerAssistantConfig:
    dead_tasks_topic_arn: str = ""


@dataclass(frozen=True)
class JobSchema:
    chunkable_attrs: list[Any] = field(default_factory=list)  # names, or sosw's [name, {}] pairs

    def attrs(self) -> list[str]:
        return [a[0] if isinstance(a, (list, tuple)) else a for a in self.chunkable_attrs]


@dataclass(frozen=True)
class SchedulerConfig:
    job_schema_variants: dict[str, JobSchema] = field(default_factory=lambda: {"default": JobSchema()})
    rows_per_step: int = 1000  # chunks written between checks of the remaining time
    reserve_seconds: float = 30.0  # hand over to a sibling when less than this remains
    lease_seconds: int = 900  # a run that stopped longer ago than this is resumed on redelivery


SCHEMAS: dict[str, type[Any]] = {
    "sosw_orchestrator_config": OrchestratorConfig,
    "sosw_scavenger_config": ScavengerConfig,
    "sosw_scheduler_config": SchedulerConfig,
    "sosw_worker_assistant_config": WorkerAssistantConfig,
}
EXTRA_VALIDATORS: dict[str, Callable[[dict[str, Any]], Any]] = {LABOURERS_DOCUMENT: parse_labourers}


def register(name: str, record: type[Any]) -> None:
    """Let a processor declare the schema of its document, so the CLI can validate it."""
    SCHEMAS[name] = record


def validate(name: str, value: Any) -> None:
    """Raise ConfigError naming the document and field when ``value`` does not fit its schema."""
    if not isinstance(value, dict):
        raise ConfigError(name, "", f"expected a JSON object, got {type(value).__name__}")
    try:
        if name in EXTRA_VALIDATORS:
            EXTRA_VALIDATORS[name](value)
        elif name in SCHEMAS:
            record = SCHEMAS[name]
            schema.parse(record, schema.merge(schema.to_dict(record()), value))
    except schema.SchemaError as exc:
        raise ConfigError(name, exc.path, exc.problem) from exc
