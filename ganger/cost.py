"""Orchestration cost per million tasks, from counted API calls, beside Step Functions Standard.

The counts come from the benchmark harness (``benchmarks/lifecycle.py`` / ``compare.py``: one job of
N tasks through the whole lifecycle, every AWS call counted by phase and operation). Calls become
billable units with an item-size model, then dollars at on-demand list prices. The worker's own
invocation and run time are the same whichever system orchestrates, so they are left out of both.
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

MILLION = 1_000_000


@dataclass(frozen=True)
class Prices:
    """On-demand list prices, us-east-1, USD, as published from 2024-11-01 (DynamoDB's on-demand price cut).

    Written offline on 2026-11-22 and not re-checked against the live pricing pages: pass your own
    ``Prices`` when they have changed.

    DynamoDB on-demand after the 2024-11-01 reduction: $0.625 per million write request units,
    $0.125 per million read request units; a transactional write costs 2 units per KB, a
    transactional read 2 units per 4 KB. Lambda: $0.20 per million requests, $0.0000166667 per
    GB-second (x86). SQS standard: $0.40 per million requests (64 KB chunks). Step Functions
    Standard: $0.025 per 1,000 state transitions. Free tiers are ignored.
    """

    as_of: str = "2024-11-01"
    region: str = "us-east-1"
    dynamodb_write_unit: float = 0.625 / MILLION
    dynamodb_read_unit: float = 0.125 / MILLION
    lambda_request: float = 0.20 / MILLION
    lambda_gb_second: float = 0.0000166667
    sqs_request: float = 0.40 / MILLION
    step_functions_transition: float = 0.025 / 1000


@dataclass(frozen=True)
class Assumptions:
    """How calls become billable units. Defaults fit the example worker's tasks."""

    item_kb: float = 0.5  # a task row; <= 1 KB: 1 write unit, 1 read unit per 4 KB
    batch_write_items: int = 25  # items per BatchWriteItem (the Scheduler fills them)
    claim_items_per_transaction: int = 100  # the Orchestrator claims up to 100 tasks per transaction
    archive_items_per_transaction: int = 2  # completion: delete the live row + put the closed row
    report_ms: float = 60.0  # billed duration of one WorkerAssistant report
    report_memory_mb: int = 256  # WorkerAssistantMemorySize default in yaml/essentials.yaml
    sfn_transitions_per_task: int = 3  # Map iteration start, Lambda task state, its success
    fleet_sqs_requests_per_task: int = 3  # send, receive, delete


@dataclass(frozen=True)
class CallProfile:
    """Calls by phase and operation for ``tasks`` tasks (one benchmark run)."""

    tasks: int
    calls: dict[str, dict[str, int]]
    source: str

    @classmethod
    def from_benchmark(cls, path: Path) -> CallProfile:
        """A results file of ``benchmarks/`` (compare.all_succeed.ganger) or a lifecycle report."""
        report = json.loads(path.read_text())
        run = report.get("compare", {}).get("all_succeed", {}).get("ganger", report)
        if "calls_by_phase_and_operation" not in run:
            raise ValueError(f"{path}: no calls_by_phase_and_operation in it")
        return cls(int(run["tasks"]), run["calls_by_phase_and_operation"], str(path))


# benchmarks/results/2026-11-22.json, compare.all_succeed.ganger: 1000 tasks, every worker succeeding.
DEFAULT_PROFILE = CallProfile(
    tasks=1000,
    calls={
        "schedule": {"dynamodb.BatchWriteItem": 40, "dynamodb.BatchGetItem": 1, "dynamodb.PutItem": 1,
                     "dynamodb.UpdateItem": 2, "lambda.Invoke": 1},
        "dispatch": {"dynamodb.BatchGetItem": 9, "dynamodb.GetItem": 1, "dynamodb.Query": 50,
                     "dynamodb.TransactWriteItems": 10, "lambda.Invoke": 1000},
        "report": {"lambda.Invoke": 1000},
        "archive": {"dynamodb.TransactWriteItems": 1000},
        "retry": {"dynamodb.Query": 80},
        "scavenge": {"dynamodb.BatchGetItem": 10},
    },
    source="benchmarks/results/2026-11-22.json (compare.all_succeed.ganger, 1000 tasks, ganger's Worker)",
)  # fmt: skip


@dataclass
class Units:
    """Billable units for the whole profile."""

    write_units: float = 0.0
    read_units: float = 0.0
    lambda_requests: float = 0.0
    lambda_gb_seconds: float = 0.0
    sqs_requests: float = 0.0
    notes: list[str] = field(default_factory=list)


def _dynamodb_units(phase: str, operation: str, calls: int, tasks: int, a: Assumptions, units: Units) -> None:
    per_item_write = math.ceil(a.item_kb)
    if operation == "BatchWriteItem":
        units.write_units += calls * a.batch_write_items * per_item_write
    elif operation in ("PutItem", "UpdateItem", "DeleteItem"):
        units.write_units += calls * per_item_write
    elif operation == "TransactWriteItems":
        if phase == "dispatch":  # claims: one item per task, up to 100 per transaction
            items = min(calls * a.claim_items_per_transaction, tasks)
        else:
            items = calls * a.archive_items_per_transaction
        units.write_units += 2 * per_item_write * items  # transactional: 2 units per KB
    elif operation == "GetItem":
        units.read_units += calls * 1  # strongly consistent, <= 4 KB
    elif operation == "BatchGetItem":
        units.read_units += calls * 2  # two config documents, strongly consistent
    elif operation == "Query":
        units.read_units += calls * max(1.0, math.ceil(tasks / max(calls, 1) * a.item_kb / 4))


def units_for(profile: CallProfile, a: Assumptions) -> Units:
    """The profile's calls as billable units. Worker invocations (dispatch lambda.Invoke) are excluded."""
    units = Units()
    for phase, operations in profile.calls.items():
        for name, calls in operations.items():
            service, operation = name.split(".", 1)
            if service == "dynamodb":
                _dynamodb_units(phase, operation, calls, profile.tasks, a, units)
            elif service == "lambda" and phase != "dispatch":
                units.lambda_requests += calls
                if phase == "report":
                    units.lambda_gb_seconds += calls * a.report_ms / 1000 * a.report_memory_mb / 1024
            elif service == "sqs":
                units.sqs_requests += calls
    units.notes.append("worker invocations excluded: the same under any orchestrator")
    return units


@dataclass(frozen=True)
class Estimate:
    """Dollars per million tasks, by line item."""

    system: str
    lines: dict[str, float]

    @property
    def total(self) -> float:
        return sum(self.lines.values())

    def to_dict(self) -> dict[str, Any]:
        return {"system": self.system, "per_million_tasks_usd": round(self.total, 4),
                "lines": {k: round(v, 4) for k, v in self.lines.items()}}  # fmt: skip


def ganger_estimate(profile: CallProfile, prices: Prices, a: Assumptions, fleet: bool = False) -> Estimate:
    units = units_for(profile, a)
    scale = MILLION / profile.tasks
    lines = {
        "dynamodb writes": units.write_units * scale * prices.dynamodb_write_unit,
        "dynamodb reads": units.read_units * scale * prices.dynamodb_read_unit,
        "lambda requests": units.lambda_requests * scale * prices.lambda_request,
        "lambda GB-s": units.lambda_gb_seconds * scale * prices.lambda_gb_second,
    }
    if fleet:
        lines["sqs requests"] = a.fleet_sqs_requests_per_task * MILLION * prices.sqs_request
    return Estimate("ganger (fleet labourer, SQS)" if fleet else "ganger (lambda labourer)", lines)


def step_functions_estimate(prices: Prices, a: Assumptions) -> Estimate:
    transitions = a.sfn_transitions_per_task * MILLION
    return Estimate("Step Functions Standard", {"state transitions": transitions * prices.step_functions_transition})


def report(
    profile: CallProfile = DEFAULT_PROFILE, prices: Prices | None = None, a: Assumptions | None = None
) -> dict[str, Any]:
    """Everything ``ganger cost`` prints, as one JSON-ready dict."""
    prices, a = prices or Prices(), a or Assumptions()
    estimates = [ganger_estimate(profile, prices, a), ganger_estimate(profile, prices, a, fleet=True),
                 step_functions_estimate(prices, a)]  # fmt: skip
    calls = sum(sum(ops.values()) for ops in profile.calls.values())
    return {
        "source": profile.source,
        "tasks_measured": profile.tasks,
        "calls_per_task": round(calls / profile.tasks, 3),
        "prices": asdict(prices),
        "assumptions": asdict(a),
        "estimates": [e.to_dict() for e in estimates],
        "excluded": "the worker's own invocation and run time; the every-minute Orchestrator and Scavenger runs "
        "(a fixed ~86,400 requests a month each, independent of the number of tasks)",
    }
