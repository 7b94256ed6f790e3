"""Lambda on a simulated clock, for the dispatch benchmark.

boto3 ``Invoke`` calls (routed here at botocore's ``_make_api_call``, as ``ganger.local.inprocess`` does)
become events on a timeline: an Event invocation starts ``invoke_latency`` after the call that made it,
and a thread's Invokes add up (20 ms each by default), so a run that invokes one task after another
takes n x 20 ms while a pool of P threads takes n / P x 20 ms (each call also waits 1 ms of real time, so
that a pool hands its calls to its threads evenly, as real latency makes it do). Handlers run one at a time in timeline
order with the clock set to their start: the real essentials, task store and in-process moto do the
work; only time is simulated. A worker's run takes the duration the workload gives it: its report is
sent that long after it started.
"""

from __future__ import annotations

import contextlib
import heapq
import io
import itertools
import json
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import botocore.exceptions
from botocore.response import StreamingBody

from ganger.local.inprocess import InvocationContext, invokes_routed_to

Handler = Callable[[Any, Any], Any]


class SimClock:
    """The simulated time every essential reads."""

    def __init__(self, start: float) -> None:
        self.now = float(start)

    def __call__(self) -> float:
        return self.now


@dataclass(order=True)
class Pending:
    at: float
    seq: int
    name: str = field(compare=False)
    event: Any = field(compare=False)


class SimLambda:
    """Registered handlers run from a timeline; Invoke latency is per calling thread."""

    def __init__(self, clock: SimClock, invoke_latency: float = 0.020, real_pause: float = 0.001) -> None:
        self.clock = clock
        self.invoke_latency = invoke_latency
        self.real_pause = real_pause
        self.functions: dict[str, Handler] = {}
        self.durations: dict[str, float] = {}  # simulated run time of a function (workers)
        self.timeline: list[Pending] = []
        self.errors: list[str] = []
        self.invocations: dict[str, int] = {}
        self._seq = itertools.count()
        self._thread = threading.local()
        self._lock = threading.Lock()

    def register(self, name: str, handler: Handler, duration: float = 0.0) -> None:
        self.functions[name] = handler
        self.durations[name] = duration

    def at(self, when: float, name: str, event: Any) -> None:
        """Put an invocation on the timeline."""
        with self._lock:
            heapq.heappush(self.timeline, Pending(when, next(self._seq), name, event))

    def next_at(self) -> float | None:
        return self.timeline[0].at if self.timeline else None

    def step(self) -> Pending | None:
        """Run the next invocation on the timeline (the clock moves to its start)."""
        if not self.timeline:
            return None
        pending = heapq.heappop(self.timeline)
        self.clock.now = max(self.clock.now, pending.at)
        self.invocations[pending.name] = self.invocations.get(pending.name, 0) + 1
        # The run's own Invokes happen after its work: a worker reports when its task is done.
        self._thread.offset = self.durations.get(pending.name, 0.0)
        try:
            self.functions[pending.name](pending.event, InvocationContext(pending.name))
        except Exception as exc:  # an async invocation's error goes to its log, as on Lambda
            self.errors.append(f"{pending.name}: {type(exc).__name__}: {exc}")
        finally:
            self._thread.offset = 0.0
        return pending

    def _invoke(self, params: dict[str, Any]) -> dict[str, Any]:
        name = params["FunctionName"].split(":function:")[-1].split(":")[0]
        if name not in self.functions:
            raise botocore.exceptions.ClientError(
                {"Error": {"Code": "ResourceNotFoundException", "Message": f"Function not found: {name}"}}, "Invoke"
            )
        raw = params.get("Payload", b"{}")
        event = json.loads(raw.read() if hasattr(raw, "read") else raw or b"{}")
        offset = getattr(self._thread, "offset", 0.0) + self.invoke_latency
        self._thread.offset = offset
        if self.real_pause:  # a real (short) wait, so a thread pool spreads its calls as real latency would
            time.sleep(self.real_pause)
        if params.get("InvocationType", "RequestResponse") != "Event":
            raise NotImplementedError("the simulation runs Event invocations only")
        self.at(self.clock.now + offset, name, event)
        return {"StatusCode": 202, "Payload": StreamingBody(io.BytesIO(b""), 0)}

    @contextlib.contextmanager
    def installed(self) -> Iterator[SimLambda]:
        with invokes_routed_to(self._invoke):
            yield self
