"""`ganger local --demo`: a scripted scenario on the local system, a summary table and a JSON report.

The core scenario is a job of 200 tasks for the example worker, one of which fails its first attempt
and succeeds on retry. Other packages add scenarios through the ``ganger.demo`` entry point group:
a callable taking a ``DemoEnvironment`` and returning results with ``name``, ``ok`` and ``summary``.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from importlib.metadata import entry_points
from pathlib import Path
from typing import Any

import botocore.client

from ganger.clients import AwsClients
from ganger.local.runtime import LocalSystem
from ganger.tasks import STATUS_COMPLETED, STATUS_DEAD, TaskStore

logger = logging.getLogger(__name__)
EXAMPLE_LABOURER = "example_worker"


@dataclass
class DemoEnvironment:
    webhook_url: str
    webhook_secret: str
    telegram: Any
    clients: AwsClients
    settle: Callable[[], None]
    say: Callable[[str], None]
    system: LocalSystem


@dataclass(frozen=True)
class Outcome:
    name: str
    ok: bool
    summary: str


class ApiCallCounter:
    """Counts AWS API calls made in this process, except those of threads marked as observers."""

    def __init__(self) -> None:
        self.calls: Counter[str] = Counter()
        self._lock = threading.Lock()
        self._observer = threading.local()

    @contextmanager
    def installed(self) -> Iterator[ApiCallCounter]:
        original = botocore.client.BaseClient._make_api_call
        counter = self

        def counting(client: Any, operation: str, params: dict[str, Any]) -> Any:
            if not getattr(counter._observer, "on", False):
                with counter._lock:
                    counter.calls[f"{client.meta.service_model.service_name}.{operation}"] += 1
            return original(client, operation, params)

        botocore.client.BaseClient._make_api_call = counting
        try:
            yield self
        finally:
            botocore.client.BaseClient._make_api_call = original

    @contextmanager
    def observer(self) -> Iterator[None]:
        """Calls made inside this block (progress display, the summary) are not counted."""
        self._observer.on = True
        try:
            yield
        finally:
            self._observer.on = False

    def total(self) -> int:
        return sum(self.calls.values())


def example_job(tasks: int = 200, run_id: str = "") -> dict[str, Any]:
    """``tasks`` sections, one per task; section s000 fails its first attempt (the retry)."""
    sections: dict[str, Any] = {f"s{i:03d}": None for i in range(1, tasks)}
    sections["s000"] = {"fail_attempts": 1}
    job_id = f"demo-{run_id or int(time.time())}"
    return {"job": {"lambda_name": EXAMPLE_LABOURER, "job_id": job_id,
                    "payload": {"sections": sections, "isolate_sections": True, "numbers": [1, 2, 3]}}}  # fmt: skip


def schedule(clients: AwsClients, job: dict[str, Any]) -> dict[str, Any]:
    response = clients.lambda_.invoke(FunctionName="sosw_scheduler", Payload=json.dumps(job).encode())
    body = json.loads(response["Payload"].read() or b"null")
    if response.get("FunctionError"):
        raise RuntimeError(f"the Scheduler refused the demo job: {body.get('errorMessage')}")
    return dict(body)


def start_core_scenario(env: DemoEnvironment, tasks: int) -> dict[str, Any]:
    """Schedule the example job; it runs while the other scenarios run."""
    result = schedule(env.clients, example_job(tasks))
    env.say(f"scheduled job {result['job_id']}: {result['tasks_created']} tasks for {EXAMPLE_LABOURER}")
    return result


def finish_core_scenario(env: DemoEnvironment, result: dict[str, Any]) -> Outcome:
    env.settle()
    closed = _closed(env, EXAMPLE_LABOURER)
    mine = [t for t in closed if t.job_id == result["job_id"]]
    retried = [t for t in mine if t.attempts > 1]
    ok = len(mine) == result["total"] and len(retried) == 1
    return Outcome("example job", ok, f"{len(mine)}/{result['total']} completed, {len(retried)} after a retry")


def _closed(env: DemoEnvironment, labourer: str) -> list[Any]:
    return TaskStore(env.clients.dynamodb).closed(labourer, STATUS_COMPLETED, 0)


def plugin_scenarios(env: DemoEnvironment) -> list[Outcome]:
    outcomes = []
    for entry in sorted(entry_points(group="ganger.demo"), key=lambda e: e.name):
        try:
            results = entry.load()(env)
        except Exception as exc:  # a broken plugin is a failed scenario, not a failed demo
            logger.exception("demo scenarios %s failed", entry.name)
            outcomes.append(Outcome(entry.name, False, f"{type(exc).__name__}: {exc}"))
            continue
        outcomes += [Outcome(str(r.name), bool(r.ok), str(r.summary)) for r in results]
    return outcomes


def labourer_report(clients: AwsClients, labourers: list[str]) -> dict[str, dict[str, int]]:
    store = TaskStore(clients.dynamodb)
    report = {}
    for labourer in labourers:
        completed = store.closed(labourer, STATUS_COMPLETED, 0)
        dead = store.closed(labourer, STATUS_DEAD, 0)
        retried = sum(1 for t in completed + dead if t.attempts > 1)
        if completed or dead:
            report[labourer] = {"completed": len(completed), "dead": len(dead), "retried": retried}
    return report


def summary_table(outcomes: list[Outcome], labourers: dict[str, dict[str, int]], api_calls: int, seconds: float) -> str:
    lines = ["", "ganger local demo", "", f"{'labourer':<16}{'completed':>10}{'dead':>6}{'retried':>9}"]
    for name, row in sorted(labourers.items()):
        lines.append(f"{name:<16}{row['completed']:>10}{row['dead']:>6}{row['retried']:>9}")
    lines += ["", f"{'scenario':<22}{'result':<8}what happened"]
    for outcome in outcomes:
        lines.append(f"{outcome.name:<22}{'ok' if outcome.ok else 'FAILED':<8}{outcome.summary}")
    lines += ["", f"AWS API calls: {api_calls}    seconds: {seconds:.1f}"]
    return "\n".join(lines)


def run_demo(
    system: LocalSystem, counter: ApiCallCounter, started: float, tasks: int = 200, report: Path | None = None
) -> bool:
    """Run every scenario, print the summary, write the report; True when every scenario is ok."""
    assert system.clients is not None
    say = system.options.say
    env = DemoEnvironment(
        system.urls.webhook,
        system.urls.webhook_secret,
        system.telegram,
        system.clients,
        lambda: _settle(system, counter),
        say,
        system,
    )
    core = start_core_scenario(env, tasks)
    others = plugin_scenarios(env) if system.urls.webhook and system.telegram is not None else []
    outcomes = [finish_core_scenario(env, core), *others]
    _settle(system, counter)
    api_calls = counter.total()
    seconds = time.monotonic() - started
    with counter.observer():
        labourers = labourer_report(system.clients, list(system.labourers()))
    replies = [
        {"chat_id": r.chat_id, "method": r.method, "text": r.text or r.caption or ""}
        for r in (system.telegram.sent if system.telegram is not None else [])
    ]
    say(summary_table(outcomes, labourers, api_calls, seconds))
    ok = all(o.ok for o in outcomes)
    if report is not None:
        document = {
            "labourers": labourers,
            "telegram_replies": replies,
            "api_calls": api_calls,
            "seconds": round(seconds, 2),
            "scenarios": [o.__dict__ for o in outcomes],
            "ok": ok,
        }
        report.write_text(json.dumps(document, indent=1, default=str))
        say(f"report written to {report}")
    return ok


def _settle(system: LocalSystem, counter: ApiCallCounter) -> None:
    with counter.observer():
        quiet = system.settle(timeout=120)
    if not quiet:
        system.options.say("warning: the system did not become quiet within 120 s")
