"""`ganger config ...`: the config table. Each subcommand is a ``(name, register)`` pair in SUBCOMMANDS."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ganger.cli.target import add_target_options, resolve_target
from ganger.config import ConfigStore
from ganger.deploy.config_push import apply_push, only_in_table, plan_push, read_folder
from ganger.documents import validate


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser("config", help="read and write config documents", description=__doc__)
    commands = parser.add_subparsers(title="config commands", metavar="SUBCOMMAND")
    for register_subcommand in SUBCOMMANDS:
        register_subcommand(commands)
    parser.set_defaults(func=lambda args: parser.print_help() or 2)


def add_table_options(parser: argparse.ArgumentParser) -> None:
    """Which config table and env a subcommand works on (defaults as the Lambdas read them)."""
    parser.add_argument("--table", help="config table name (default: $GANGER_CONFIG_TABLE or config)")
    parser.add_argument("--env", help="the documents' env key (default: $GANGER_CONFIG_ENV or production)")
    add_target_options(parser)


def store_for(args: argparse.Namespace) -> ConfigStore:
    return ConfigStore(resolve_target(args).clients().dynamodb, table=args.table, env=args.env)


def register_push(commands: Any) -> None:
    parser = commands.add_parser(
        "push",
        help="load a folder of <name>.json documents into the config table",
        description="Validate every <name>.json of FOLDER, show its diff against the table, then write the "
        "changed ones. Each write is conditional on the version read, so a concurrent edit is never lost.",
    )
    parser.add_argument("folder", type=Path, help="folder of config documents, e.g. config/")
    parser.add_argument("--dry-run", action="store_true", help="show the diff and write nothing")
    add_table_options(parser)
    parser.set_defaults(func=run_push)


def run_push(args: argparse.Namespace) -> int:
    documents = read_folder(args.folder, validate)
    store = store_for(args)
    changes = plan_push(store, documents)
    for change in changes:
        print(f"{change.action:9} {change.name}")
        if change.action != "unchanged":
            print(change.diff(), end="")
    for name in only_in_table(store, documents):
        print(f"{'kept':9} {name} (in the table only; push never deletes)")
    pending = [c for c in changes if c.action != "unchanged"]
    if args.dry_run:
        print(f"dry run: {len(pending)} document(s) would be written to {store.table} (env {store.env})")
        return 0
    written = apply_push(store, changes)
    print(f"{len(written)} document(s) written to {store.table} (env {store.env})")
    return 0


SUBCOMMANDS: list[Callable[[Any], None]] = [register_push]
