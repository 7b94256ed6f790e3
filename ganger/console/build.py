"""One call that wires a console: reads, actions, the audit trail, the guard, the server."""

from __future__ import annotations

import os
import time
from collections.abc import Callable

from ganger.audit import ENV_AUDIT_TABLE, AuditSettings, AuditTrail, settings_loader
from ganger.clients import AwsClients
from ganger.config import ConfigStore
from ganger.console.actions import Actions
from ganger.console.app import ConsoleApp
from ganger.console.reads import ConsoleReads
from ganger.console.security import Guard
from ganger.console.server import ConsoleServer, bind

DEFAULT_AUDIT_TABLE = "ganger_task_audit"  # yaml/audit.yaml's table


def audit_trail(clients: AwsClients, table: str | None, clock: Callable[[], float] = time.time) -> AuditTrail:
    """The trail for console actions: always on when the table is known (TTL from the ``ganger_audit``
    document, 30 days without it)."""
    loader = settings_loader(ConfigStore(clients.dynamodb))

    def settings() -> AuditSettings:
        return AuditSettings(enabled=True, ttl_days=loader().ttl_days)

    name = table or os.environ.get(ENV_AUDIT_TABLE) or DEFAULT_AUDIT_TABLE
    return AuditTrail(clients.dynamodb, name, settings, clock)


def build_console(
    clients: AwsClients,
    port: int,
    allow_actions: bool,
    actor: str,
    audit_table: str | None = None,
    clock: Callable[[], float] = time.time,
) -> ConsoleServer:
    """A console bound to 127.0.0.1:``port`` (0: a free one), not yet serving (``start()``)."""
    trail = audit_trail(clients, audit_table, clock)
    reads = ConsoleReads(clients, trail, clock)
    actions = Actions(reads, allow_actions, actor, trail)
    return bind(port, lambda bound: ConsoleApp(reads, actions, Guard(bound)))
