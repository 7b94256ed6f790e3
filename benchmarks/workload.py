"""What every benchmark runs: one job of N tasks for one Lambda labourer, and the process it runs in."""

from __future__ import annotations

import contextlib
import os
import resource
import sys
from collections.abc import Callable, Iterator
from typing import Any

LABOURER = "example_worker"
TICK_SECONDS = 60.0
PHASES = ("schedule", "dispatch", "report", "archive", "retry", "scavenge")
PHASE_NOTES = {
    "schedule": "the Scheduler invocation: job to task rows",
    "dispatch": "Orchestrator runs: find queued tasks, claim them, Invoke the worker",
    "report": "the worker runs and Invokes the WorkerAssistant",
    "archive": "a completion reaches the closed table (ganger: the WorkerAssistant's one transaction, which also "
    "claims the next queued task with the freed slot: the hand-off's Query and that task's Invoke count here; "
    "sosw: the WorkerAssistant marks completed_at, the Scavenger archives later)",
    "retry": "failure reports, expired tasks, retry table and back to the queue",
    "scavenge": "Scavenger overhead outside archive/retry (config, labourer registration)",
}

OFFLINE_ENV = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SECURITY_TOKEN": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_ACCOUNT_ID_ENDPOINT_MODE": "disabled",
    "POWERTOOLS_METRICS_DISABLED": "true",
}


def prepare_environment(quiet: bool = True) -> None:
    """Fake credentials and no endpoints, so nothing can reach a real AWS account.

    ``quiet`` lowers the Powertools log level (sosw logs every config and event at INFO). It only
    takes effect for modules imported afterwards, so call this before importing essentials or sosw.
    """
    os.environ.update(OFFLINE_ENV)
    for name in ("AWS_PROFILE", "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_LAMBDA"):
        os.environ.pop(name, None)
    if quiet:
        os.environ.setdefault("POWERTOOLS_LOG_LEVEL", "WARNING")


def section_names(tasks: int) -> list[str]:
    return [f"s{i:06d}" for i in range(tasks)]


def failing(index: int, fail_every: int) -> bool:
    """Whether the task at ``index`` fails its first attempt (every ``fail_every``-th; 0: none)."""
    return fail_every > 0 and index % fail_every == fail_every - 1


def sections_job(tasks: int, fail_every: int = 0) -> dict[str, Any]:
    """One job that the Scheduler's default job_schema chunks into ``tasks`` tasks, one per section.

    The chunkable attributes sit at the top of the job, where both ganger and sosw look for them.
    With ``fail_every`` every n-th section carries ``fail_attempts: 1``: its first attempt fails.
    """
    names = section_names(tasks)
    sections: list[str] | dict[str, Any]
    if fail_every:
        sections = {name: ({"fail_attempts": 1} if failing(i, fail_every) else None) for i, name in enumerate(names)}
    else:
        sections = names
    return {"job": {"lambda_name": LABOURER, "sections": sections, "isolate_sections": True}}


def expected_failures(tasks: int, fail_every: int) -> int:
    return sum(failing(i, fail_every) for i in range(tasks))


def labourer_labeller(labourers: set[str]) -> Callable[[str, str, dict[str, Any]], str | None]:
    """Which labourer a call is about, when its parameters name one (queries by labourer, Lambda functions)."""

    def label(service: str, operation: str, params: dict[str, Any]) -> str | None:
        for value in (params.get("ExpressionAttributeValues") or {}).values():
            text = value.get("S") if isinstance(value, dict) else None
            if text and text.rsplit("_", 1)[0] in labourers and text.rsplit("_", 1)[-1] in ("0", "1"):
                return text.rsplit("_", 1)[0]
            if text in labourers:
                return text
        function = params.get("FunctionName")
        if isinstance(function, str):
            name = function.split(":function:")[-1].split(":")[0]
            return name if name in labourers else None
        return None

    return label


def other_labourers_calls(report: dict[str, Any]) -> int:
    """Calls about labourers other than the benchmark's (idle ones in the repo's config)."""
    return sum(n for name, n in report.get("calls_by_labourer", {}).items() if name != LABOURER)


def peak_rss_mb() -> float:
    """Peak resident memory of this process so far (Linux reports KiB)."""
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


def per_task(value: float, tasks: int, digits: int = 3) -> float:
    return round(value / tasks, digits) if tasks else 0.0


def ratio(a: float, b: float, digits: int = 3) -> float | None:
    return round(a / b, digits) if b else None


@contextlib.contextmanager
def stdout_to_stderr() -> Iterator[None]:
    """Send what the systems print (sosw's and Powertools' log lines) to stderr, keeping stdout for the report."""
    sys.stdout.flush()
    saved = os.dup(1)
    os.dup2(2, 1)
    try:
        yield
    finally:
        sys.stdout.flush()
        os.dup2(saved, 1)
        os.close(saved)


def verify_all_closed(system: Any, tasks: int, error: type[Exception], who: str = "") -> dict[str, int]:
    """Every task completed in the closed table and nothing left in the task or retry tables (either system).

    Counts page by page (a 100,000-task check keeps no list of rows), with the client of this process."""
    completed, other = 0, 0
    for status in _column("sosw_closed_tasks", "labourer_id_task_status"):
        completed, other = (completed + 1, other) if status == f"{LABOURER}_1" else (completed, other + 1)
    live = sum(1 for task_id in _column("sosw_tasks", "task_id") if not _marker(task_id))
    retrying = sum(1 for task_id in _column("sosw_retry_tasks", "task_id") if not _marker(task_id))
    if completed != tasks or live or retrying:
        raise error(
            f"{who}expected {tasks} completed tasks in sosw_closed_tasks and nothing else left; found {completed} "
            f"completed, {other} other closed, {live} live, {retrying} waiting for retry"
        )
    return {"closed_completed": completed, "live": 0, "retry": 0}


def _marker(task_id: str) -> bool:
    from ganger.tasks import MARKER_PREFIX

    return task_id.startswith(MARKER_PREFIX)


def _column(table: str, attribute: str) -> Iterator[str]:
    """One string attribute of every row of a table, a page at a time."""
    import boto3

    client = boto3.client("dynamodb", region_name=OFFLINE_ENV["AWS_DEFAULT_REGION"])
    pages = client.get_paginator("scan").paginate(
        TableName=table, ProjectionExpression="#a", ExpressionAttributeNames={"#a": attribute}
    )
    for page in pages:
        for item in page["Items"]:
            yield str(item.get(attribute, {}).get("S", ""))
