"""`ganger config ...`: the config table. Each subcommand is a ``(name, register)`` pair in SUBCOMMANDS."""

from __future__ import annotations

import argparse
import os
import shlex
import subprocess
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ganger.cli.target import add_target_options, resolve_target
from ganger.config import ConfigStore, read_folder
from ganger.deploy.config_push import apply_push, only_in_table, plan_push, render
from ganger.documents import validate
from ganger.errors import ConfigError
from ganger.ops.config import (
    check_documents,
    folder_documents,
    list_documents,
    parse_json,
    set_document,
    table_documents,
)


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


# ---- list / get / set / edit / validate / diff ---------------------------------------------------


def register_list(commands: Any) -> None:
    parser = commands.add_parser(
        "list",
        help="every document of the env, with its version",
        description="List the config table's documents of one env: name, version, and whether ganger knows "
        "its schema (`schema`) or only checks that it is a JSON object (`object`).",
    )
    add_table_options(parser)
    parser.set_defaults(func=run_list)


def run_list(args: argparse.Namespace) -> int:
    store = store_for(args)
    documents = list_documents(store)
    width = max([len(d.name) for d in documents] + [len("name")])
    print(f"{'name'.ljust(width)}  version  schema")
    for doc in documents:
        print(f"{doc.name.ljust(width)}  {doc.version:>7}  {'schema' if doc.has_schema else 'object'}")
    print(f"{len(documents)} document(s) in {store.table} (env {store.env})")
    return 0


def register_get(commands: Any) -> None:
    parser = commands.add_parser(
        "get",
        help="print one document as JSON",
        description="Print document NAME as JSON on stdout (pipe it to a file, edit it, `config set` it back). "
        "Its version goes to stderr; pass it to `config set --if-version` to make the write conditional.",
    )
    parser.add_argument("name", help="document name, e.g. sosw_orchestrator_config")
    add_table_options(parser)
    parser.set_defaults(func=run_get)


def run_get(args: argparse.Namespace) -> int:
    stored = store_for(args).get(args.name)
    if stored is None:
        raise ConfigError(args.name, "", "no such document in the table")
    print(render(stored.value))
    print(f"# {args.name}: version {stored.version}", file=sys.stderr)
    return 0


def register_set(commands: Any) -> None:
    parser = commands.add_parser(
        "set",
        help="validate a JSON file and write it as document NAME",
        description="Validate FILE (a JSON document; `-` reads stdin) against NAME's schema, then write it. "
        "The write is conditional: on --if-version when given (the version `config get` showed), else on the "
        "version read just before writing. If someone changed the document since, nothing is written and "
        "the command fails with exit code 2.",
    )
    parser.add_argument("name", help="document name")
    parser.add_argument("file", help="JSON file, or - for stdin")
    parser.add_argument("--if-version", type=int, help="write only if the table still holds this version")
    add_table_options(parser)
    parser.set_defaults(func=run_set)


def read_json(name: str, source: str) -> Any:
    text = sys.stdin.read() if source == "-" else Path(source).read_text()
    return parse_json(name, text, source)


def run_set(args: argparse.Namespace) -> int:
    value = read_json(args.name, args.file)
    store = store_for(args)
    written = set_document(store, args.name, value, args.if_version)
    print(f"{args.name}: version {written.old_version} -> {written.new_version} in {store.table} (env {store.env})")
    return 0


def register_edit(commands: Any) -> None:
    parser = commands.add_parser(
        "edit",
        help="edit a document in $EDITOR, validated before it is saved",
        description="Open document NAME in $VISUAL / $EDITOR (default vi). On save it is validated; an invalid "
        "document is never written: you re-open the editor or abort. The write is conditional on the version "
        "you started from, so a concurrent edit is reported instead of overwritten (your text is kept).",
    )
    parser.add_argument("name", help="document name (a new one starts as {})")
    add_table_options(parser)
    parser.set_defaults(func=run_edit)


