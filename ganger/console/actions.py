"""What the console changes, only when started with ``--allow-actions``: pause and resume a labourer, redrive a
group of dead tasks, save a config document. Each goes through the operator layer (``ganger.ops``) as the CLI's
commands do, and each is written to the audit trail with who did it.

Console actions are recorded whenever the audit table is known, whatever the ``ganger_audit`` document says: that
switch keeps the per-report rows of the WorkerAssistant off; an operator's few actions are always worth a row.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from ganger import constants
from ganger.audit import AuditTrail
from ganger.console.dead import DeadGroup, group_dead
from ganger.console.forms import Proposal
from ganger.console.reads import DAY, ConsoleReads
from ganger.errors import GangerError
from ganger.ops.config import Written, set_document
from ganger.ops.context import Ops
from ganger.ops.labourers import PauseChange, set_pause

logger = logging.getLogger(__name__)
DEAD_WINDOW = 7 * DAY  # the /dead page's window: a group is redriven over the same tasks it showed


class ActionRefused(GangerError):
    """The console is read-only, or the request is not an action it takes."""


class CountChanged(GangerError):
    """A bulk action's group no longer has the count the operator confirmed: confirm the new one."""

    def __init__(self, confirmed: int, now: int) -> None:
        self.confirmed = confirmed
        self.now = now
        super().__init__(f"the group has {now} task(s) now, not the {confirmed} you confirmed")


@dataclass(frozen=True)
class Done:
    """What an action did, for the page that says so."""

    what: str
    audited: bool
    details: dict[str, Any]


class Actions:
    """Every action checks ``allowed`` first; ``actor`` names who acts (the AWS caller, or the local user)."""

    def __init__(
        self,
        reads: ConsoleReads,
        allowed: bool,
        actor: str,
        audit: AuditTrail | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.reads = reads
        self.allowed = allowed
        self.actor = actor
        self.audit = audit
        self._sleep = sleep

    def _require(self) -> Ops:
        if not self.allowed:
            raise ActionRefused("this console is read-only: start it with --allow-actions to act")
        return self.reads.ops()

    def _record(self, subject: str, event: str, labourer_id: str = "", **details: Any) -> bool:
        if self.audit is None:
            return False
        return self.audit.record(subject, event, labourer_id, by=self.actor, via="ganger console", **details)

    def pause(self, name: str, reason: str) -> Done:
        """Pause as ``ganger labourers pause`` does (returns once no start can follow)."""
        ops = self._require()
        change = set_pause(ops, name, True, self.reads.clock(), reason or f"paused by {self.actor}", wait=self._sleep)
        return self._paused(change, reason)

    def resume(self, name: str) -> Done:
        ops = self._require()
        return self._paused(set_pause(ops, name, False, self.reads.clock()), "")

    def _paused(self, change: PauseChange, reason: str) -> Done:
        event = "labourer_paused" if change.paused else "labourer_resumed"
        details = {"config_version": change.version, "lanes_flagged": change.lanes_flagged}
        audited = self._record(f"labourer:{change.labourer_id}", event, change.labourer_id, reason=reason, **details)
        verb = "paused" if change.paused else "resumed"
        return Done(f"labourer {change.labourer_id} {verb}", audited, details)

    def dead_group(self, key: str) -> DeadGroup | None:
        """The group as it is now (the same read as the /dead page, for its labourer only)."""
        labourer_id = key.split("|", 1)[0]
        ops = self.reads.ops()
        lab = ops.labourer(labourer_id)
        tasks = self.reads.dead_of(ops, lab, self.reads.clock() - DEAD_WINDOW)
        return next((group for group in group_dead(tasks) if group.key == key), None)

    def redrive(self, key: str, confirmed: int) -> Done:
        """Every task of the group back at the front of its queue, if it still has the count confirmed."""
        ops = self._require()
        group = self.dead_group(key)
        count = len(group.tasks) if group is not None else 0
        if group is None or count != confirmed:
            raise CountChanged(confirmed, count)
        positions = ops.store.reserve_positions(group.labourer_id, count, front=True)
        outcome = ops.store.redrive(group.tasks, positions)
        audited = all([self._record(task_id, "redriven", group.labourer_id, error=group.error)
                       for task_id in outcome.done])  # fmt: skip
        nudged = self._nudge(ops, group.labourer_id) if outcome.done else ""
        details = {"redriven": len(outcome.done), "skipped": len(outcome.lost), "nudged": nudged}
        return Done(f"{len(outcome.done)} dead task(s) of {group.labourer_id} back in the queue", audited, details)

    def _nudge(self, ops: Ops, labourer_id: str) -> str:
        """Ask the Orchestrator to start the redriven tasks now (event dispatch), as a resume does."""
        if ops.labourer(labourer_id).dispatch != "event":
            return ""
        function = constants.getenv(constants.ENV_ORCHESTRATOR_FUNCTION) or constants.DEFAULT_ORCHESTRATOR_FUNCTION
        payload = json.dumps({"labourer_id": labourer_id, "nudged_by": "ganger console redrive"}).encode()
        try:
            ops.clients.lambda_.invoke(FunctionName=function, InvocationType="Event", Payload=payload)
        except (ClientError, BotoCoreError) as exc:  # the minute tick starts them anyway: say so, keep the redrive
            logger.warning("redrive of %s: the Orchestrator was not nudged: %s", labourer_id, exc)
            return ""
        return function

    def save(self, proposal: Proposal) -> Done:
        """Write a checked edit, conditional on the version it was read at (a concurrent change is refused)."""
        ops = self._require()
        if proposal.error is not None:
            raise proposal.error
        written: Written = set_document(ops.config, proposal.name, proposal.new, if_version=proposal.version)
        details = {"from_version": written.old_version, "to_version": written.new_version}
        audited = self._record(f"config:{proposal.name}", "config_saved", "", **details)
        return Done(f"{proposal.name}: version {written.old_version} -> {written.new_version}", audited, details)
