"""What other packages prepare in the embedded AWS for their sample config: ``ganger.local_setup`` entry points.

Each entry point is a callable ``(clients: AwsClients, store: ConfigStore) -> list[str]`` run once the
stacks are deployed and ``config/`` is loaded; it returns what it did, and local mode says it. The
processors' one makes the sample user's dev boxes in the embedded EC2. A failing one is said and skipped,
the rest of local mode runs.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from importlib.metadata import entry_points

from ganger.clients import AwsClients
from ganger.config import ConfigStore

logger = logging.getLogger(__name__)
GROUP = "ganger.local_setup"


def run_local_setup(clients: AwsClients, store: ConfigStore, say: Callable[[str], None]) -> None:
    for entry in sorted(entry_points(group=GROUP), key=lambda e: e.name):
        try:
            done = entry.load()(clients, store)
        except Exception as exc:  # one package's sample resources must not stop local mode
            logger.exception("local setup %s failed", entry.name)
            say(f"local setup {entry.name} failed: {type(exc).__name__}: {exc}")
            continue
        for line in done:
            say(str(line))
