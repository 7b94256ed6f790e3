"""sosw 0.7.51 wired like a real installation, in one process, for the comparison benchmark.

What is installed (tables, config documents) is in ``benchmarks.sosw_install``. sosw reads the wall
clock (``time.time()``) directly; the benchmark swaps the ``time`` module seen by sosw's task manager,
WorkerAssistant and MetaHandler for one that reads the simulated clock.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import time
import zipfile
from collections.abc import Callable, Iterator
from typing import Any
from unittest import mock

from benchmarks.counting import ApiCallCounter
from benchmarks.sosw_install import (
    ASSISTANT,
    ORCHESTRATOR,
    QUEUE_BUCKET,
    REGION,
    SCAVENGER,
    SCHEDULER,
    SOSW_TABLES,
    config_documents,
    repo_labourers,
)
from benchmarks.workload import LABOURER, verify_all_closed


class SimulatedTime:
    """The ``time`` module as sosw sees it: ``time()`` reads the simulated clock, the rest is real.

    Successive readings differ by at least 10 microseconds, as wall-clock readings do: sosw keys its
    meta rows by (task_id, time.time()) and fails on a duplicate key.
    """

    STEP = 1e-5

    def __init__(self, clock: Callable[[], float]) -> None:
        self._clock = clock
        self._last = float("-inf")

    def time(self) -> float:
        now = float(self._clock())
        self._last = now if now > self._last else self._last + self.STEP
        return self._last

    def __getattr__(self, name: str) -> Any:
        return getattr(time, name)


@contextlib.contextmanager
def sosw_on_clock(clock: Callable[[], float]) -> Iterator[None]:
    """Every ``time.time()`` in sosw's task manager, WorkerAssistant and MetaHandler reads ``clock``."""
    import sosw.managers.meta_handler
    import sosw.managers.task
    import sosw.worker_assistant

    shim = SimulatedTime(clock)
    with contextlib.ExitStack() as stack:
        for module in (sosw.managers.task, sosw.worker_assistant, sosw.managers.meta_handler):
            stack.enter_context(mock.patch.object(module, "time", shim))
        yield


@contextlib.contextmanager
def function_environment(name: str) -> Iterator[None]:
    """sosw finds its own name (and so its config document) in AWS_LAMBDA_FUNCTION_NAME."""
    before = os.environ.get("AWS_LAMBDA_FUNCTION_NAME")
    os.environ["AWS_LAMBDA_FUNCTION_NAME"] = name
    try:
        yield
    finally:
        if before is None:
            os.environ.pop("AWS_LAMBDA_FUNCTION_NAME", None)
        else:
            os.environ["AWS_LAMBDA_FUNCTION_NAME"] = before


def _worker_class() -> type:
    from sosw.app import Processor
    from sosw.worker import Worker

    class SoswExampleWorker(Worker):
        """The example worker on ``sosw.worker.Worker``: fails while attempts < ``fail_attempts``.

        sosw's event carries ``attempts`` as read before the invocation (0 on the first attempt).
        """

        def __call__(self, event: dict[str, Any], reset_result: bool = True) -> Any:
            self.result = {"count": len(event.get("sections") or [])}
            if int(event.get("attempts", 0)) < int(event.get("fail_attempts", 0)) and event.get("task_id"):
                self.mark_task_as_failed(event["task_id"])
                return Processor.__call__(self, event, reset_result)
            return super().__call__(event, reset_result)

    return SoswExampleWorker


