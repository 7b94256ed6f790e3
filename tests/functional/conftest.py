from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
from moto import mock_aws

from benchmarks.harness import Clock, InProcessSystem
from examples import sosw_protocol_worker

# These tests drive the system tick by tick (the Orchestrator's minute rule, the safety net and sosw's
# model): the labourer is a "tick" one. Event-driven dispatch has its own tests in tests/functional/dispatch.
EXAMPLE_LABOURER = {
    "example_worker": {
        "dispatch": "tick",
        "max_simultaneous_invocations": 50,
        "duration": 60,
        "cooldown": 30,
        "max_attempts": 3,
        "retry": {"base_seconds": 10, "factor": 2, "cap_seconds": 100},
    }
}


@pytest.fixture
def clock() -> Clock:
    return Clock(time.time())


@pytest.fixture
def system(clock: Clock) -> Iterator[InProcessSystem]:
    """Tables from yaml/ in moto, config/ loaded, the essentials and the example worker in-process."""
    with mock_aws():
        sosw_protocol_worker._lambda = None
        system = InProcessSystem(clock=clock)
        with system.lam.installed():
            system.deploy(labourers=EXAMPLE_LABOURER)
            system.register_worker("example_worker", sosw_protocol_worker.lambda_handler)
            yield system


class CallCounter:
    """Counts every AWS API call made in this process (outermost wrapper of _make_api_call)."""

    def __init__(self) -> None:
        from collections import Counter

        self.calls: Counter[str] = Counter()

    def total(self, prefix: str = "") -> int:
        return sum(n for op, n in self.calls.items() if op.startswith(prefix))

    def reset(self) -> None:
        self.calls.clear()


@pytest.fixture
def api_calls(system: InProcessSystem) -> Iterator[CallCounter]:
    import botocore.client

    counter = CallCounter()
    original = botocore.client.BaseClient._make_api_call

    def counting(client, operation_name, params):  # type: ignore[no-untyped-def]
        counter.calls[f"{client.meta.service_model.service_name}.{operation_name}"] += 1
        return original(client, operation_name, params)

    botocore.client.BaseClient._make_api_call = counting
    try:
        yield counter
    finally:
        botocore.client.BaseClient._make_api_call = original
