"""The `ganger` command: one subcommand per module in ganger/cli."""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence

from botocore.exceptions import BotoCoreError, ClientError

from ganger import __version__
from ganger.cli import (
    bot,
    chat,
    config_cmd,
    console,
    cost,
    deploy,
    labourers_cmd,
    local,
    schedule,
    status,
    tasks_cmd,
    worker,
)
from ganger.errors import GangerError

COMMANDS = [local, chat, schedule, status, tasks_cmd, labourers_cmd, console, deploy, config_cmd, cost, bot, worker]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="ganger",
        description="ganger: task orchestration for AWS Lambda (sosw-compatible). "
        "Run `ganger local --demo` to see the whole system work on an embedded AWS.",
    )
    parser.add_argument("--version", action="version", version=f"ganger {__version__}")
    parser.add_argument("-v", "--verbose", action="count", default=0, help="more log output (-vv for debug)")
    subparsers = parser.add_subparsers(title="commands", metavar="COMMAND")
    for command in COMMANDS:
        command.register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not hasattr(args, "func"):
        parser.print_help()
        return 2
    level = logging.WARNING - 10 * min(args.verbose, 2)
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        return int(args.func(args) or 0)
    except KeyboardInterrupt:
        return 130
    except GangerError as exc:
        print(f"ganger: error: {exc}", file=sys.stderr)
        return 2
    except (ClientError, BotoCoreError) as exc:
        print(f"ganger: AWS error: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
