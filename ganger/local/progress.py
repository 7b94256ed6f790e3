"""Live progress of `ganger local`: a line of queued / running / closed per labourer whenever they change."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ganger.local.runtime import LocalSystem

logger = logging.getLogger("ganger.local.runtime")


class Progress:
    """A thread printing queued / running / closed per labourer whenever they change."""

    def __init__(
        self, system: LocalSystem, say: Callable[[str], None], every: float = 3.0, counter: Any = None
    ) -> None:
        self._system = system
        self._counter = counter
        self._say = say
        self._every = every
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._last = ""

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="ganger-progress", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def line(self) -> str:
        parts = []
        for labourer, c in sorted(self._system.counts().items()):
            if any(c.values()):
                parts.append(f"{labourer}: queued {c['queued']} running {c['running']} retrying {c['retrying']} "
                             f"closed {c['completed'] + c['dead']}")  # fmt: skip
        return " | ".join(parts) or "no tasks yet"

    def _run(self) -> None:
        if self._counter is not None:
            with self._counter.observer():
                self._loop()
        else:
            self._loop()

    def _loop(self) -> None:
        while not self._stop.wait(self._every):
            try:
                line = self.line()
            except Exception as exc:  # the system may be stopping
                logger.debug("progress: %s", exc)
                continue
            if line != self._last:
                self._say(f"[tasks] {line}")
                self._last = line
