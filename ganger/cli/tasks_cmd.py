"""`ganger tasks ...`: find one task wherever it is, list a labourer's tasks by state, redrive dead tasks."""

from __future__ import annotations

import argparse
import json
import re
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from ganger.cli.target import add_target_options, resolve_target
from ganger.ecology import Ecology
from ganger.errors import GangerError, InvalidInput
from ganger.ops.context import Ops
from ganger.ops.redrive import redrive_dead, redrive_via_scavenger
from ganger.ops.tasks import list_tasks, locate, task_view
from ganger.ops.why import task_why
from ganger.task_state import STATES, TaskState

DURATION = re.compile(r"^(\d+)([smhd])$")
UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser("tasks", help="inspect tasks and redrive dead ones", description=__doc__)
    commands = parser.add_subparsers(title="tasks commands", metavar="SUBCOMMAND")
    for register_subcommand in SUBCOMMANDS:
        register_subcommand(commands)
    parser.set_defaults(func=lambda args: parser.print_help() or 2)


def connect(args: argparse.Namespace) -> Ops:
    """The operator layer on the target's clients; the labourers are read once, on first use."""
    return Ops(resolve_target(args).clients())


def when(epoch: Any) -> str:
    if not isinstance(epoch, (int, float)):
        return "-"
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def render_view(view: dict[str, Any]) -> str:
    lines = []
    for key, value in view.items():
        if key.endswith("_at") or key == "desired_launch_time":
            value = when(value) if value is not None else None
        if value in (None, {}, ""):
            continue
        shown = json.dumps(value, sort_keys=True, default=str) if isinstance(value, (dict, list)) else value
        lines.append(f"{key + ':':21} {shown}")
    return "\n".join(lines)


def register_show(commands: Any) -> None:
    parser = commands.add_parser(
        "show",
        help="one task wherever it is: queued, running, expired, retrying, completed or dead",
        description="Find task ID in the tasks table, then the closed table, then each labourer's retry "
        "partition, and print its state, attempts, timestamps, payload, stats and result.",
    )
    parser.add_argument("task_id", metavar="ID", help="the task id")
    parser.add_argument("--json", action="store_true", help="print JSON")
    add_target_options(parser)
    parser.set_defaults(func=run_show)


def run_show(args: argparse.Namespace) -> int:
    found = locate(connect(args), args.task_id, time.time())
    if found is None:
        raise GangerError(f"task `{args.task_id}` is in none of the task tables")
    view = task_view(found)
    print(json.dumps(view, sort_keys=True, default=str) if args.json else render_view(view))
    return 0


# ---- listing by state ----------------------------------------------------------------------------


def render_rows(rows: list[dict[str, Any]]) -> str:
    header = ("task_id", "state", "attempts", "created", "at", "reason")
    body = [(r["task_id"], r["state"], str(r["attempts"]), when(r["created_at"]), when(r["at"]), r["reason"])
            for r in rows]  # fmt: skip
    widths = [max([len(h)] + [len(b[i]) for b in body]) for i, h in enumerate(header)]
    lines = ["  ".join(h.ljust(w) for h, w in zip(header, widths, strict=True)).rstrip()]
    lines += ["  ".join(v.ljust(w) for v, w in zip(b, widths, strict=True)).rstrip() for b in body]
    return "\n".join(lines)


def register_list(commands: Any) -> None:
    parser = commands.add_parser(
        "list",
        help="a labourer's tasks in one state",
        description="List a labourer's tasks in one state (default queued): queued front first, running and "
        "closed newest first. Reads at most --limit tasks (paginated queries, never a scan).",
    )
    parser.add_argument("--labourer", required=True, help="labourer id")
    states = [str(s) for s in STATES]
    parser.add_argument("--state", choices=states, default="queued", help="which tasks (default queued)")
    parser.add_argument("--limit", type=int, default=50, help="at most this many tasks (default 50)")
    parser.add_argument("--json", action="store_true", help="print JSON")
    add_target_options(parser)
    parser.set_defaults(func=run_list)


def run_list(args: argparse.Namespace) -> int:
    if args.limit < 1:
        raise InvalidInput("--limit", "expected a positive integer")
    rows = list_tasks(connect(args), args.labourer, TaskState(args.state), time.time(), args.limit)
    if args.json:
        print(json.dumps({"labourer": args.labourer, "state": args.state, "tasks": rows}))
    else:
        print(render_rows(rows))
        print(f"{len(rows)} {args.state} task(s) of {args.labourer}" + (" (limit reached)" * (len(rows) == args.limit)))
    return 0


