"""`ganger labourers ...`: list the worker types with their limits and pause state, pause and resume one."""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Callable
from typing import Any

from ganger.cli.target import add_target_options, resolve_target
from ganger.cli.tasks_cmd import when
from ganger.errors import InvalidInput
from ganger.labourer import MAX_REASON
from ganger.ops.context import Ops
from ganger.ops.labourers import list_labourers, set_pause

LIST_COLUMNS = ("labourer", "type", "max_simultaneous_invocations", "lanes", "cap", "running", "dispatch", "paused")


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser("labourers", help="list, pause and resume labourers", description=__doc__)
    commands = parser.add_subparsers(title="labourers commands", metavar="SUBCOMMAND")
    for register_subcommand in SUBCOMMANDS:
        register_subcommand(commands)
    parser.set_defaults(func=lambda args: parser.print_help() or 2)


def connect(args: argparse.Namespace) -> Ops:
    return Ops(resolve_target(args).clients())


def register_list(commands: Any) -> None:
    parser = commands.add_parser(
        "list",
        help="each labourer's cap, lanes, limits and pause state",
        description="Each labourer of the ganger_labourers document: its configured cap "
        "(max_simultaneous_invocations), lanes, the effective cap and running tasks its slot counters hold now "
        "(health and fleet size applied; '-' before the Orchestrator first set them), dispatch, retries, "
        "health metrics, and whether it is paused (since when, why).",
    )
    parser.add_argument("--json", action="store_true", help="print JSON")
    add_target_options(parser)
    parser.set_defaults(func=run_list)


def render_list(views: list[dict[str, Any]]) -> str:
    body = [["-" if view[c] is None else str(view[c]) for c in LIST_COLUMNS] for view in views]
    widths = [max([len(c)] + [len(row[i]) for row in body]) for i, c in enumerate(LIST_COLUMNS)]
    lines = ["  ".join(c.ljust(w) for c, w in zip(LIST_COLUMNS, widths, strict=True)).rstrip()]
    lines += ["  ".join(v.ljust(w) for v, w in zip(row, widths, strict=True)).rstrip() for row in body]
    for view in views:
        if view["paused"]:
            lines.append(f"{view['labourer']} paused since {when(view['paused_at'])}: {view['paused_reason'] or '-'}")
        elif view["counters_paused"]:
            lines.append(f"{view['labourer']}: its counters are still paused (the Orchestrator follows the config)")
    return "\n".join(lines)


def run_list(args: argparse.Namespace) -> int:
    views = [row.view() for row in list_labourers(connect(args))]
    print(json.dumps({"labourers": views}, sort_keys=True) if args.json else render_list(views))
    return 0


def _register_change(commands: Any, name: str, paused: bool) -> None:
    if paused:
        summary = "stop starting a labourer's tasks (running ones finish and report)"
        description = (
            "Pause labourer NAME: no task of it starts after this command returns, by any path (new "
            "jobs, hand-offs, the minute tick, retries, redrive); queued tasks stay queued and running "
            "ones finish and report normally. Recorded in the ganger_labourers document (paused, "
            "paused_reason, paused_at) and flagged on the labourer's slot counters; returns about "
            "1.25 s after the flags are set, once every WorkerAssistant's cached read has seen them."
        )
    else:
        summary = "start a paused labourer's queue again"
        description = (
            "Resume labourer NAME: clear its pause in the ganger_labourers document and on its slot "
            "counters, then invoke the Orchestrator for it, which starts its queue in the free slots "
            "within about a second."
        )
    parser = commands.add_parser(name, help=summary, description=description)
    parser.add_argument("labourer", metavar="NAME", help="labourer id")
    if paused:
        parser.add_argument("--reason", default="", help=f"why (shown by list and tasks why; <= {MAX_REASON} chars)")
    else:
        parser.add_argument("--orchestrator", default=None, help="Orchestrator function (default sosw_orchestrator)")
    parser.add_argument("--json", action="store_true", help="print JSON")
    add_target_options(parser)
    parser.set_defaults(func=lambda args: run_change(args, paused))


def run_change(args: argparse.Namespace, paused: bool) -> int:
    reason = getattr(args, "reason", "")
    if len(reason) > MAX_REASON:
        raise InvalidInput("--reason", f"at most {MAX_REASON} characters, got {len(reason)}")
    change = set_pause(connect(args), args.labourer, paused, time.time(), reason=reason, wait=time.sleep,
                       orchestrator=getattr(args, "orchestrator", None))  # fmt: skip
    if args.json:
        print(json.dumps(change.__dict__, sort_keys=True))
    elif paused:
        print(f"{change.labourer_id} paused (config version {change.version}, {change.lanes_flagged} lane "
              "counter(s) flagged): no task of it starts now")  # fmt: skip
    else:
        nudge = f"; {change.nudged} asked to start its queue" if change.nudged else ""
        print(f"{change.labourer_id} resumed (config version {change.version}){nudge}")
    return 0


SUBCOMMANDS: list[Callable[[Any], None]] = [
    register_list,
    lambda commands: _register_change(commands, "pause", True),
    lambda commands: _register_change(commands, "resume", False),
]
