"""Scheduler: turns a business job into tasks.

sosw's format ``{"job": {"lambda_name": ..., "payload": {...}, ...}}``, chunked by ``job_schema``.
Task ids derive from the job id and the chunk's index, and the job's marker is created with a
conditional put, so a job delivered twice creates each task once. Tasks are written with
BatchWriteItem; a job too big for one run hands its cursor to a sibling invocation in time. After each
step of writes the labourer's free slots take the new tasks at once (``Processor.start_queued``).
"""

from __future__ import annotations

import datetime
import hashlib
import json
import logging
import math
from dataclasses import dataclass, replace
from typing import Any

from aws_lambda_powertools import Logger
from botocore.exceptions import BotoCoreError, ClientError

from ganger import constants
from ganger import labourer as labourers_mod
from ganger.chunking import chunk_job
from ganger.documents import SchedulerConfig
from ganger.errors import InvalidJob, UnknownLabourer
from ganger.labourer import Labourer
from ganger.lanes import lane_of
from ganger.priority import parse_priority, queue_position
from ganger.processor import Processor, handler_for
from ganger.tasks import QUEUE_BASE, Task

logger = logging.getLogger(__name__)
Logger(service="sosw_scheduler")

RESERVED_JOB_KEYS = (
    "lambda_name", "job_id", "job_schema_name", "payload", "desired_launch_time", "delay_seconds", "priority",
)  # fmt: skip
MAX_JOB_BYTES = 256 * 1024
MAX_DELAY_SECONDS = 366 * 86400  # a delayed job starts within a year
WAKE_WITHIN_SECONDS = 60  # a delayed job due sooner wakes the Scavenger now; later ones, its minute tick


@dataclass(frozen=True)
class Job:
    lambda_name: str
    body: dict[str, Any]
    job_id: str | None = None
    schema_name: str = "default"
    cursor: int | None = None  # set only in a sibling's continuation
    desired_launch_time: float | None = None  # sosw's field: no task starts before this (epoch seconds)
    delay_seconds: float | None = None  # or: no task starts before this long after the job is accepted
    priority: int = 0  # higher first (``ganger.priority``): encoded into its tasks' queue positions

    def launch_at(self, now: float) -> int | None:
        """When the job's tasks may start (rounded up to a whole second), or None: at once."""
        if self.desired_launch_time is not None:
            at = self.desired_launch_time
        elif self.delay_seconds:
            at = now + self.delay_seconds
        else:
            return None
        return math.ceil(at) if at > now else None


def _launch_fields(job: dict[str, Any]) -> tuple[float | None, float | None]:
    """A job's ``desired_launch_time`` (epoch seconds) or ``delay_seconds``, checked; not both."""
    values = {name: job.get(name) for name in ("desired_launch_time", "delay_seconds")}
    for name, value in values.items():
        if value is None:
            continue
        if not isinstance(value, (int, float)) or isinstance(value, bool) or not math.isfinite(value) or value < 0:
            raise InvalidJob(f"job.{name}", f"expected a number of seconds >= 0, got {value!r:.60}")
    if values["desired_launch_time"] is not None and values["delay_seconds"] is not None:
        raise InvalidJob("job.delay_seconds", "give desired_launch_time or delay_seconds, not both")
    delay = values["delay_seconds"]
    if delay is not None and delay > MAX_DELAY_SECONDS:
        raise InvalidJob("job.delay_seconds", f"at most {MAX_DELAY_SECONDS} seconds (a year), got {delay}")
    return values["desired_launch_time"], delay


def _load(value: Any, field_name: str) -> Any:
    if isinstance(value, (str, bytes)):
        if len(value) > MAX_JOB_BYTES:
            raise InvalidJob(field_name, f"larger than {MAX_JOB_BYTES} bytes")
        try:
            return json.loads(value)
        except json.JSONDecodeError as exc:
            raise InvalidJob(field_name, f"not valid JSON: {exc.msg}") from exc
    return value


