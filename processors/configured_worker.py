"""A worker Lambda with a typed config document: ganger's Processor speaking the sosw worker protocol.

``Processor`` gives the config document (``<function name>_config``), injected clients and the
clock; ``ganger.worker.Worker`` reports completion or failure to the WorkerAssistant. Subclasses
implement ``process(event)``. A failure the user can fix should not raise: return a result with an
``error`` so the task completes and is not retried.
"""

from __future__ import annotations

from typing import Any, TypeVar

from ganger.processor import Processor
from ganger.worker import Worker

C = TypeVar("C")


class _Protocol(Worker):
    def __init__(self, owner: ConfiguredWorker[Any]) -> None:
        super().__init__(owner.clients, clock=owner.clock)
        self._owner = owner

    def process(self, event: dict[str, Any]) -> dict[str, Any] | None:
        return self._owner.process(event)


class ConfiguredWorker(Processor[C]):
    """Subclass, set ``config_class`` and implement ``process``."""

    def handle(self, event: Any) -> Any:
        if not isinstance(event, dict):
            event = {}
        return _Protocol(self)(event, self.context)

    def process(self, event: dict[str, Any]) -> dict[str, Any] | None:
        raise NotImplementedError
