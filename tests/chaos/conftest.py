"""An in-process ganger (moto, the essentials, a settable clock) for the chaos tests' small cases."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from moto import mock_aws

from benchmarks.harness import Clock, InProcessSystem

START = 1_790_000_000.0
# Driven tick by tick: a "tick" labourer (event-driven dispatch: the chaos harness, tests/functional/dispatch).
LABOURER = {
    "example_worker": {
        "dispatch": "tick",
        "max_simultaneous_invocations": 10,
        "duration": 60,
        "cooldown": 30,
        "max_attempts": 3,
    }
}


@pytest.fixture
def clock() -> Clock:
    return Clock(START)


@pytest.fixture
def system(clock: Clock) -> Iterator[InProcessSystem]:
    with mock_aws():
        system = InProcessSystem(clock=clock)
        with system.lam.installed():
            system.deploy(labourers=LABOURER)
            yield system