def parse_job(event: Any) -> Job:
    """The typed job of an event, or InvalidJob naming the bad field."""
    event = _load(event, "event")
    if not isinstance(event, dict):
        raise InvalidJob("event", f"expected an object, got {type(event).__name__}")
    job = _load(event["job"], "job") if "job" in event else event
    if not isinstance(job, dict):
        raise InvalidJob("job", f"expected an object, got {type(job).__name__}")
    name = job.get("lambda_name")
    if not isinstance(name, str) or not name.strip():
        raise InvalidJob("job.lambda_name", "missing; it names the labourer (function name or ARN)")
    body = {k: v for k, v in job.items() if k not in RESERVED_JOB_KEYS}
    payload = _load(job.get("payload", {}), "job.payload")
    if not isinstance(payload, dict):
        raise InvalidJob("job.payload", f"expected an object, got {type(payload).__name__}")
    body.update(payload)
    job_id = event.get("job_id", job.get("job_id"))
    if job_id is not None and (not isinstance(job_id, str) or not job_id or len(job_id) > 200):
        raise InvalidJob("job.job_id", "expected a non-empty string of at most 200 characters")
    schema_name = job.get("job_schema_name") or "default"
    if not isinstance(schema_name, str):
        raise InvalidJob("job.job_schema_name", "expected a string")
    cursor = event.get("cursor")
    if cursor is not None and (not isinstance(cursor, int) or cursor < 0):
        raise InvalidJob("cursor", "expected a non-negative integer")
    launch, delay = _launch_fields(job)
    try:
        priority = parse_priority(job.get("priority"))
    except ValueError as exc:
        raise InvalidJob("job.priority", str(exc)) from exc
    return Job(name.strip(), body, job_id, schema_name, cursor, launch, delay, priority)


def derive_job_id(labourer_id: str, chunks: list[dict[str, Any]]) -> str:
    """Same labourer and same chunks (dates included) -> same id, so a redelivery is recognised."""
    digest = hashlib.sha256(labourer_id.encode())
    for chunk in chunks:
        digest.update(json.dumps(chunk, sort_keys=True, default=str).encode())
    return digest.hexdigest()[:20]


def task_id_for(job_id: str, index: int) -> str:
    return f"{job_id}-{index}"