# ---- redrive -------------------------------------------------------------------------------------


def parse_since(text: str, now: float) -> int:
    """Epoch seconds, an ISO date/time (UTC unless it says otherwise), or an age such as 90m, 6h, 2d."""
    if text.isdigit():
        return int(text)
    match = DURATION.match(text)
    if match:
        return int(now) - int(match.group(1)) * UNIT_SECONDS[match.group(2)]
    try:
        moment = datetime.fromisoformat(text)
    except ValueError as exc:
        raise InvalidInput("--since", f"expected epoch seconds, an ISO time or an age like 6h, got {text!r}") from exc
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return int(moment.timestamp())


def register_redrive(commands: Any) -> None:
    parser = commands.add_parser(
        "redrive",
        help="put a labourer's dead tasks back at the front of the queue",
        description="Move dead tasks closed since --since from the closed table back to the front of the "
        "queue with fresh attempts, in transactions (ganger.ops.redrive, the same code the Scavenger's "
        "`redrive` action runs). By default the CLI does it directly; --via-scavenger invokes the Scavenger "
        'Lambda with {"action": "redrive"} instead, so the Lambda\'s permissions apply.',
    )
    parser.add_argument("--labourer", required=True, help="labourer id")
    parser.add_argument("--since", default="0", help="epoch seconds, ISO time or age (24h, 7d); default: all")
    parser.add_argument("--limit", type=int, default=1000, help="at most this many tasks (default 1000)")
    parser.add_argument("--dry-run", action="store_true", help="list the tasks that would be redriven")
    parser.add_argument("--via-scavenger", action="store_true", help="invoke the Scavenger Lambda to do it")
    parser.add_argument("--scavenger", default="sosw_scavenger", help="Scavenger function name")
    add_target_options(parser)
    parser.set_defaults(func=run_redrive)


def run_redrive(args: argparse.Namespace) -> int:
    ops = connect(args)
    lanes = ops.labourer(args.labourer).lane_count
    since = parse_since(args.since, time.time())
    if args.via_scavenger:
        event = {"action": "redrive", "labourer_id": args.labourer, "since": since, "limit": args.limit,
                 "dry_run": args.dry_run}  # fmt: skip
        outcome = redrive_via_scavenger(ops.clients.lambda_, args.scavenger, event)
    else:
        outcome = redrive_dead(ops.store, args.labourer, since, args.limit, args.dry_run, lanes=lanes)
    via = f"the Scavenger ({args.scavenger})" if args.via_scavenger else "TaskStore (direct)"
    if args.dry_run:
        ids = outcome.get("would_redrive", [])
        print("\n".join([*ids, f"dry run: {len(ids)} dead task(s) of {args.labourer} would be redriven via {via}"]))
        return 0
    done, skipped = outcome.get("redriven", []), outcome.get("skipped", [])
    print("\n".join([f"redriven  {t}" for t in done] + [f"skipped   {t} (changed meanwhile)" for t in skipped]))
    print(f"{len(done)} dead task(s) of {args.labourer} back in the queue via {via}; {len(skipped)} skipped")
    return 0


def register_why(commands: Any) -> None:
    parser = commands.add_parser(
        "why",
        help="what holds a task that is not running",
        description="Name what holds task ID, by the rules dispatch itself follows (ganger.holds): its labourer "
        "paused (reason, since), no free slot (running n of cap m, per lane; the health metric, its value and "
        "threshold when health lowered the cap), behind n queued tasks of its lane, waiting for retry (until), or "
        "not before its launch time. Reads the task, its labourer's slot counters, and a COUNT of the tasks "
        "ahead of it (CloudWatch only when health lowered the cap).",
    )
    parser.add_argument("task_id", metavar="ID", help="the task id")
    parser.add_argument("--json", action="store_true", help="print JSON")
    add_target_options(parser)
    parser.set_defaults(func=run_why)


def run_why(args: argparse.Namespace) -> int:
    ops = connect(args)
    answer = task_why(ops, args.task_id, time.time(), health=Ecology(ops.clients.cloudwatch).readings)
    if args.json:
        print(json.dumps(answer.view(), sort_keys=True, default=str))
    else:
        print(f"{answer.task_id} ({answer.state}): {answer.text}")
    return 0


SUBCOMMANDS: list[Callable[[Any], None]] = [register_show, register_list, register_why, register_redrive]
