"""`ganger console`: the web console on 127.0.0.1, for the same target as every other command."""

from __future__ import annotations

import argparse
import threading
from typing import Any

from ganger.cli.target import add_target_options, resolve_target
from ganger.console.build import DEFAULT_AUDIT_TABLE, build_console
from ganger.console.identity import aws_actor, local_actor

DEFAULT_PORT = 8765


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "console",
        help="a web console: labourers live, tasks and why they wait, dead tasks, config, cost",
        description="Serve the console on http://127.0.0.1:PORT for the same target as every other command "
        "(--endpoint-url, the running `ganger local`, or AWS with your credentials, so IAM decides what you may "
        "do). Pages: / (every labourer, live), /labourers/NAME (limits, pause, its queued tasks and why each "
        "waits), /tasks/ID (attempts, payload, result, why), /dead (dead tasks grouped by error), /config, /cost. "
        "Read-only unless --allow-actions; actions (pause, resume, redrive a group, save a config document) ask "
        "for confirmation, need the page's CSRF token, are refused from another Origin or Host, and are written "
        "to the audit trail with who did them. Every page reads with index queries, never a scan. Ctrl-C stops it.",
    )
    parser.add_argument("--port", type=int, default=DEFAULT_PORT, help=f"port on 127.0.0.1 (default {DEFAULT_PORT}; "
                        "0: a free one)")  # fmt: skip
    parser.add_argument("--allow-actions", action="store_true",
                        help="allow pause, resume, redrive and config saves (default: read-only)")  # fmt: skip
    parser.add_argument("--audit-table", default=None, help="where actions are recorded (default: "
                        f"$GANGER_AUDIT_TABLE or {DEFAULT_AUDIT_TABLE}, yaml/audit.yaml's table)")  # fmt: skip
    add_target_options(parser)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace, stop: threading.Event | None = None) -> int:
    target = resolve_target(args)
    clients = target.clients()
    actor = local_actor() if target.endpoint_url else aws_actor(clients)
    console = build_console(clients, args.port, args.allow_actions, actor, args.audit_table).start()
    mode = "actions allowed" if args.allow_actions else "read-only (--allow-actions to act)"
    print(f"ganger console on {console.url} for {target.description}; {mode}; acting as {actor}", flush=True)
    print("press Ctrl-C to stop", flush=True)
    try:
        (stop or threading.Event()).wait()
    except KeyboardInterrupt:
        pass
    finally:
        console.stop()
    return 0
