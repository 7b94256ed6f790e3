"""`ganger tasks ...`: find one task wherever it is, list a labourer's tasks by state, redrive dead tasks."""

from __future__ import annotations

import argparse
import json
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from ganger.cli.target import add_target_options, resolve_target
from ganger.config import ConfigStore, TypedConfig
from ganger.errors import GangerError, InvalidInput, UnknownLabourer
from ganger.labourer import LABOURERS_DOCUMENT, Labourer, parse_labourers
from ganger.tasks import GREENFIELD_INDEX, STATUS_COMPLETED, STATUS_DEAD, Task, TaskStore

STATES = ("queued", "running", "expired", "retrying", "completed", "dead")
DURATION = re.compile(r"^(\d+)([smhd])$")
UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


@dataclass(frozen=True)
class Located:
    """A task and the state it was found in."""

    task: Task
    state: str
    table: str


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser("tasks", help="inspect tasks and redrive dead ones", description=__doc__)
    commands = parser.add_subparsers(title="tasks commands", metavar="SUBCOMMAND")
    for register_subcommand in SUBCOMMANDS:
        register_subcommand(commands)
    parser.set_defaults(func=lambda args: parser.print_help() or 2)


class Context:
    """The task store and the labourers, read once per command."""

    def __init__(self, args: argparse.Namespace) -> None:
        self.clients = resolve_target(args).clients()
        self.store = TaskStore(self.clients.dynamodb)
        config = TypedConfig(lambda: ConfigStore(self.clients.dynamodb), LABOURERS_DOCUMENT, parse_labourers, {})
        self.labourers: dict[str, Labourer] = config.get()

    def labourer(self, name: str) -> Labourer:
        if name not in self.labourers:
            raise UnknownLabourer(name, sorted(self.labourers))
        return self.labourers[name]


# ---- where a task is -----------------------------------------------------------------------------


def live_state(task: Task, labourer: Labourer | None, now: float) -> str:
    """queued / running / expired from the greenfield, as the Orchestrator and Scavenger see it."""
    if task.is_queued(now):
        return "queued"
    if labourer is None:
        return "invoked"
    return "running" if task.greenfield > labourer.running_after(now) else "expired"


def closed_state(task: Task) -> str:
    status = str(task.extra.get("labourer_id_task_status", ""))
    return "completed" if status.endswith(f"_{STATUS_COMPLETED}") else "dead"


def locate(ctx: Context, task_id: str, now: float) -> Located | None:
    """Live table first, then closed, then the retry table of each labourer (one GetItem each)."""
    store = ctx.store
    task = store.get(task_id)
    if task is not None:
        return Located(task, live_state(task, ctx.labourers.get(task.labourer_id), now), store.tables.tasks)
    task = store.get_closed(task_id)
    if task is not None:
        return Located(task, closed_state(task), store.tables.closed)
    for labourer_id in ctx.labourers:
        task = store.get_retry(labourer_id, task_id)
        if task is not None:
            return Located(task, "retrying", store.tables.retry)
    return None


def task_view(found: Located) -> dict[str, Any]:
    """A task as the operator reads it: core fields, then stats, result and anything else."""
    task = found.task
    extra = dict(task.extra)
    stats = {k[5:]: extra.pop(k) for k in sorted(extra) if k.startswith("stat_")}
    result = {k[7:]: extra.pop(k) for k in sorted(extra) if k.startswith("result_")}
    return {
        "task_id": task.task_id,
        "state": found.state,
        "table": found.table,
        "labourer_id": task.labourer_id,
        "attempts": task.attempts,
        "job_id": task.job_id or None,
        "created_at": task.created_at,
        "invoked_at": task.invoked_at,
        "desired_launch_time": task.desired_launch_time,
        "completed_at": task.completed_at,
        "closed_at": task.closed_at,
        "failure_reason": task.failure_reason,
        "payload": task.payload_dict,
        "stats": stats,
        "result": result,
        "other": extra,
    }


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
    found = locate(Context(args), args.task_id, time.time())
    if found is None:
        raise GangerError(f"task `{args.task_id}` is in none of the task tables")
    view = task_view(found)
    print(json.dumps(view, sort_keys=True, default=str) if args.json else render_view(view))
    return 0


# ---- listing by state ----------------------------------------------------------------------------


def _paged(ddb: Any, limit: int, **query: Any) -> list[Task]:
    tasks: list[Task] = []
    while len(tasks) < limit:
        page = ddb.query(Limit=min(100, limit - len(tasks)), **query)
        tasks += [Task.from_item(i) for i in page.get("Items", [])]
        if "LastEvaluatedKey" not in page:
            break
        query["ExclusiveStartKey"] = page["LastEvaluatedKey"]
    return tasks


