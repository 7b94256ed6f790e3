"""Keep moto from holding on to every model object it ever made.

moto appends each instance of its models (every DynamoDB ``Item``: each put, each copy a transaction
or a query makes) to a class-wide ``instances_tracked`` list, for its dashboard, and empties those lists
only when the mock stops. A long run keeps millions of dead items alive: memory grows, every full
garbage collection walks them all, and stopping the mock frees them one by one. While the block runs,
new instances are not tracked; no API answer changes (only the dashboard, which nothing here reads).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

from moto.core.model_instances import model_data


class _Untracked(list[Any]):
    """A tracking list that keeps nothing."""

    def append(self, instance: Any) -> None:
        return None


@contextlib.contextmanager
def untracked_models() -> Iterator[None]:
    """While the block runs, moto's models keep no list of their instances."""
    saved = [(cls, vars(cls).get("instances_tracked")) for models in model_data.values() for cls in models.values()]
    for cls, _ in saved:
        cls.instances_tracked = _Untracked()  # type: ignore[attr-defined]
    try:
        yield
    finally:
        for cls, tracked in saved:
            cls.instances_tracked = [] if tracked is None else tracked  # type: ignore[attr-defined]
