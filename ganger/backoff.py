"""Jittered exponential backoff between retries of a call that met a transient error (a conflicting transaction,
throttling). Full jitter (a uniform draw below the exponential ceiling): callers that conflicted at the same
moment spread out instead of meeting again in lockstep, as AWS's guidance on backoff recommends.

Callers pass their injected ``sleep`` and ``random`` so that tests and the simulator control time.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable

Sleep = Callable[[float], None]


def real_sleep(seconds: float) -> None:
    """``time.sleep`` looked up when called, so that a simulator that replaces it is obeyed everywhere."""
    time.sleep(seconds)


def jittered_delay(attempt: int, rand: random.Random, base: float = 0.025, cap: float = 1.0) -> float:
    """The pause before retry number ``attempt + 1``: uniform(0, min(cap, base * 2 ** attempt))."""
    return rand.uniform(0.0, min(cap, base * 2 ** min(attempt, 32)))
