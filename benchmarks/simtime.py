"""Overlapping Lambda runs on one simulated clock: a discrete-event simulation with real handlers.

Each invocation is an *actor*: a greenlet that runs a real handler (the essentials, the task store,
in-process moto) until its own time moves: every AWS request takes the time the contention model says
(``elapse``), an Invoke 20 ms, a ``time.sleep`` (botocore's and ganger's backoff) its length. The actor
then switches back to the scheduler, which always resumes the actor with the earliest time, so requests
reach DynamoDB in the order of their simulated start and two handlers' transactions overlap exactly
when their simulated times do, whichever began first. Only one actor runs at any moment and every
hand-over is an explicit switch inside one thread (no thread wakes another), so results do not depend
on the machine's speed or load.

A handler's thread pool (``ganger.starts``' parallel Invokes) becomes child actors that start at the
parent's time; the parent resumes when the last of them is done, at its time. Actors still waiting when
the simulation stops are ended by ``close`` (or when collected): their code unwinds without taking time.
"""

from __future__ import annotations

import contextlib
import heapq
import io
import itertools
import json
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any

import botocore.exceptions
import greenlet
from botocore.response import StreamingBody

from ganger.local.inprocess import InvocationContext, invokes_routed_to

Handler = Callable[[Any, Any], Any]
_real_sleep = time.sleep


@dataclass(eq=False)
class Actor:
    name: str
    run: Callable[[], Any]
    t: float = 0.0
    runner: _Runner | None = None
    group: _Group | None = None
    ended: bool = False  # stopped by ``close``: its remaining code runs without taking time


class _Runner(greenlet.greenlet):
    """An actor's greenlet (``Sim.current`` finds the actor through it)."""

    actor: Actor


@dataclass(eq=False)
class _Group:
    parent: Actor
    pending: int
    end: float


class Sim:
    """The scheduler: a heap of actors by time; ``step`` runs the earliest until it yields or ends."""

    def __init__(self, start: float) -> None:
        self.now = float(start)
        self._heap: list[tuple[float, int, Actor]] = []
        self._seq = itertools.count()
        self._waiting: set[Actor] = set()  # started actors that have yielded (in the heap or in a join)
        self.errors: list[str] = []
        self.actors_run = 0

    # ---- inside actors ---------------------------------------------------------------------------

    def current(self) -> Actor | None:
        return getattr(greenlet.getcurrent(), "actor", None)

    def clock(self) -> float:
        return self.now

    def elapse(self, seconds: float) -> None:
        """The calling actor's time moves on; others whose time comes first run meanwhile."""
        actor = self.current()
        if actor is None or actor.ended:
            return
        actor.t = self.now + max(0.0, seconds)
        self._push(actor)
        self._yield(actor)

    def sleep(self, seconds: float) -> None:
        """``time.sleep`` in simulated time for actors; a real sleep elsewhere."""
        if self.current() is None:
            _real_sleep(seconds)
        else:
            self.elapse(seconds)

    def spawn(self, name: str, run: Callable[[], Any], at: float | None = None) -> Actor:
        actor = Actor(name, run, self.now if at is None else at)
        self._push(actor)
        return actor

    def join(self, children: list[Actor]) -> None:
        """Wait (in simulated time) until these children have ended; resume at the latest end."""
        parent = self.current()
        if parent is None or not children:
            raise RuntimeError("join is for an actor with children")
        group = _Group(parent, len(children), self.now)
        for child in children:
            child.group = group
        if not parent.ended:
            self._yield(parent)

    def _yield(self, actor: Actor) -> None:
        runner = actor.runner
        assert runner is not None and runner.parent is not None
        self._waiting.add(actor)
        try:
            runner.parent.switch()
        except greenlet.GreenletExit:
            actor.ended = True  # ``close`` (or the collector): unwind without taking time, never yield again
            raise
        finally:
            self._waiting.discard(actor)

    # ---- the scheduler ---------------------------------------------------------------------------

    def _push(self, actor: Actor) -> None:
        heapq.heappush(self._heap, (actor.t, next(self._seq), actor))

    def next_at(self) -> float | None:
        return self._heap[0][0] if self._heap else None

    def step(self) -> bool:
        """Run the earliest actor until it yields or ends. False when nothing is left."""
        if not self._heap:
            return False
        at, _, actor = heapq.heappop(self._heap)
        self.now = max(self.now, at)
        if actor.runner is None:
            actor.runner = _Runner(self._body)
            actor.runner.actor = actor
            actor.runner.switch(actor)
        else:
            actor.runner.switch()
        return True

    def run_until(self, done: Callable[[], bool], limit: float) -> None:
        while not done():
            at = self.next_at()
            if at is None or at > limit:
                return
            self.step()

    def close(self) -> None:
        """End the actors still waiting: each unwinds (``finally`` blocks run, taking no time); those
        not yet started never start. The simulation can not go on afterwards."""
        self._heap.clear()
        for actor in list(self._waiting):
            if actor.runner is not None and not actor.runner.dead:
                actor.runner.throw()
        self._waiting.clear()

    def _body(self, actor: Actor) -> None:
        self.actors_run += 1
        try:
            actor.run()
        except Exception as exc:  # an async invocation's error goes to its log, as on Lambda
            self.errors.append(f"{actor.name}: {type(exc).__name__}: {exc}")
        finally:
            group = actor.group
            if not actor.ended:
                actor.t = self.now
                if group is not None:
                    group.end = max(group.end, actor.t)
                    group.pending -= 1
                    if group.pending == 0:
                        group.parent.t = group.end
                        self._push(group.parent)

    @contextlib.contextmanager
    def sleeping(self) -> Iterator[None]:
        """``time.sleep`` in actors takes simulated time while the block runs."""
        time.sleep = self.sleep
        try:
            yield
        finally:
            time.sleep = _real_sleep


