"""`ganger status`: queued, running, expired, retrying, completed and dead per labourer."""

from __future__ import annotations

import argparse
import json
import time
from typing import Any

from ganger.cli.target import add_target_options, resolve_target
from ganger.clients import AwsClients
from ganger.ops.context import Ops
from ganger.ops.status import LabourerStatus, system_status

COLUMNS = ("labourer", "queued", "running", "expired", "retrying", "completed_1h", "completed_24h", "dead_1h",
           "dead_24h", "oldest_queued_age", "health")  # fmt: skip


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "status",
        help="per-labourer task counts and health",
        description="Per labourer: tasks queued, running, expired, waiting for retry, completed and dead "
        "(last hour / day), the oldest queued task's age in seconds, and health status (0 Bad .. 4 High).",
    )
    parser.add_argument("--json", action="store_true", help="print JSON")
    parser.add_argument("--watch", type=float, nargs="?", const=2.0, help="refresh every N seconds (default 2)")
    parser.add_argument("--labourer", action="append", help="only this labourer (repeatable)")
    add_target_options(parser)
    parser.set_defaults(func=run)


def collect(clients: AwsClients, only: list[str] | None = None) -> list[LabourerStatus]:
    return system_status(Ops(clients), time.time(), only)


def render_table(rows: list[LabourerStatus]) -> str:
    header = list(COLUMNS)
    body = [["-" if (v := getattr(r, c)) is None else str(v) for c in COLUMNS] for r in rows]
    widths = [max(len(h), *(len(line[i]) for line in body)) if body else len(h) for i, h in enumerate(header)]
    lines = ["  ".join(h.ljust(w) for h, w in zip(header, widths, strict=True))]
    lines += ["  ".join(v.rjust(w) if i else v.ljust(w) for i, (v, w) in enumerate(zip(line, widths, strict=True)))
              for line in body]  # fmt: skip
    if not rows:
        lines.append("(no labourers configured in ganger_labourers)")
    return "\n".join(lines)


def run(args: argparse.Namespace) -> int:
    target = resolve_target(args)
    clients = target.clients()
    while True:
        rows = collect(clients, args.labourer)
        if args.json:
            print(json.dumps({"target": target.description, "labourers": {r.labourer: r.to_dict() for r in rows}}))
        else:
            if args.watch:
                print("\033[2J\033[H", end="")
            print(f"ganger status on {target.description} at {time.strftime('%H:%M:%S')}")
            print(render_table(rows))
        if not args.watch:
            return 0
        time.sleep(args.watch)