class SoswSystem:
    """sosw's essentials and a worker, called through ganger's in-process Lambda router."""

    def __init__(self, counter: ApiCallCounter, clock: Callable[[], float], meta: bool = True) -> None:
        from ganger.local.inprocess import InProcessLambda

        self.counter = counter
        self.clock = clock
        self.meta = meta
        self.lam = InProcessLambda()
        self.processors: dict[str, Any] = {}
        self.archived = 0

    # ---- deploying -----------------------------------------------------------------------------

    def deploy(self) -> None:
        """Tables, the scheduler's queue bucket, the worker function (sosw asks Lambda for its timeout), config."""
        import boto3

        dynamodb = boto3.client("dynamodb", region_name=REGION)
        for table in SOSW_TABLES:
            dynamodb.create_table(**table)
        boto3.client("s3", region_name=REGION).create_bucket(Bucket=QUEUE_BUCKET)
        for name, entry in repo_labourers().items():
            self._create_worker_function(name, entry["duration"])
        for name, value in config_documents(self.meta).items():
            dynamodb.put_item(
                TableName="config",
                Item={"env": {"S": "production"}, "config_name": {"S": name}, "config_value": {"S": json.dumps(value)}},
            )

    @staticmethod
    def _create_worker_function(name: str, timeout: int) -> None:
        import boto3

        iam = boto3.client("iam", region_name=REGION)
        trust = {
            "Version": "2012-10-17",
            "Statement": [
                {"Effect": "Allow", "Action": "sts:AssumeRole", "Principal": {"Service": "lambda.amazonaws.com"}}
            ],
        }
        role = iam.create_role(RoleName=f"sosw-benchmark-{name}", AssumeRolePolicyDocument=json.dumps(trust))
        package = io.BytesIO()
        with zipfile.ZipFile(package, "w") as archive:
            archive.writestr("worker.py", "def lambda_handler(event, context):\n    return None\n")
        boto3.client("lambda", region_name=REGION).create_function(
            FunctionName=name,
            Runtime="python3.11",
            Role=role["Role"]["Arn"],
            Handler="worker.lambda_handler",
            Code={"ZipFile": package.getvalue()},
            Timeout=timeout,
        )

    # ---- starting the functions ------------------------------------------------------------------

    def start(self) -> None:
        """Build each function's processor once (a warm container each), as ``get_lambda_handler`` does."""
        from sosw.components import config as sosw_config
        from sosw.orchestrator import Orchestrator
        from sosw.scavenger import Scavenger
        from sosw.scheduler import Scheduler
        from sosw.worker_assistant import WorkerAssistant

        source = vars(sosw_config)["__config_source"].default_source  # a cold process: no cached config client
        source.dynamo_client, source.no_ddb_access = None, False
        kinds = {SCHEDULER: Scheduler, ORCHESTRATOR: Orchestrator, SCAVENGER: Scavenger, ASSISTANT: WorkerAssistant}
        for name, cls in kinds.items():
            self.processors[name] = self._construct(name, lambda cls=cls: cls(custom_config={}))
        worker_class = _worker_class()
        self.processors[LABOURER] = self._construct(
            LABOURER, lambda: worker_class(custom_config={"sosw_worker_assistant_lambda": ASSISTANT})
        )
        self._phase_methods()
        for name in (SCHEDULER, ORCHESTRATOR, SCAVENGER):
            self.lam.register(name, self._handler(name))
        self.lam.register(LABOURER, self.counter.phased("report", self._handler(LABOURER)))
        self.lam.register(ASSISTANT, self._assistant_handler())

    def _construct(self, name: str, factory: Callable[[], Any]) -> Any:
        from ganger.local.inprocess import InvocationContext

        self._set_context(InvocationContext(name))
        with function_environment(name):
            return factory()

    def _phase_methods(self) -> None:
        scavenger = self.processors[SCAVENGER]
        scavenger.archive_tasks = self.counter.phased("archive", scavenger.archive_tasks)
        scavenger.handle_expired_tasks = self.counter.phased("retry", scavenger.handle_expired_tasks)
        scavenger.retry_tasks = self.counter.phased("retry", scavenger.retry_tasks)
        task_client = scavenger.task_client
        archive_task = task_client.archive_task

        def counting_archive(task_id: str) -> Any:
            result = archive_task(task_id)
            self.archived += 1
            return result

        task_client.archive_task = counting_archive

    @staticmethod
    def _set_context(context: Any) -> None:
        from sosw.app import global_vars

        context.log_stream_name = f"benchmark/[$LATEST]{context.aws_request_id}"
        global_vars.lambda_context = context

    def _handler(self, name: str) -> Callable[[Any, Any], Any]:
        def handler(event: Any, context: Any) -> Any:
            self._set_context(context)
            with function_environment(name):
                result = self.processors[name](event)
            return result if isinstance(result, (dict, list, str, int, float, type(None))) else None

        return handler

    def _assistant_handler(self) -> Callable[[Any, Any], Any]:
        handler = self._handler(ASSISTANT)

        def assistant(event: Any, context: Any) -> Any:
            action = event.get("action") if isinstance(event, dict) else None
            with self.counter.phase("archive" if action == "mark_task_as_completed" else "retry"):
                return handler(event, context)

        return assistant

    # ---- running ---------------------------------------------------------------------------------

    def schedule(self, job: dict[str, Any]) -> Any:
        """Invoke the Scheduler through the Lambda API, as a caller would."""
        import boto3

        response = boto3.client("lambda", region_name=REGION).invoke(
            FunctionName=SCHEDULER, Payload=json.dumps(job).encode()
        )
        body = json.loads(response["Payload"].read() or b"null")
        if response.get("FunctionError"):
            raise SoswRunError(f"sosw's Scheduler failed: {body}")
        self.lam.drain()
        return body

    def tick(self) -> None:
        with self.counter.phase("dispatch"):
            self.lam.run(ORCHESTRATOR, {})
        with self.counter.phase("report"):
            self.lam.drain()
        with self.counter.phase("scavenge"):
            self.lam.run(SCAVENGER, {})
            self.lam.drain()

    def scan(self, table: str) -> list[dict[str, Any]]:
        import boto3
        from boto3.dynamodb.types import TypeDeserializer

        client, deserializer = boto3.client("dynamodb", region_name=REGION), TypeDeserializer()
        rows: list[dict[str, Any]] = []
        for page in client.get_paginator("scan").paginate(TableName=table):
            rows.extend({k: deserializer.deserialize(v) for k, v in item.items()} for item in page["Items"])
        return rows


