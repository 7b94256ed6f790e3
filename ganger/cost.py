"""Orchestration cost per million tasks, every billable unit counted, beside the alternatives.

The units come from a benchmark that metered every request (``ganger.billing``): DynamoDB table and
index write units (transactional writes at 2 units per KB), read units, Lambda requests of the
essentials (and of the nudges), from which GB-seconds follow with a billed duration per run, and SQS
requests. The worker's own invocation and run are the same whichever system orchestrates, so they are
left out of every system. Prices are on-demand list prices; pass your own ``Prices`` when they change.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

MILLION = 1_000_000
ESSENTIALS = ("sosw_scheduler", "sosw_orchestrator", "sosw_scavenger", "sosw_worker_assistant")


@dataclass(frozen=True)
class Prices:
    """On-demand list prices, us-east-1, USD, as published from 2024-11-01 (DynamoDB's on-demand price cut).

    Written offline and not re-checked against the live pricing pages. DynamoDB: $0.625 per million write
    request units, $0.125 per million read request units. Lambda: $0.20 per million requests, $0.0000166667
    per GB-second (x86). SQS standard: $0.40 per million requests. Step Functions Standard: $0.025 per 1,000
    state transitions; Express: $1.00 per million requests and $0.00001667 per GB-second (64 MB minimum).
    Free tiers are ignored.
    """

    as_of: str = "2024-11-01"
    region: str = "us-east-1"
    dynamodb_write_unit: float = 0.625 / MILLION
    dynamodb_read_unit: float = 0.125 / MILLION
    lambda_request: float = 0.20 / MILLION
    lambda_gb_second: float = 0.0000166667
    sqs_request: float = 0.40 / MILLION
    step_functions_transition: float = 0.025 / 1000
    express_request: float = 1.00 / MILLION
    express_gb_second: float = 0.00001667


@dataclass(frozen=True)
class Assumptions:
    """What the meter cannot see: billed run time and memory of each essential, and the alternatives' shape."""

    billed_ms: dict[str, float] = field(
        default_factory=lambda: {
            "sosw_scheduler": 150.0,
            "sosw_orchestrator": 100.0,
            "sosw_scavenger": 100.0,
            "sosw_worker_assistant": 80.0,
        }
    )
    memory_mb: dict[str, int] = field(
        default_factory=lambda: {  # yaml/essentials.yaml defaults
            "sosw_scheduler": 512,
            "sosw_orchestrator": 512,
            "sosw_scavenger": 512,
            "sosw_worker_assistant": 256,
        }
    )
    task_seconds: float = 2.0  # an Express workflow waits for its task (the throughput workload's 2 s)
    sfn_transitions_per_task: int = 3  # Map iteration start, Lambda task state, its success
    esm_sqs_requests_per_task: int = 3  # send; the mapping's receive and delete (batch size 1, as a cap needs)
    fleet_sqs_requests_per_task: int = 3  # send, the instance's receive and delete
    # a rate-limited labourer (``ganger.rates``): no hand-offs, so each completion gives its slot back (2 units) and
    # a claim takes it with the lane counter (2) and the bucket (2), shared by a claim's tasks (1-5 at the pacer's
    # steps): about 5 more write units per task, and the bucket's consistent GetItem per claim (1 read unit)
    rate_write_units_per_task: float = 5.0
    rate_read_units_per_task: float = 1.0


@dataclass(frozen=True)
class UnitProfile:
    """Billable units metered over ``tasks`` tasks (one benchmark run)."""

    tasks: int
    units: dict[str, Any]
    source: str

    @classmethod
    def from_benchmark(cls, path: Path) -> UnitProfile:
        """A ``benchmarks.dispatch`` results file: its event-mode throughput workload."""
        data = json.loads(path.read_text())
        run = data.get("modes", {}).get("event", {}).get("throughput", data)
        if "units" not in run or "tasks" not in run:
            raise ValueError(f"{path}: no metered units in it (write one with python -m benchmarks.dispatch --write)")
        return cls(int(run["tasks"]), run["units"], f"{path} (event mode, throughput workload)")


DEFAULT_RESULTS = Path(__file__).resolve().parents[1] / "benchmarks" / "results" / "dispatch-2026-11-29.json"


def default_profile() -> UnitProfile:
    profile = UnitProfile.from_benchmark(DEFAULT_RESULTS)
    where = DEFAULT_RESULTS.relative_to(DEFAULT_RESULTS.parents[2])
    return UnitProfile(profile.tasks, profile.units, f"{where} (event mode, throughput workload)")


def ganger_lines(profile: UnitProfile, prices: Prices, a: Assumptions, fleet: bool = False) -> dict[str, float]:
    """Dollars per million tasks by line item."""
    scale = MILLION / profile.tasks
    u = profile.units
    requests = {name: n for name, n in u.get("lambda_requests", {}).items() if name in ESSENTIALS}
    gb_seconds = sum(n * a.billed_ms[name] / 1000 * a.memory_mb[name] / 1024 for name, n in requests.items())
    lines = {
        "dynamodb table writes": u["dynamodb_table_write_units"] * scale * prices.dynamodb_write_unit,
        "dynamodb index writes": u["dynamodb_index_write_units"] * scale * prices.dynamodb_write_unit,
        "dynamodb reads": u["dynamodb_read_units"] * scale * prices.dynamodb_read_unit,
        "lambda requests (essentials)": sum(requests.values()) * scale * prices.lambda_request,
        "lambda GB-s (essentials)": gb_seconds * scale * prices.lambda_gb_second,
    }
    if fleet:
        lines["sqs requests"] = a.fleet_sqs_requests_per_task * MILLION * prices.sqs_request
    return lines


def rate_lines(prices: Prices, a: Assumptions) -> dict[str, float]:
    """What a rate limit adds per million tasks (``Assumptions.rate_*``)."""
    return {
        "rate limit: table writes": a.rate_write_units_per_task * MILLION * prices.dynamodb_write_unit,
        "rate limit: reads": a.rate_read_units_per_task * MILLION * prices.dynamodb_read_unit,
    }


def alternatives(prices: Prices, a: Assumptions) -> dict[str, dict[str, Any]]:
    transitions = a.sfn_transitions_per_task
    express_gb_s = a.task_seconds * 64 / 1024
    esm = a.esm_sqs_requests_per_task
    return {
        "Step Functions Standard": {
            "lines": {"state transitions": transitions * MILLION * prices.step_functions_transition},
            "units": {"state_transitions_per_task": transitions},
        },
        "Step Functions Express": {
            "lines": {
                "requests": MILLION * prices.express_request,
                "GB-s (64 MB for the task's duration)": MILLION * express_gb_s * prices.express_gb_second,
            },
            "units": {"requests_per_task": 1, "gb_seconds_per_task": express_gb_s},
        },
        "SQS + Lambda event source mapping": {
            "lines": {"sqs requests": esm * MILLION * prices.sqs_request},
            "units": {"sqs_requests_per_task": esm},
        },
    }


def report(
    profile: UnitProfile | None = None, prices: Prices | None = None, a: Assumptions | None = None
) -> dict[str, Any]:
    """Everything ``ganger cost`` prints: ``{"systems": {name: {"usd_per_million_tasks", "units", ...}}, ...}``."""
    profile, prices, a = profile or default_profile(), prices or Prices(), a or Assumptions()
    per_task = {k: _per_task(v, profile.tasks) for k, v in profile.units.items()}
    systems: dict[str, dict[str, Any]] = {}
    for name, fleet in (("ganger", False), ("ganger (fleet labourer, SQS)", True)):
        lines = ganger_lines(profile, prices, a, fleet)
        systems[name] = {"usd_per_million_tasks": round(sum(lines.values()), 4), "units": per_task,
                         "lines": {k: round(v, 4) for k, v in lines.items()}}  # fmt: skip
    lines = {**ganger_lines(profile, prices, a), **rate_lines(prices, a)}
    rounded = {k: round(v, 4) for k, v in lines.items()}
    systems["ganger (rate-limited labourer)"] = {
        "usd_per_million_tasks": round(sum(lines.values()), 4), "units": per_task, "lines": rounded
    }  # fmt: skip
    for name, alt in alternatives(prices, a).items():
        systems[name] = {"usd_per_million_tasks": round(sum(alt["lines"].values()), 4), "units": alt["units"],
                         "lines": {k: round(v, 4) for k, v in alt["lines"].items()}}  # fmt: skip
    return {
        "systems": systems,
        "knobs": knob_lines(prices),
        "profile": profile.source,
        "tasks_measured": profile.tasks,
        "prices": asdict(prices),
        "assumptions": asdict(a),
        "excluded": "the worker's own invocation and run time (the same under every system); free tiers",
    }


# Write units a knob adds per task, on top of the metered profile (``ganger.keys``): max_per_key takes the key's
# place in the claim's transaction (an Update, 2 units) and gives it back in the end's (2 units); a hand-off
# between two tasks of one key touches neither. concurrency_key alone writes one item per key per Scheduler step.
KNOB_WRITE_UNITS_PER_TASK = {"max_per_key": 4.0, "concurrency_key": 0.0}


def knob_lines(prices: Prices) -> dict[str, dict[str, float]]:
    """What each flow-control knob adds per million tasks (write units at the on-demand price)."""
    return {
        knob: {
            "write_units_per_task": units,
            "usd_per_million_tasks": round(units * MILLION * prices.dynamodb_write_unit, 4),
        }
        for knob, units in KNOB_WRITE_UNITS_PER_TASK.items()
    }


def _per_task(value: Any, tasks: int) -> Any:
    if isinstance(value, dict):
        return {name: round(count / tasks, 4) for name, count in value.items()}
    return round(value / tasks, 4)


def dispatch_usd_per_million(results: dict[str, Any]) -> float | None:
    """The dollar figure of a ``benchmarks.dispatch`` run (event mode, throughput workload)."""
    run = results.get("modes", {}).get("event", {}).get("throughput")
    if not run or "units" not in run:
        return None
    return float(
        report(UnitProfile(int(run["tasks"]), run["units"], "this run"))["systems"]["ganger"]["usd_per_million_tasks"]
    )
