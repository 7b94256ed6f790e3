"""``--contention``: the chaos run on DynamoDB as AWS runs it (``ganger.local.contention``).

The chaos run's handlers run one after another on a clock that moves 20 s a step, so on their own they
would never overlap. Here the model's clock moves by a tenth of each request's time (``DENSITY``): requests
arrive as densely as if ten handlers ran at once, a transaction's 15 ms hold covers the next requests of
whichever handler runs next, and those that name a held item are cancelled or rejected as on AWS; a
backoff sleep moves the model's clock by its whole length (the waiting handler lets holds end) and takes
no real time. Hot keys are throttled on the same clock. Every fault path of the conflict handling runs.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterator

from ganger.local.contention import ContentionModel
from ganger.local.moto_contention import contending

DENSITY = 10.0


class DenseClock:
    """The model's time: never behind the chaos clock, a fraction of each request's time ahead of it."""

    def __init__(self, chaos_clock: Callable[[], float], density: float = DENSITY) -> None:
        self._chaos_clock = chaos_clock
        self.density = density
        self.t = chaos_clock()

    def __call__(self) -> float:
        self.t = max(self.t, self._chaos_clock())
        return self.t

    def elapse(self, seconds: float) -> None:
        self.t = self() + seconds / self.density

    def sleep(self, seconds: float) -> None:
        self.t = self() + max(0.0, seconds)


@contextlib.contextmanager
def contended(chaos_clock: Callable[[], float]) -> Iterator[ContentionModel]:
    """While the block runs, in-process moto's DynamoDB contends, and ``time.sleep`` moves the model's clock."""
    model = ContentionModel({})
    clock = DenseClock(chaos_clock)
    real_sleep = time.sleep
    time.sleep = clock.sleep
    try:
        with contending(model, clock, clock.elapse):
            yield model
    finally:
        time.sleep = real_sleep