class SimPool:
    """Stands in for ``concurrent.futures.ThreadPoolExecutor`` inside actors: its workers are child actors."""

    sim: Sim

    def __init__(self, max_workers: int) -> None:
        self.workers = max(1, max_workers)

    def __enter__(self) -> SimPool:
        return self

    def __exit__(self, *exc: object) -> None:
        return None

    def map(self, fn: Callable[[Any], Any], items: Iterable[Any]) -> Iterator[Any]:
        items = list(items)
        results: list[Any] = [None] * len(items)
        failures: list[BaseException] = []
        lanes = min(self.workers, len(items))

        def worker(lane: int) -> Callable[[], None]:
            def run() -> None:
                for index in range(lane, len(items), lanes):
                    try:
                        results[index] = fn(items[index])
                    except Exception as exc:  # re-raised in the parent, as the executor's map does
                        failures.append(exc)

            return run

        self.sim.join([self.sim.spawn(f"pool-{lane}", worker(lane)) for lane in range(lanes)])
        if failures:
            raise failures[0]
        return iter(results)


class SimLambdas:
    """Functions by name; an Event Invoke takes ``invoke_latency`` of the caller and starts the function
    as a new actor when it returns. ``concurrent`` containers per function are reused, as Lambda does."""

    def __init__(self, sim: Sim, invoke_latency: float = 0.020) -> None:
        self.sim = sim
        self.invoke_latency = invoke_latency
        self.functions: dict[str, Handler] = {}
        self.invocations: dict[str, int] = {}

    def register(self, name: str, handler: Handler) -> None:
        self.functions[name] = handler

    def register_containers(self, name: str, factory: Callable[[], Handler]) -> None:
        """A function whose handler keeps state (a Processor): one instance per concurrent run."""
        idle: list[Handler] = []

        def handler(event: Any, context: Any) -> Any:
            instance = idle.pop() if idle else factory()
            try:
                return instance(event, context)
            finally:
                idle.append(instance)

        self.register(name, handler)

    def invoke_at(self, at: float, name: str, event: Any) -> None:
        handler = self.functions[name]
        self.invocations[name] = self.invocations.get(name, 0) + 1
        self.sim.spawn(name, lambda: handler(event, InvocationContext(name)), at=at)

    def _invoke(self, params: dict[str, Any]) -> dict[str, Any]:
        name = params["FunctionName"].split(":function:")[-1].split(":")[0]
        if name not in self.functions:
            raise botocore.exceptions.ClientError(
                {"Error": {"Code": "ResourceNotFoundException", "Message": f"Function not found: {name}"}}, "Invoke"
            )
        if params.get("InvocationType", "RequestResponse") != "Event":
            raise NotImplementedError("the simulation runs Event invocations only")
        raw = params.get("Payload", b"{}")
        event = json.loads(raw.read() if hasattr(raw, "read") else raw or b"{}")
        self.sim.elapse(self.invoke_latency)
        self.invoke_at(self.sim.now, name, event)
        return {"StatusCode": 202, "Payload": StreamingBody(io.BytesIO(b""), 0)}

    @contextlib.contextmanager
    def installed(self) -> Iterator[SimLambdas]:
        """Invokes routed here, thread pools made of actors, sleeps in simulated time."""
        import ganger.starts

        SimPool.sim = self.sim
        pool = ganger.starts.ThreadPoolExecutor  # type: ignore[attr-defined]
        ganger.starts.ThreadPoolExecutor = SimPool  # type: ignore[attr-defined,misc,assignment]
        try:
            with invokes_routed_to(self._invoke), self.sim.sleeping():
                yield self
        finally:
            ganger.starts.ThreadPoolExecutor = pool  # type: ignore[attr-defined,misc]
