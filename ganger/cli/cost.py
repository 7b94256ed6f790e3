"""`ganger cost`: orchestration cost per million tasks at on-demand list prices, beside Step Functions."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from ganger.cost import DEFAULT_PROFILE, Assumptions, CallProfile, report


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "cost",
        help="orchestration cost per million tasks, beside Step Functions Standard",
        description="Turn the benchmark's counted AWS calls for one task lifecycle (by phase and operation) into "
        "DynamoDB read/write units (transactional writes at 2x), Lambda requests and GB-seconds and SQS "
        "requests, priced at on-demand list prices (us-east-1, dated in the output); compare with the same "
        "work as Step Functions Standard state transitions. The worker's own run is left out of both.",
    )
    parser.add_argument("--benchmark", type=Path, help="a benchmarks/results/*.json or lifecycle --json report")
    parser.add_argument("--item-kb", type=float, default=Assumptions.item_kb, help="task item size in KB (0.5)")
    parser.add_argument("--report-ms", type=float, default=Assumptions.report_ms,
                        help="billed ms of one WorkerAssistant report (60)")  # fmt: skip
    parser.add_argument("--sfn-transitions", type=int, default=Assumptions.sfn_transitions_per_task,
                        help="Step Functions state transitions per task (3)")  # fmt: skip
    parser.add_argument("--json", action="store_true", help="print JSON")
    parser.set_defaults(func=run)


def render(data: dict[str, Any]) -> str:
    lines = [
        f"orchestration cost per 1,000,000 tasks (USD, on-demand list prices {data['prices']['region']}, "
        f"as of {data['prices']['as_of']})",
        f"calls measured: {data['calls_per_task']} per task over {data['tasks_measured']} tasks ({data['source']})",
        "",
    ]
    for estimate in data["estimates"]:
        lines.append(f"{estimate['system']:32} {estimate['per_million_tasks_usd']:>10.2f}")
        lines += [f"  {name:30} {value:>10.2f}" for name, value in estimate["lines"].items()]
    lines += ["", f"excluded: {data['excluded']}"]
    return "\n".join(lines)


def run(args: argparse.Namespace) -> int:
    profile = CallProfile.from_benchmark(args.benchmark) if args.benchmark else DEFAULT_PROFILE
    assumptions = Assumptions(
        item_kb=args.item_kb, report_ms=args.report_ms, sfn_transitions_per_task=args.sfn_transitions
    )
    data = report(profile, a=assumptions)
    print(json.dumps(data, indent=1) if args.json else render(data))
    return 0