def running(ddb: Any, store: TaskStore, labourer: Labourer, now: float, limit: int) -> list[Task]:
    """Tasks invoked within duration + cooldown, most recent first."""
    return _paged(
        ddb,
        limit,
        TableName=store.tables.tasks,
        IndexName=GREENFIELD_INDEX,
        KeyConditionExpression="labourer_id = :l AND greenfield > :r",
        ExpressionAttributeValues={":l": {"S": labourer.id}, ":r": {"N": str(labourer.running_after(now))}},
        ScanIndexForward=False,
    )


def retrying(ddb: Any, store: TaskStore, labourer: Labourer, limit: int) -> list[Task]:
    return _paged(
        ddb,
        limit,
        TableName=store.tables.retry,
        KeyConditionExpression="labourer_id = :l",
        ExpressionAttributeValues={":l": {"S": labourer.id}},
    )


def list_tasks(ctx: Context, labourer: Labourer, state: str, now: float, limit: int) -> list[Task]:
    store, ddb = ctx.store, ctx.clients.dynamodb
    listers: dict[str, Callable[[], list[Task]]] = {
        "queued": lambda: store.queued(labourer.id, now, limit),
        "running": lambda: running(ddb, store, labourer, now, limit),
        "expired": lambda: store.expired(labourer.id, now, labourer.running_after(now), limit),
        "retrying": lambda: retrying(ddb, store, labourer, limit),
        "completed": lambda: store.closed(labourer.id, STATUS_COMPLETED, 0, limit),
        "dead": lambda: store.closed(labourer.id, STATUS_DEAD, 0, limit),
    }
    return listers[state]()


def row(task: Task, state: str) -> dict[str, Any]:
    moment = {"retrying": task.desired_launch_time, "completed": task.closed_at, "dead": task.closed_at}
    return {
        "task_id": task.task_id,
        "state": state,
        "attempts": task.attempts,
        "created_at": task.created_at,
        "at": moment.get(state, task.invoked_at),
        "reason": task.failure_reason or "",
    }


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
    parser.add_argument("--state", choices=STATES, default="queued", help="which tasks (default queued)")
    parser.add_argument("--limit", type=int, default=50, help="at most this many tasks (default 50)")
    parser.add_argument("--json", action="store_true", help="print JSON")
    add_target_options(parser)
    parser.set_defaults(func=run_list)


def run_list(args: argparse.Namespace) -> int:
    if args.limit < 1:
        raise InvalidInput("--limit", "expected a positive integer")
    ctx = Context(args)
    tasks = list_tasks(ctx, ctx.labourer(args.labourer), args.state, time.time(), args.limit)
    rows = [row(t, args.state) for t in tasks]
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
        "queue with fresh attempts, in transactions (TaskStore.redrive, the same code the Scavenger's "
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


def redrive_directly(ctx: Context, labourer_id: str, since: int, limit: int, dry_run: bool) -> dict[str, Any]:
    dead = ctx.store.closed(labourer_id, STATUS_DEAD, since, limit=limit)
    if dry_run:
        return {"labourer_id": labourer_id, "would_redrive": [t.task_id for t in dead]}
    positions = ctx.store.reserve_positions(labourer_id, len(dead), front=True) if dead else []
    outcome = ctx.store.redrive(dead, positions)
    return {"labourer_id": labourer_id, "redriven": list(outcome.done), "skipped": list(outcome.lost)}


def redrive_via_scavenger(ctx: Context, function: str, event: dict[str, Any]) -> dict[str, Any]:
    response = ctx.clients.lambda_.invoke(FunctionName=function, Payload=json.dumps(event).encode())
    body = json.loads(response["Payload"].read() or b"null")
    if response.get("FunctionError"):
        message = body.get("errorMessage", body) if isinstance(body, dict) else body
        raise GangerError(f"the Scavenger `{function}` failed: {message}")
    return dict(body)


def run_redrive(args: argparse.Namespace) -> int:
    ctx = Context(args)
    ctx.labourer(args.labourer)
    since = parse_since(args.since, time.time())
    if args.via_scavenger:
        event = {"action": "redrive", "labourer_id": args.labourer, "since": since, "limit": args.limit,
                 "dry_run": args.dry_run}  # fmt: skip
        outcome = redrive_via_scavenger(ctx, args.scavenger, event)
    else:
        outcome = redrive_directly(ctx, args.labourer, since, args.limit, args.dry_run)
    via = f"the Scavenger ({args.scavenger})" if args.via_scavenger else "TaskStore (direct)"
    if args.dry_run:
        ids = outcome.get("would_redrive", [])
        print("\n".join([*ids, f"dry run: {len(ids)} dead task(s) of {args.labourer} would be redriven via {via}"]))
        return 0
    done, skipped = outcome.get("redriven", []), outcome.get("skipped", [])
    print("\n".join([f"redriven  {t}" for t in done] + [f"skipped   {t} (changed meanwhile)" for t in skipped]))
    print(f"{len(done)} dead task(s) of {args.labourer} back in the queue via {via}; {len(skipped)} skipped")
    return 0


SUBCOMMANDS: list[Callable[[Any], None]] = [register_show, register_list, register_redrive]
