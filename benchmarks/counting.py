"""Count AWS API calls by ``service.Operation``, attributed to named phases.

The counter wraps ``botocore.client.BaseClient._make_api_call``, the one place every boto3 client
call passes through. Install it *after* ``InProcessLambda.installed()`` so it is the outermost
wrapper and sees the Lambda ``Invoke`` calls that the in-process router answers without moto.

Phases nest: a call counts for the innermost open phase, and a phase's seconds exclude the time
spent in phases nested inside it, so the per-phase figures add up to the total.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Iterator
from typing import Any

import botocore.client

UNPHASED = "unphased"


def tables_of(operation: str, params: dict[str, Any]) -> str:
    """The DynamoDB table(s) a call touches ("" for other services)."""
    if "TableName" in params:
        return str(params["TableName"])
    if operation in ("BatchWriteItem", "BatchGetItem"):
        return "+".join(sorted(params.get("RequestItems", {})))
    if operation in ("TransactWriteItems", "TransactGetItems"):
        names = {next(iter(item.values())).get("TableName", "") for item in params.get("TransactItems", [])}
        return "+".join(sorted(names))
    return ""


class ApiCallCounter:
    """Counts calls per (phase, operation) and per (phase, table), and wall seconds per phase."""

    def __init__(self, clock: Callable[[], float] = time.perf_counter) -> None:
        self.calls: Counter[tuple[str, str]] = Counter()
        self.tables: Counter[tuple[str, str]] = Counter()
        self.seconds: defaultdict[str, float] = defaultdict(float)
        self.labels: Counter[tuple[str, str]] = Counter()
        self.labeller: Callable[[str, str, dict[str, Any]], str | None] | None = None
        self._clock = clock
        self._stack = [UNPHASED]
        self._mark = clock()
        self._lock = threading.Lock()

    # ---- installing ----------------------------------------------------------------------------

    @contextlib.contextmanager
    def installed(self) -> Iterator[ApiCallCounter]:
        """Count every botocore API call in this process while the block runs."""
        inner = botocore.client.BaseClient._make_api_call
        counter = self

        def _make_api_call(client: Any, operation_name: str, api_params: dict[str, Any]) -> Any:
            counter.record(client.meta.service_model.service_name, operation_name, api_params)
            return inner(client, operation_name, api_params)

        botocore.client.BaseClient._make_api_call = _make_api_call  # type: ignore[method-assign]
        try:
            yield self
        finally:
            botocore.client.BaseClient._make_api_call = inner  # type: ignore[method-assign]

    def record(self, service: str, operation: str, params: dict[str, Any]) -> None:
        """One call, counted for the current phase (calls from helper threads included)."""
        with self._lock:
            phase = self._stack[-1]
            self.calls[(phase, f"{service}.{operation}")] += 1
            table = tables_of(operation, params) if service == "dynamodb" else ""
            if table:
                self.tables[(phase, table)] += 1
            label = self.labeller(service, operation, params) if self.labeller is not None else None
            if label:
                self.labels[(phase, label)] += 1

    # ---- phases --------------------------------------------------------------------------------

    @property
    def current_phase(self) -> str:
        return self._stack[-1]

    @contextlib.contextmanager
    def phase(self, name: str) -> Iterator[None]:
        """Attribute the calls and time of the block to ``name`` (exclusive of nested phases)."""
        self._switch()
        self._stack.append(name)
        try:
            yield
        finally:
            self._switch()
            self._stack.pop()

    def _switch(self) -> None:
        now = self._clock()
        self.seconds[self._stack[-1]] += now - self._mark
        self._mark = now

    def phased(self, name: str, function: Callable[..., Any]) -> Callable[..., Any]:
        """``function`` wrapped so that each call runs in phase ``name``."""

        def wrapper(*args: Any, **kwargs: Any) -> Any:
            with self.phase(name):
                return function(*args, **kwargs)

        return wrapper

    # ---- reading -------------------------------------------------------------------------------

    def total(self, phases: Iterable[str] | None = None) -> int:
        wanted = None if phases is None else set(phases)
        return sum(n for (phase, _), n in self.calls.items() if wanted is None or phase in wanted)

    def by_operation(self, phases: Iterable[str] | None = None) -> dict[str, int]:
        wanted = None if phases is None else set(phases)
        result: Counter[str] = Counter()
        for (phase, operation), n in self.calls.items():
            if wanted is None or phase in wanted:
                result[operation] += n
        return dict(sorted(result.items(), key=lambda kv: (-kv[1], kv[0])))

    def by_phase(self, phases: Iterable[str] | None = None) -> dict[str, int]:
        wanted = None if phases is None else list(phases)
        result: Counter[str] = Counter()
        for (phase, _), n in self.calls.items():
            result[phase] += n
        order = wanted if wanted is not None else sorted(result)
        return {phase: result.get(phase, 0) for phase in order}

    def by_phase_and_operation(self, phases: Iterable[str]) -> dict[str, dict[str, int]]:
        return {phase: self.by_operation([phase]) for phase in phases}

    def by_table(self, phases: Iterable[str] | None = None) -> dict[str, int]:
        wanted = None if phases is None else set(phases)
        result: Counter[str] = Counter()
        for (phase, table), n in self.tables.items():
            if wanted is None or phase in wanted:
                result[table] += n
        return dict(sorted(result.items(), key=lambda kv: (-kv[1], kv[0])))

    def by_label(self, phases: Iterable[str] | None = None) -> dict[str, int]:
        wanted = None if phases is None else set(phases)
        result: Counter[str] = Counter()
        for (phase, label), n in self.labels.items():
            if wanted is None or phase in wanted:
                result[label] += n
        return dict(sorted(result.items()))

    def seconds_by_phase(self, phases: Iterable[str]) -> dict[str, float]:
        self._switch()
        return {phase: round(self.seconds.get(phase, 0.0), 3) for phase in phases}

    def summary(self, phases: tuple[str, ...], tasks: int) -> dict[str, Any]:
        """The figures every lifecycle report shares, over ``phases``."""
        total = self.total(phases)
        by_phase = self.by_phase(phases)
        seconds = self.seconds_by_phase(phases)
        seconds["total"] = round(sum(seconds.values()), 3)
        return {
            "calls": total,
            "calls_per_task": round(total / tasks, 3),
            "calls_by_operation": self.by_operation(phases),
            "calls_by_phase": by_phase,
            "calls_per_task_by_phase": {p: round(n / tasks, 3) for p, n in by_phase.items()},
            "calls_by_phase_and_operation": self.by_phase_and_operation(phases),
            "calls_by_table": self.by_table(phases),
            "calls_by_labourer": self.by_label(phases),
            "seconds": seconds,
        }

    def window(self) -> CountWindow:
        """A view of the calls made from now on (for measuring one run)."""
        return CountWindow(self)


class CountWindow:
    """Calls made after the window was opened, by operation."""

    def __init__(self, counter: ApiCallCounter) -> None:
        self._counter = counter
        self._start = Counter(counter.calls)

    def calls(self) -> dict[str, int]:
        result: Counter[str] = Counter()
        for key, n in self._counter.calls.items():
            delta = n - self._start.get(key, 0)
            if delta:
                result[key[1]] += delta
        return dict(sorted(result.items()))

    def total(self) -> int:
        return sum(self.calls().values())
