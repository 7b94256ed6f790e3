"""Labourers as an operator handles them: listed with their limits and pause state, paused and resumed.

A pause is recorded in the ``ganger_labourers`` document (validated and written conditionally, as every config
change) and, at once, as a flag on each of the labourer's lane counters, which every start path reads or
conditions on: the Scheduler's, Orchestrator's and Scavenger's claims take a slot only from a counter without the
flag, and the WorkerAssistant's hand-offs (which touch no counter) check its cached read of the counters, at most
``HANDOFF_CACHE_SECONDS`` old, so the pause waits that long before it returns. A resume clears the flags and
nudges the Orchestrator, which starts the queue in the free slots at once.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ganger import constants
from ganger.errors import ConfigError, UnknownLabourer
from ganger.labourer import LABOURERS_DOCUMENT, Labourer, parse_labourers
from ganger.ops.config import set_document
from ganger.ops.context import Ops
from ganger.slots import HANDOFF_CACHE_SECONDS, Slots

DISPATCH_MARGIN = 0.25  # a hand-off decided just before the pause: its Invoke follows within this


@dataclass(frozen=True)
class PauseChange:
    """What a pause or resume did."""

    labourer_id: str
    paused: bool
    stamp: int
    version: int
    lanes_flagged: int
    nudged: str = ""  # the Orchestrator asked to start the queue (a resume)


@dataclass(frozen=True)
class LabourerRow:
    """One labourer as ``ganger labourers list`` shows it: configured limits, live counters, pause state."""

    labourer: Labourer
    counters: list[Slots | None]

    def view(self) -> dict[str, Any]:
        lab = self.labourer
        live = [slots for slots in self.counters if slots is not None]
        return {
            "labourer": lab.id,
            "type": lab.type,
            "max_simultaneous_invocations": lab.max_simultaneous_invocations,
            "lanes": lab.lane_count,
            "cap": sum(s.cap for s in live) if live else None,  # the effective cap (health, fleet size)
            "running": sum(s.held for s in live) if live else None,
            "dispatch": lab.dispatch,
            "handoff_guard": lab.handoff_guard,
            "max_attempts": lab.max_attempts,
            "concurrency_key": lab.concurrency_key or None,
            "max_per_key": lab.max_per_key,
            "health_metrics": sorted(lab.health_metrics),
            "paused": lab.paused,
            "paused_reason": lab.paused_reason,
            "paused_at": lab.paused_at,
            "resumed_at": lab.resumed_at,
            "counters_paused": any(s.paused for s in live),  # what the start paths obey now
        }


def list_labourers(ops: Ops) -> list[LabourerRow]:
    """Every labourer with its lanes' counters (one consistent read per labourer)."""
    return [
        LabourerRow(lab, ops.store.slots.read_lanes(lab.id, lab.lane_count))
        for _, lab in sorted(ops.labourers().items())
    ]


def _edited(document: dict[str, Any], name: str, paused: bool, reason: str, stamp: int) -> dict[str, Any]:
    edited = copy.deepcopy(document)
    entry = edited.setdefault("labourers", {})[name]
    if paused:
        entry.update(paused=True, paused_reason=reason, paused_at=stamp)
    else:
        entry.update(paused=False, resumed_at=stamp)
        entry.pop("paused_reason", None)
    return edited


def set_pause(
    ops: Ops,
    name: str,
    paused: bool,
    now: float,
    reason: str = "",
    wait: Callable[[float], None] | None = None,
    orchestrator: str | None = None,
) -> PauseChange:
    """Pause (or resume) labourer ``name``: the config document first (conditional on the version read), then
    the flag on each lane counter (one UpdateItem each, conditional on no newer decision there). A pause then
    waits out the WorkerAssistant's cached read; a resume nudges the Orchestrator (one Event Invoke)."""
    stored = ops.config.get(LABOURERS_DOCUMENT)
    document = stored.value if stored is not None else {}
    labourers = parse_labourers(document) if isinstance(document, dict) else {}
    if name not in labourers:
        raise UnknownLabourer(name, sorted(labourers))
    if not isinstance(document.get("labourers", {}).get(name), dict):
        raise ConfigError(LABOURERS_DOCUMENT, f"labourers.{name}", "expected an object")
    labourer = labourers[name]
    stamp = max(int(now), labourer.pause_stamp + 1)  # changes stay ordered even within one second
    written = set_document(ops.config, LABOURERS_DOCUMENT, _edited(document, name, paused, reason, stamp),
                           if_version=stored.version if stored is not None else 0)  # fmt: skip
    counter = ops.store.slots
    head = counter.read(name)
    lanes = max(labourer.lane_count, head.lanes if head is not None else 1)  # lanes still draining too
    flagged = sum(counter.set_paused(name, lane, paused, stamp, reason) for lane in range(lanes))
    nudged = ""
    if paused:
        if wait is not None:
            wait(HANDOFF_CACHE_SECONDS + DISPATCH_MARGIN)
    elif labourer.dispatch == "event":
        nudged = (
            orchestrator
            or constants.getenv(constants.ENV_ORCHESTRATOR_FUNCTION)
            or (constants.DEFAULT_ORCHESTRATOR_FUNCTION)
        )
        payload = json.dumps({"labourer_id": name, "nudged_by": "ganger labourers resume"}).encode()
        ops.clients.lambda_.invoke(FunctionName=nudged, InvocationType="Event", Payload=payload)
    return PauseChange(name, paused, stamp, written.new_version, flagged, nudged)