def editor_command() -> list[str]:
    return shlex.split(os.environ.get("VISUAL") or os.environ.get("EDITOR") or "vi")


def ask_reopen(error: Exception) -> bool:
    print(f"ganger: {error}", file=sys.stderr)
    answer = input("re-open the editor? [Y/n] ").strip().lower()
    return answer in ("", "y", "yes")


def edit_until_valid(name: str, path: Path) -> Any | None:
    """Run the editor until the file holds a valid document; None when the operator aborts."""
    while True:
        subprocess.run([*editor_command(), str(path)], check=True)
        try:
            value = parse_json(name, path.read_text(), str(path))
            validate(name, value)
            return value
        except ConfigError as exc:
            if not ask_reopen(exc):
                return None


def run_edit(args: argparse.Namespace) -> int:
    store = store_for(args)
    stored = store.get(args.name)
    original, version = (stored.value, stored.version) if stored else ({}, 0)
    handle, filename = tempfile.mkstemp(prefix=f"{args.name}-", suffix=".json")
    path = Path(filename)
    with os.fdopen(handle, "w") as out:
        out.write(render(original) + "\n")
    value = edit_until_valid(args.name, path)
    if value is None:
        path.unlink()
        print(f"{args.name}: aborted, nothing written")
        return 1
    if render(value) == render(original):
        path.unlink()
        print(f"{args.name}: no change")
        return 0
    try:
        new_version = store.put(args.name, value, expected_version=version)
    except ConfigError as exc:
        raise ConfigError(args.name, "", f"{exc.problem}; your edit is kept in {path}") from exc
    path.unlink()
    print(f"{args.name}: version {version} -> {new_version} in {store.table} (env {store.env})")
    return 0


def register_validate(commands: Any) -> None:
    parser = commands.add_parser(
        "validate",
        help="validate a folder of documents, or the table's documents",
        description="Validate every <name>.json of FOLDER (or, without FOLDER, every document in the table) "
        "against its schema. Prints one line per document; exit code 1 if any is invalid.",
    )
    parser.add_argument("folder", type=Path, nargs="?", help="folder of <name>.json documents")
    add_table_options(parser)
    parser.set_defaults(func=run_validate)


def run_validate(args: argparse.Namespace) -> int:
    documents = folder_documents(args.folder) if args.folder is not None else table_documents(store_for(args))
    checked = check_documents(documents)
    for check in checked:
        if check.error is not None:
            print(f"invalid  {check.error}")
        else:
            print(f"ok       {check.name}" + ("" if check.has_schema else " (no schema known: any JSON object)"))
    bad = sum(1 for c in checked if c.error is not None)
    print(f"{len(checked) - bad} valid, {bad} invalid")
    return 1 if bad else 0


def register_diff(commands: Any) -> None:
    parser = commands.add_parser(
        "diff",
        help="show what `config push FOLDER` would change",
        description="Compare every <name>.json of FOLDER with the table and print a unified diff per changed "
        "document (`push --dry-run` without the write summary). Exit code 0; 1 with --exit-code when "
        "something differs.",
    )
    parser.add_argument("folder", type=Path, help="folder of config documents")
    parser.add_argument("--exit-code", action="store_true", help="exit 1 when the folder differs from the table")
    add_table_options(parser)
    parser.set_defaults(func=run_diff)


def run_diff(args: argparse.Namespace) -> int:
    documents = read_folder(args.folder, validate)
    changes = [c for c in plan_push(store_for(args), documents) if c.action != "unchanged"]
    for change in changes:
        print(f"{change.action:9} {change.name}")
        print(change.diff(), end="")
    print(f"{len(changes)} document(s) differ" if changes else "no differences")
    return 1 if changes and args.exit_code else 0


SUBCOMMANDS: list[Callable[[Any], None]] = [
    register_list,
    register_get,
    register_set,
    register_edit,
    register_validate,
    register_diff,
    register_push,
]