class Scheduler(Processor[SchedulerConfig]):
    config_class = SchedulerConfig
    default_function_name = "sosw_scheduler"
    uses_labourers = True

    def handle(self, event: Any) -> dict[str, Any]:
        job = parse_job(event)
        config = self.config
        labourers = self.labourers()
        labourer = labourers_mod.resolve(labourers, job.lambda_name)
        if labourer is None:
            raise UnknownLabourer(job.lambda_name, sorted(labourers))
        schema = config.job_schema_variants.get(job.schema_name)
        if schema is None:
            raise InvalidJob("job.job_schema_name", f"no job_schema_variants entry {job.schema_name!r}")
        today = datetime.datetime.fromtimestamp(self.clock(), datetime.UTC).date()
        chunks = chunk_job(job.body, schema.attrs(), today)
        job_id = job.job_id or derive_job_id(labourer.id, chunks)
        now = self.clock()
        start, recheck = self._start(job, job_id, labourer, len(chunks), config, now)
        if start is None:
            return {"job_id": job_id, "labourer_id": labourer.id, "duplicate": True, "tasks_created": 0}
        try:
            return self._write(job, job_id, labourer, chunks, start, recheck, config)
        except Exception:
            # Let Lambda's async retry (or a redelivery) resume at once from the stored cursor; the
            # rows this run wrote past it are found and skipped. (A killed run's lease simply runs out.)
            try:
                self.store.release_job(job_id)
            except (ClientError, BotoCoreError) as exc:
                logger.warning("job %s: could not end the failed run's lease: %s", job_id, exc)
            raise

    def _lease(self, config: SchedulerConfig) -> int:
        """How long a run may hold the job: its own remaining time (plus a margin), at most lease_seconds."""
        return int(min(config.lease_seconds, self.remaining_seconds() + 5))

    def _start(
        self, job: Job, job_id: str, labourer: Labourer, total: int, config: SchedulerConfig, now: float
    ) -> tuple[int | None, bool]:
        """Where to start writing (None: nothing to do) and whether rows may already exist."""
        if job.cursor is not None:
            return (job.cursor if self._take_handoff(job_id, job.cursor) else None), False
        existing = self.store.start_job(job_id, labourer.id, total, now, self._lease(config))
        if existing is None:
            return 0, False
        if existing.get("job_status") == "scheduling" and existing.get("lease_until", 0) < now:
            logger.warning("job %s stopped at chunk %s earlier; resuming", job_id, existing.get("cursor"))
            return int(existing.get("cursor", 0)), True
        logger.info("job %s was already scheduled (%s); nothing to do", job_id, existing.get("job_status"))
        return None, False

    def _take_handoff(self, job_id: str, cursor: int) -> bool:
        taken = self.store.take_handoff(job_id, cursor)
        if not taken:
            logger.warning("continuation of job %s at %s already taken", job_id, cursor)
        return taken

    def _write(
        self,
        job: Job,
        job_id: str,
        labourer: Labourer,
        chunks: list[dict[str, Any]],
        start: int,
        recheck: bool,
        config: SchedulerConfig,
    ) -> dict[str, Any]:
        cursor = start
        created = 0
        launch = job.launch_at(self.clock())
        if launch is not None:
            job = replace(job, desired_launch_time=launch, delay_seconds=None)  # a sibling keeps the same time
        while cursor < len(chunks):
            if cursor > start and self.remaining_seconds() < config.reserve_seconds:
                self._hand_over(job, job_id, cursor, config)
                return {"job_id": job_id, "labourer_id": labourer.id, "tasks_created": created, "continued_at": cursor}
            step = range(cursor, min(cursor + config.rows_per_step, len(chunks)))
            written = self._write_step(job_id, labourer, chunks, step, recheck, launch, job.priority)
            created += written
            cursor = step.stop
            if written and launch is None:  # start on arrival: the labourer's free slots take the new tasks now
                self.start_queued(labourer, self.clock())
            elif written and launch is not None:
                self._wake(labourer, launch)
        self.store.update_job(job_id, cursor, "scheduled", self.clock(), config.lease_seconds)
        self.stats["tasks_created"] += created
        return {"job_id": job_id, "labourer_id": labourer.id, "tasks_created": created, "total": len(chunks)}

    def _wake(self, labourer: Labourer, launch: int) -> None:
        """A delayed job due within a minute: ask the Scavenger (an Event Invoke, once per run) to wait for it
        and start it on time; the Scavenger's minute tick looks a minute ahead for the later ones."""
        if launch - self.clock() > WAKE_WITHIN_SECONDS or labourer.dispatch != "event" or self.stats["wakes"]:
            return
        function = constants.getenv(constants.ENV_SCAVENGER_FUNCTION) or constants.DEFAULT_SCAVENGER_FUNCTION
        payload = json.dumps({"action": "wake", "labourer_id": labourer.id}).encode()
        try:
            self.clients.lambda_.invoke(FunctionName=function, InvocationType="Event", Payload=payload)
            self.stats["wakes"] += 1
        except (ClientError, BotoCoreError) as exc:  # the tasks are stored: the minute tick starts them
            logger.warning("labourer %s: the Scavenger was not woken (%s); its tick starts the job", labourer.id, exc)

    def _write_step(
        self,
        job_id: str,
        labourer: Labourer,
        chunks: list[dict[str, Any]],
        step: range,
        recheck: bool,
        launch: int | None = None,
        priority: int = 0,
    ) -> int:
        """Write one step's tasks: to the queue, or (``launch``) to the retry table until that time, out of
        the greenfield index as a retry waits (the Scavenger puts them at the queue's front when due)."""
        ids = [task_id_for(job_id, i) for i in step]
        lanes = labourer.lane_count
        existing = self.store.existing_ids(ids, labourer.id, lanes) if recheck else set()
        fresh = [(i, task_id) for i, task_id in zip(step, ids, strict=True) if task_id not in existing]
        policy = labourer.key_policy
        if launch is None and policy is not None:  # keys take turns: positions interleave with the queued keys'
            keys = [policy.key_of(chunks[i]) for i, _ in fresh]
            positions = self.store.fair_positions(labourer.id, keys, self.clock())
        elif launch is None:
            positions = self.store.reserve_positions(labourer.id, len(fresh))
        else:
            positions = [QUEUE_BASE] * len(fresh)  # given a queue position when it falls due
        now = int(self.clock())
        tasks = [
            Task(
                task_id=task_id,
                labourer_id=labourer.id,
                created_at=now,
                greenfield=queue_position(position, priority),
                payload=json.dumps(chunks[i], default=str),
                job_id=job_id,
                lane=lane_of(task_id, lanes),  # a stable hash: a redelivered job makes the same rows
                desired_launch_time=launch,
                priority=priority,
            )
            for (i, task_id), position in zip(fresh, positions, strict=True)
        ]
        if launch is None:
            self.store.put_new(tasks)
        else:
            self.store.put_new(tasks, delayed=True)
        return len(tasks)

    def _hand_over(self, job: Job, job_id: str, cursor: int, config: SchedulerConfig) -> None:
        self.store.update_job(job_id, cursor, "scheduling", self.clock(), config.lease_seconds)  # for the sibling
        target = getattr(self.context, "invoked_function_arn", None) or self.function_name
        body: dict[str, Any] = {"lambda_name": job.lambda_name, "job_schema_name": job.schema_name, **job.body}
        if job.desired_launch_time is not None:
            body["desired_launch_time"] = job.desired_launch_time
        if job.priority:
            body["priority"] = job.priority
        event = {"job": body, "job_id": job_id, "cursor": cursor}
        self.clients.lambda_.invoke(FunctionName=target, InvocationType="Event", Payload=json.dumps(event).encode())
        self.stats["siblings_spawned"] += 1
        logger.info("job %s continues in a sibling at chunk %d", job_id, cursor)


lambda_handler = handler_for(Scheduler)
