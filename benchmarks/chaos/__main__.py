"""``python -m benchmarks.chaos``: the chaos run's command line (see the package's docstring)."""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import logging
import sys

from benchmarks.chaos import DESCRIPTION
from benchmarks.chaos.run import run_chaos
from benchmarks.chaos.settings import TEMPLATE_RETRIES, ChaosSettings


def _retries(text: str) -> dict[str, int]:
    retries = dict(TEMPLATE_RETRIES)
    for part in filter(None, (p.strip() for p in text.split(","))):
        role, _, value = part.partition("=")
        if role not in TEMPLATE_RETRIES or not value.isdigit() or int(value) > 2:
            raise SystemExit(
                f"--lambda-retries: expected ROLE=0..2 with ROLE in {sorted(TEMPLATE_RETRIES)}, got {part!r}"
            )
        retries[role] = int(value)
    return retries


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.chaos", description=DESCRIPTION)
    parser.add_argument("--tasks", type=int, default=1000)
    parser.add_argument("--labourers", type=int, default=3)
    parser.add_argument("--api-faults", type=float, default=ChaosSettings.api_fault_rate)
    parser.add_argument("--worker-faults", type=float, default=ChaosSettings.worker_fault_rate)
    parser.add_argument(
        "--lost-responses",
        type=float,
        default=0.0,
        help="share of the injected timeouts raised after the call took effect",
    )
    parser.add_argument("--concurrency", type=int, default=ChaosSettings.concurrency)
    parser.add_argument("--seed", type=int, default=ChaosSettings.seed)
    parser.add_argument(
        "--lambda-retries",
        default=",".join(f"{k}={v}" for k, v in TEMPLATE_RETRIES.items()),
        help="MaximumRetryAttempts of Lambda's async retries per role (worker, assistant, orchestrator, scavenger); "
        "default: the templates' EventInvokeConfig",
    )
    parser.add_argument(
        "--botocore-retries",
        type=int,
        default=0,
        help="send a faulted call again up to N times, as botocore's standard mode would (default 0: every "
        "injected fault reaches ganger's code)",
    )
    parser.add_argument(
        "--contention",
        action="store_true",
        help="run on the contending DynamoDB: transactions hold their items and conflict, plain writes to a held "
        "item fail, hot keys are throttled (benchmarks/chaos/contention.py)",
    )
    parser.add_argument(
        "--flow",
        action="store_true",
        help="flow control on the labourers: chaos_0 keyed by tenant with max_per_key, chaos_1 rate-limited, "
        "job priorities 0, 2 and 4 in turn (benchmarks/chaos/settings.py FLOW_*)",
    )
    parser.add_argument("--json", action="store_true", help="print only the JSON summary")
    parser.add_argument("--out", help="also write the JSON summary to this file")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.CRITICAL if args.json else logging.ERROR)
    settings = ChaosSettings(tasks=args.tasks, labourers=args.labourers, api_fault_rate=args.api_faults,
                             worker_fault_rate=args.worker_faults, concurrency=args.concurrency,
                             seed=args.seed, lost_response_share=args.lost_responses,
                             lambda_retries=_retries(args.lambda_retries),
                             botocore_retries=args.botocore_retries, contention=args.contention,
                             flow=args.flow)  # fmt: skip
    with contextlib.redirect_stdout(io.StringIO()):  # Powertools prints its EMF metrics to stdout
        result = run_chaos(settings)
    text = json.dumps(result, indent=2)
    if args.out:
        with open(args.out, "w") as out:
            out.write(text + "\n")
    print(text)
    return 0 if result["violations"] == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
