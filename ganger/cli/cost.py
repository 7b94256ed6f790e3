"""`ganger cost`: orchestration cost per million tasks, every billable unit counted, beside the alternatives."""

from __future__ import annotations

import argparse
import json
from dataclasses import replace
from pathlib import Path
from typing import Any

from ganger.cost import Assumptions, UnitProfile, default_profile, report


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "cost",
        help="orchestration cost per million tasks, beside Step Functions and SQS + Lambda",
        description="Price the billable units a benchmark metered for every request (DynamoDB table and index "
        "write units, transactional writes at 2 units per KB, read units; Lambda requests and GB-seconds of the "
        "essentials; SQS requests) at on-demand list prices (us-east-1, dated in the output), beside the same "
        "work on Step Functions Standard, Step Functions Express and SQS feeding Lambda through an event source "
        "mapping. The worker's own run is left out of every system. Default profile: the recorded "
        "benchmarks/results/dispatch-*.json (python -m benchmarks.dispatch --write FILE makes a new one).",
    )
    parser.add_argument("--benchmark", type=Path, help="a results file of python -m benchmarks.dispatch --write")
    parser.add_argument("--task-seconds", type=float, default=Assumptions.task_seconds,
                        help="task duration an Express workflow waits for (2)")  # fmt: skip
    parser.add_argument("--sfn-transitions", type=int, default=Assumptions.sfn_transitions_per_task,
                        help="Step Functions state transitions per task (3)")  # fmt: skip
    parser.add_argument("--json", action="store_true", help="print JSON")
    parser.set_defaults(func=run)


def render(data: dict[str, Any]) -> str:
    prices = data["prices"]
    lines = [
        f"orchestration cost per 1,000,000 tasks (USD, on-demand list prices {prices['region']}, as of "
        f"{prices['as_of']})",
        f"units metered over {data['tasks_measured']} tasks: {data['profile']}",
        "",
    ]
    for name, system in data["systems"].items():
        lines.append(f"{name:36} {system['usd_per_million_tasks']:>10.2f}")
        lines += [f"  {item:34} {value:>10.2f}" for item, value in system["lines"].items()]
    lines += ["", "flow-control knobs, added per 1,000,000 tasks (write units per task):"]
    lines += [f"  {knob:34} {k['usd_per_million_tasks']:>10.2f} ({k['write_units_per_task']:g})"
              for knob, k in data.get("knobs", {}).items()]  # fmt: skip
    units = data["systems"]["ganger"]["units"]
    lines += ["", "ganger's units per task: " + ", ".join(f"{k} {v}" for k, v in units.items()),
              f"excluded: {data['excluded']}"]  # fmt: skip
    return "\n".join(lines)


def run(args: argparse.Namespace) -> int:
    profile = UnitProfile.from_benchmark(args.benchmark) if args.benchmark else default_profile()
    assumptions = replace(Assumptions(), task_seconds=args.task_seconds, sfn_transitions_per_task=args.sfn_transitions)
    data = report(profile, a=assumptions)
    print(json.dumps(data, indent=1) if args.json else render(data))
    return 0
