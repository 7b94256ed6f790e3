"""How long each console page takes to render server-side with 100,000 tasks in the tables.

Loads 100,000 tasks into in-process moto (the project's tables from yaml/, config/ loaded) with BatchWriteItem:
example_worker 30,000 queued, 50 running, 5,000 waiting to retry, 40,000 completed over the last day and 5,000
dead with five kinds of error; video_worker 10,000 queued and 9,950 completed. Then renders each page through
the console's app (no socket, no browser: the time is the reads plus the HTML) ``--runs`` times and prints the
median, with the AWS calls each page made by operation (a Scan would show there).

By default moto runs with local mode's speed patches (``ganger.local.moto_fast``: moto's answers, its queries
O(page) instead of O(table)), as ``ganger local`` serves it; ``--plain-moto`` measures unpatched moto.

    python -m benchmarks.console_pages [--tasks 100000] [--runs 7] [--write FILE] [--plain-moto]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import statistics
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import botocore.client

SHARES = {  # (labourer, state): share of the tasks
    ("example_worker", "queued"): 0.30, ("example_worker", "running"): 0.0005,
    ("example_worker", "retrying"): 0.05, ("example_worker", "completed"): 0.40,
    ("example_worker", "dead"): 0.05, ("video_worker", "queued"): 0.10, ("video_worker", "completed"): 0.0995,
}  # fmt: skip
ERRORS = ("TimeoutError: store {n} did not answer within 30 s", "ValueError: no row {id} for section s{n}",
          "KeyError: 'numbers'", "worker reported failure: no reason given",
          "ConnectionError: 10.0.{n}.7:5432 refused the connection")  # fmt: skip


@contextlib.contextmanager
def counting() -> Iterator[Counter[str]]:
    calls: Counter[str] = Counter()
    original = botocore.client.BaseClient._make_api_call

    def counted(client: Any, operation: str, params: Any) -> Any:
        calls[f"{client.meta.service_model.service_name}.{operation}"] += 1
        return original(client, operation, params)

    botocore.client.BaseClient._make_api_call = counted  # type: ignore[method-assign]
    try:
        yield calls
    finally:
        botocore.client.BaseClient._make_api_call = original  # type: ignore[method-assign]


def tasks(total: int, now: int) -> Iterator[tuple[str, dict[str, Any]]]:
    """(table, item) for every task: live, retry and closed rows as ganger writes them."""
    from ganger.labourer import INVOCATION_DELTA
    from ganger.tasks import QUEUE_BASE, Task

    serial = 0
    for (labourer, state), share in SHARES.items():
        for i in range(round(total * share)):
            serial += 1
            task_id = f"bench-{serial:06d}"
            created = now - 86_000 + (serial % 86_000)
            base = {"task_id": task_id, "labourer_id": labourer, "created_at": created, "job_id": "bench",
                    "payload": json.dumps({"sections": [f"s{i}"], "numbers": [i, i + 1]})}  # fmt: skip
            if state == "queued":
                yield "sosw_tasks", Task(**base, greenfield=QUEUE_BASE + i + 1).to_item()
            elif state == "running":
                yield "sosw_tasks", Task(**base, greenfield=now - 5 + INVOCATION_DELTA, attempts=1,
                                         invoked_at=now - 5).to_item()  # fmt: skip
            elif state == "retrying":
                yield "sosw_retry_tasks", Task(**base, greenfield=0, attempts=1, invoked_at=now - 100,
                                               desired_launch_time=now + 60 + i).to_item()  # fmt: skip
            else:
                closed = now - (i * 86_000 // max(1, round(total * share)))
                status = "1" if state == "completed" else "0"
                reason = ERRORS[i % len(ERRORS)].format(n=i % 97, id=f"{i * 7919:012x}") if status == "0" else None
                task = Task(**base, greenfield=0, attempts=1 if status == "1" else 3, invoked_at=closed - 2,
                            completed_at=closed if status == "1" else None, closed_at=closed, failure_reason=reason,
                            extra={"labourer_id_task_status": f"{labourer}_{status}", "result_sum": i})  # fmt: skip
                yield "sosw_closed_tasks", task.to_item()


def load(dynamodb: Any, total: int, now: int) -> int:
    """BatchWriteItem, 25 rows a request; returns the rows written."""
    batch: dict[str, list[dict[str, Any]]] = {}
    written = 0

    def flush() -> None:
        request: dict[str, Any] = {t: [{"PutRequest": {"Item": i}} for i in items] for t, items in batch.items()}
        while request:
            request = dynamodb.batch_write_item(RequestItems=request).get("UnprocessedItems") or {}
        batch.clear()

    for table, item in tasks(total, now):
        batch.setdefault(table, []).append(item)
        written += 1
        if sum(len(v) for v in batch.values()) == 25:
            flush()
    if batch:
        flush()
    return written


def setup(total: int) -> tuple[Any, dict[str, str]]:
    from benchmarks.harness import CONFIG_DIR, ROOT, deploy_tables
    from ganger.clients import AwsClients
    from ganger.config import ConfigStore, load_folder
    from ganger.console.actions import Actions
    from ganger.console.app import ConsoleApp
    from ganger.console.build import audit_trail
    from ganger.console.reads import ConsoleReads
    from ganger.console.security import Guard
    from ganger.documents import validate
    from ganger.tasks import TaskStore

    cfn = boto3.client("cloudformation", region_name="us-east-1")
    deploy_tables(cfn)
    deploy_tables(cfn, "ganger-audit", ROOT / "yaml" / "audit.yaml")
    clients = AwsClients(region="us-east-1")
    load_folder(ConfigStore(clients.dynamodb), CONFIG_DIR, validate)
    now = int(time.time())
    began = time.perf_counter()
    written = load(clients.dynamodb, total, now)
    print(f"loaded {written:,} tasks in {time.perf_counter() - began:.1f} s (BatchWriteItem)")
    store = TaskStore(clients.dynamodb)
    for labourer, cap, held in (("example_worker", 100, 50), ("video_worker", 5, 0)):
        store.slots.set_cap(labourer, cap, None, held)
        store.reserve_positions(labourer, round(total * SHARES[(labourer, "queued")]))  # the tail the Scheduler left
    trail = audit_trail(clients, None)
    reads = ConsoleReads(clients, trail)
    app = ConsoleApp(reads, Actions(reads, False, "benchmark", trail), Guard(8765))
    paths = {
        "/": "/", "/api/overview": "/api/overview", "/labourers/example_worker": "/labourers/example_worker",
        "/tasks/<queued>": "/tasks/bench-000001", "/tasks/<completed>": f"/tasks/bench-{round(total * 0.36):06d}",
        "/tasks/<dead>": f"/tasks/bench-{round(total * 0.76):06d}", "/dead": "/dead", "/config": "/config",
        "/cost": "/cost",
    }  # fmt: skip
    return app, paths


def measure(app: Any, paths: dict[str, str], runs: int) -> dict[str, Any]:
    from ganger.console.app import Request

    headers = {"host": "127.0.0.1:8765"}
    results: dict[str, Any] = {}
    for name, path in paths.items():
        response = app.handle(Request("GET", path, headers))  # warm-up (and a check that it renders)
        assert response.status == 200, (path, response.status, response.body[:300])
        times = []
        with counting() as calls:
            for _ in range(runs):
                began = time.perf_counter()
                app.handle(Request("GET", path, headers))
                times.append((time.perf_counter() - began) * 1000)
        per_page = {op: n // runs for op, n in sorted(calls.items())}
        assert not any(op.endswith(".Scan") for op in per_page), f"{path} scanned: {per_page}"
        results[name] = {"median_ms": round(statistics.median(times), 1), "max_ms": round(max(times), 1),
                         "calls": per_page}  # fmt: skip
        print(f"{name:24} median {statistics.median(times):7.1f} ms  max {max(times):7.1f} ms  "
              f"calls {sum(per_page.values()):4}  {per_page}")  # fmt: skip
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tasks", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--write", type=Path, help="write the results as JSON to this file")
    parser.add_argument("--plain-moto", action="store_true", help="unpatched moto (queries sort the whole table)")
    args = parser.parse_args(argv)
    fake = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_DEFAULT_REGION": "us-east-1",
            "AWS_ACCOUNT_ID_ENDPOINT_MODE": "disabled"}  # fmt: skip
    for name, value in fake.items():
        os.environ.setdefault(name, value)
    from moto import mock_aws

    from ganger.local.moto_fast import fast_moto

    with mock_aws(), contextlib.nullcontext() if args.plain_moto else fast_moto():
        app, paths = setup(args.tasks)
        results = measure(app, paths, args.runs)
    slowest = max(r["median_ms"] for r in results.values())
    print(f"slowest page median: {slowest} ms at {args.tasks:,} tasks ({'plain' if args.plain_moto else 'fast'} moto)")
    if args.write:
        record = {"tasks": args.tasks, "runs": args.runs, "moto": "plain" if args.plain_moto else "fast_moto",
                  "date": time.strftime("%Y-%m-%d"), "pages": results, "slowest_median_ms": slowest}  # fmt: skip
        args.write.write_text(json.dumps(record, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