class SoswRunError(RuntimeError):
    """sosw did not bring every task to the closed table."""


def _idle(system: SoswSystem) -> dict[str, Any]:
    """Calls of one Orchestrator and one Scavenger run with nothing queued (sosw reads config only at init)."""
    counter = system.counter
    result = {}
    for key, name in (("orchestrator", ORCHESTRATOR), ("scavenger", SCAVENGER)):
        window = counter.window()
        with counter.phase("idle"):
            system.lam.run(name, {})
            system.lam.drain()
        result[key] = round(window.total() / len(repo_labourers()), 3)
    return result


def run_sosw(tasks: int, fail_every: int = 0, meta: bool = True, max_ticks: int | None = None) -> dict[str, Any]:
    """One job of ``tasks`` tasks through sosw 0.7.51 in a fresh ``mock_aws()``; the same figures as ganger's."""
    from moto import mock_aws

    from benchmarks.harness import Clock
    from benchmarks.workload import (
        PHASE_NOTES,
        PHASES,
        TICK_SECONDS,
        expected_failures,
        labourer_labeller,
        other_labourers_calls,
        sections_job,
    )
    from ganger.local.moto_index import fast_queries
    from ganger.local.moto_speed import fast_transactions

    counter = ApiCallCounter()
    clock = Clock(time.time())
    limit = max_ticks if max_ticks is not None else 3 * (tasks // 100 + 1) + 40
    started = time.perf_counter()
    with mock_aws(), fast_transactions(), fast_queries(), sosw_on_clock(clock):
        system = SoswSystem(counter, clock, meta)
        with system.lam.installed(), counter.installed():
            with counter.phase("setup"):
                system.deploy()
            counter.labeller = labourer_labeller(set(repo_labourers()))
            with counter.phase("init"):
                system.start()
            with counter.phase("schedule"):
                system.schedule(sections_job(tasks, fail_every))
            ticks = 0
            while system.archived < tasks:
                if ticks >= limit:
                    raise SoswRunError(f"sosw: only {system.archived} of {tasks} tasks archived after {ticks} ticks")
                system.tick()
                clock.advance(TICK_SECONDS)
                ticks += 1
            if system.lam.errors:
                raise SoswRunError(f"sosw: {len(system.lam.errors)} invocations failed, first: {system.lam.errors[0]}")
            with counter.phase("check"):
                verified = verify_all_closed(system, tasks, SoswRunError, "sosw: ")
            idle = _idle(system)
    report: dict[str, Any] = {
        "system": "sosw 0.7.51",
        "tasks": tasks,
        "failing_first_attempt": expected_failures(tasks, fail_every),
        **counter.summary(PHASES, tasks),
        "init_calls": counter.by_operation(["init"]),
        "init_note": "building each function's processor once (cold start: config reads, DescribeTable, Glue); "
        "not included in calls_per_task",
        "ticks": ticks,
        "tick_seconds": TICK_SECONDS,
        "verified": verified,
        "meta_handler": meta,
        "meta_calls": counter.by_table(PHASES).get("sosw_tasks_meta", 0),
        "idle_calls_per_labourer": idle,
        "idle_note": "sosw reads its config only at cold start, so every warm run is what is measured; "
        "per labourer: divided by the number of labourers",
        "phases": PHASE_NOTES,
    }
    report["seconds"]["init"] = round(counter.seconds.get("init", 0.0), 3)
    report["seconds"]["run_including_setup_and_checks"] = round(time.perf_counter() - started, 3)
    report["seconds_per_1000_tasks"] = round(report["seconds"]["total"] * 1000 / tasks, 3)
    report["schedule_seconds_per_1000_tasks"] = round(report["seconds"]["schedule"] * 1000 / tasks, 3)
    report["calls_per_task_without_meta"] = round((report["calls"] - report["meta_calls"]) / tasks, 3)
    other = other_labourers_calls(report)
    report["calls_for_other_labourers"] = other
    report["calls_per_task_benchmark_labourer_only"] = round((report["calls"] - other) / tasks, 3)
    report["labourers"] = len(repo_labourers())
    return report
