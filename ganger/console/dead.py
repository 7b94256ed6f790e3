"""Dead tasks grouped by error: the error's type and its message with ids and numbers masked, so one failure
that hit a thousand tasks is one row ("redrive this group"), not a thousand."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from ganger.tasks import Task

_MASKS = (
    (re.compile(r"\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b", re.I), "<id>"),
    (re.compile(r"\b(?=[0-9a-f]*\d)(?=[0-9a-f]*[a-f])[0-9a-f]{8,}\b", re.I), "<id>"),
    (re.compile(r"'[^']*'|\"[^\"]*\""), "'<s>'"),
    (re.compile(r"\d+(?:\.\d+)?"), "<n>"),
)
NO_REASON = "no reason recorded"


def mask(reason: str) -> str:
    """The message with uuids, hex ids, quoted values and numbers replaced, so tasks that failed alike group."""
    masked = reason.strip() or NO_REASON
    for pattern, replacement in _MASKS:
        masked = pattern.sub(replacement, masked)
    return masked


def error_type(reason: str) -> str:
    """``ValueError: bad id`` -> ``ValueError``; a reason without a ``Type:`` prefix is its own type."""
    head, separator, _ = reason.partition(":")
    return head.strip() if separator and re.fullmatch(r"[A-Za-z_][\w.]*", head.strip()) else "failure"


@dataclass
class DeadGroup:
    """Dead tasks of one labourer that failed with the same masked error."""

    labourer_id: str
    error: str
    tasks: list[Task] = field(default_factory=list)

    @property
    def key(self) -> str:
        return group_key(self.labourer_id, self.error)

    @property
    def kind(self) -> str:
        return error_type(self.error)

    @property
    def first_seen(self) -> int:
        return min(t.closed_at or 0 for t in self.tasks)

    @property
    def last_seen(self) -> int:
        return max(t.closed_at or 0 for t in self.tasks)


def group_key(labourer_id: str, error: str) -> str:
    return f"{labourer_id}|{error}"


def group_dead(tasks: list[Task]) -> list[DeadGroup]:
    """Groups by (labourer, masked error), largest first."""
    groups: dict[str, DeadGroup] = {}
    for task in tasks:
        error = mask(task.failure_reason or "")
        groups.setdefault(group_key(task.labourer_id, error), DeadGroup(task.labourer_id, error)).tasks.append(task)
    return sorted(groups.values(), key=lambda g: (-len(g.tasks), g.labourer_id, g.error))
