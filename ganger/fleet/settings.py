"""Fleet settings: what a fleet's instances run and how they poll, in the `ganger_fleets` document.

A fleet labourer keeps its orchestration settings in `ganger_labourers` (``type: fleet``, ``arn`` =
its queue name or URL, ``group_name`` = its Auto Scaling group, ``slots_per_instance``); the
settings only its instances and its scaling need live here, keyed by the same labourer id::

    {"fleets": {"video_fleet": {"processor": "processors.video.worker.lambda_handler",
                                "function_name": "video_worker"}}}

``processor`` is the dotted path of a Lambda handler that speaks the sosw worker protocol, so the
same code runs as a Lambda labourer or on a fleet; which one a job reaches is the labourer its
``lambda_name`` names.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any, Literal

from ganger import schema
from ganger.config import ConfigStore
from ganger.errors import ConfigError, UnknownLabourer
from ganger.labourer import LABOURERS_DOCUMENT, Labourer, read_labourers

FLEETS_DOCUMENT = "ganger_fleets"
Handler = Callable[[Any, Any], Any]


@dataclass(frozen=True)
class FleetSettings:
    """How one fleet's workers run. Times are seconds."""

    processor: str = ""  # "package.module.attribute" of a handler(event, context)
    function_name: str = ""  # the name the processor runs as (its `<name>_config` document); default: labourer id
    report: Literal["handler", "worker"] = "handler"  # who reports completion: the handler (sosw protocol) or us
    assistant_function: str = "sosw_worker_assistant"
    wait_seconds: int = 20  # SQS long polling
    visibility_timeout_seconds: int = 1800  # how long a received message stays hidden; the heartbeat renews it
    heartbeat_seconds: float = 300.0  # renew the visibility this often while a task runs
    stop_grace_seconds: float = 90.0  # on SIGTERM, wait this long for running tasks, then release them

    def __post_init__(self) -> None:
        if not 0 <= self.wait_seconds <= 20:
            raise ValueError("`wait_seconds` must be 0..20 (SQS long polling)")
        if not 0 < self.visibility_timeout_seconds <= 43200:
            raise ValueError("`visibility_timeout_seconds` must be 1..43200")
        if not 0 < self.heartbeat_seconds < self.visibility_timeout_seconds:
            raise ValueError("`heartbeat_seconds` must be above 0 and below `visibility_timeout_seconds`")
        if self.stop_grace_seconds < 0:
            raise ValueError("`stop_grace_seconds` must be >= 0")


@dataclass(frozen=True)
class FleetsDocument:
    fleets: dict[str, FleetSettings] = field(default_factory=dict)


def parse_fleets(document: dict[str, Any]) -> dict[str, FleetSettings]:
    """Typed settings by labourer id; raises ConfigError naming the field."""
    try:
        return schema.parse(FleetsDocument, document).fleets
    except schema.SchemaError as exc:
        raise ConfigError(FLEETS_DOCUMENT, exc.path, exc.problem) from exc


def queue_name(labourer: Labourer) -> str:
    """The fleet's queue: its ``arn`` (a queue name or URL), else the labourer id."""
    return labourer.arn or labourer.id


def group_name(labourer: Labourer) -> str:
    """The fleet's Auto Scaling group: ``group_name``, else the labourer id."""
    return labourer.group_name or labourer.id


def load_handler(path: str) -> Handler:
    """Import ``package.module.attribute``; ConfigError when it is not a callable."""
    module_name, _, attribute = path.rpartition(".")
    if not module_name or not attribute:
        raise ConfigError(FLEETS_DOCUMENT, "processor", f"expected `package.module.handler`, got {path!r}")
    try:
        handler: Callable[[Any, Any], Any] = getattr(importlib.import_module(module_name), attribute)
    except (ImportError, AttributeError) as exc:
        raise ConfigError(FLEETS_DOCUMENT, "processor", f"cannot import {path!r}: {exc}") from exc
    if not callable(handler):
        raise ConfigError(FLEETS_DOCUMENT, "processor", f"{path!r} is not callable")
    return handler


def resolve_fleet(config: ConfigStore, labourer_id: str, processor: str = "") -> tuple[Labourer, FleetSettings]:
    """The fleet labourer and its settings from the config table (two GetItem calls).

    ``processor`` overrides the document's (the `ganger worker --processor` option).
    """
    labourers = read_labourers(config)
    labourer = labourers.get(labourer_id)
    if labourer is None:
        raise UnknownLabourer(labourer_id, sorted(labourers))
    if labourer.type != "fleet":
        raise ConfigError(LABOURERS_DOCUMENT, f"labourers.{labourer_id}.type", "expected 'fleet' for a fleet worker")
    fleets_doc = config.get(FLEETS_DOCUMENT)
    settings = parse_fleets(fleets_doc.value if fleets_doc else {}).get(labourer_id, FleetSettings())
    if processor:
        settings = replace(settings, processor=processor)
    if not settings.processor:
        raise ConfigError(FLEETS_DOCUMENT, f"fleets.{labourer_id}.processor", "missing: which handler the fleet runs")
    return labourer, settings
