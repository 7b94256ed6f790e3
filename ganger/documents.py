"""The schemas of config documents, one registry that every entry point sees, and validation by name.

Each essential's document is ``<function name>_config``; the default function names are sosw's.
Labourers are defined once, in ``ganger_labourers``. ganger's own documents are listed here; any other
package (``processors`` among them) declares its documents in the ``ganger.config_documents``
entry-point group (``<document name> = package.module:Record``), so ``ganger config set / validate /
edit / push`` validate them without importing that package first. A schema is loaded when a document
of its name is validated.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from importlib.metadata import EntryPoint, entry_points
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
    # Retries and delayed tasks due within this many seconds are waited for in the run (the Lambda sleeps to
    # each due second, then starts them): due tasks start within about a second, not at the next minute tick.
    # 0: only at the ticks. Keep it below the function's timeout (90 s) and at least the tick period (60 s).
    wake_ahead_seconds: float = 62.0


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


ENTRY_POINT_GROUP = "ganger.config_documents"
Validator = Callable[[dict[str, Any]], Any]

SCHEMAS: dict[str, type[Any]] = {
    "sosw_orchestrator_config": OrchestratorConfig,
    "sosw_scavenger_config": ScavengerConfig,
    "sosw_scheduler_config": SchedulerConfig,
    "sosw_worker_assistant_config": WorkerAssistantConfig,
}
EXTRA_VALIDATORS: dict[str, Validator] = {LABOURERS_DOCUMENT: parse_labourers}
# ganger's documents defined outside this module, loaded on first use (they import this module's users).
BUILTIN_REFERENCES = {
    "ganger_audit": "ganger.audit:AuditSettings",
    "ganger_fleets": "ganger.fleet.settings:FleetsDocument",
}


def installed_entry_points() -> Iterable[EntryPoint]:
    """The ``ganger.config_documents`` entry points of every installed distribution."""
    return entry_points(group=ENTRY_POINT_GROUP)


class SchemaRegistry:
    """Document name -> its schema: a dataclass record, or a function that parses (and so validates) it."""

    def __init__(self, find: Callable[[], Iterable[EntryPoint]] = installed_entry_points) -> None:
        self._find = find
        self._references: dict[str, EntryPoint] | None = None
        self._loaded: dict[str, type[Any] | Validator] = {**SCHEMAS, **EXTRA_VALIDATORS}

    def _entry_points(self) -> dict[str, EntryPoint]:
        if self._references is None:
            found = {ep.name: ep for ep in self._find()}
            builtin = {n: EntryPoint(n, ref, ENTRY_POINT_GROUP) for n, ref in BUILTIN_REFERENCES.items()}
            self._references = {**found, **builtin}
        return self._references

    def names(self) -> list[str]:
        """Every document name that has a schema."""
        return sorted(set(self._loaded) | set(self._entry_points()))

    def knows(self, name: str) -> bool:
        return name in self._loaded or name in self._entry_points()

    def schema(self, name: str) -> type[Any] | Validator | None:
        """The document's schema (imported on first use), or None when no package declares one."""
        if name not in self._loaded:
            reference = self._entry_points().get(name)
            if reference is None:
                return None
            try:
                self._loaded[name] = reference.load()
            except (ImportError, AttributeError) as exc:
                raise ConfigError(name, "", f"its schema `{reference.value}` cannot be loaded: {exc}") from exc
        return self._loaded[name]

    def validate(self, name: str, value: Any) -> None:
        """Raise ConfigError naming the document and field when ``value`` does not fit its schema."""
        if not isinstance(value, dict):
            raise ConfigError(name, "", f"expected a JSON object, got {type(value).__name__}")
        record = self.schema(name)
        try:
            if isinstance(record, type):
                schema.parse(record, schema.merge(schema.to_dict(record()), value))
            elif record is not None:
                record(value)
        except schema.SchemaError as exc:
            raise ConfigError(name, exc.path, exc.problem) from exc


REGISTRY = SchemaRegistry()


def validate(name: str, value: Any) -> None:
    """Validate ``value`` as document ``name`` against the registry's schema (any object when none)."""
    REGISTRY.validate(name, value)
