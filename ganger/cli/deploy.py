"""`ganger deploy`: package, upload, and create or update every stack in yaml/ through change sets."""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path
from typing import Any

from ganger.cli.endpoints import service_client
from ganger.cli.target import add_target_options, resolve_target
from ganger.deploy import build, lock
from ganger.deploy.deployer import StackResult, deploy_stacks, publish, select
from ganger.deploy.functions import PACKAGES, REQUIREMENTS, find
from ganger.deploy.parameters import parse_assignments
from ganger.deploy.stacks import ChangeSetPlan, default_stacks
from ganger.errors import GangerError


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "deploy",
        help="deploy the stacks in yaml/ to AWS (or to --endpoint-url)",
        description="Build one package per function (its handler's code and the distributions it imports, "
        "at the versions of requirements/lambda.lock, for Lambda's Python), upload them to S3, then create or "
        "update each stack in yaml/ in dependency order through a change set: "
        "each change set is shown and confirmed before it runs. A failed create is rolled back and deleted.",
    )
    parser.add_argument("--prefix", default="ganger", help="stack names are PREFIX-<template> (default: ganger)")
    parser.add_argument("--bucket", help="artifacts bucket (default: ganger-artifacts-ACCOUNT-REGION, made)")
    parser.add_argument(
        "--stack", action="append", default=[], metavar="TEMPLATE",
        help="deploy only this stack, by its template's name, e.g. essentials (repeatable)",
    )  # fmt: skip
    parser.add_argument(
        "--parameter", "-p", action="append", default=[], metavar="[STACK:]KEY=VALUE",
        help="a stack parameter, for every stack that takes it or for STACK only (repeatable)",
    )  # fmt: skip
    parser.add_argument("--yes", "-y", action="store_true", help="execute change sets without asking")
    parser.add_argument("--dry-run", action="store_true", help="show the change sets, then delete them")
    package = parser.add_argument_group("package")
    package.add_argument(
        "--package-only", type=Path, metavar="DIR",
        help="build every package into DIR, print their sizes and stop: no AWS call at all",
    )  # fmt: skip
    package.add_argument(
        "--function", action="append", default=[], metavar="NAME",
        help="with --package-only: build only this function's package (repeatable)",
    )  # fmt: skip
    package.add_argument("--code-only", action="store_true", help="ship ganger's code without third-party packages")
    package.add_argument("--deps-cache", type=Path, help="dependency cache (default ~/.cache/ganger/lambda-deps)")
    package.add_argument(
        "--update-lock", action="store_true",
        help="resolve the dependencies again for Lambda's platform, rewrite requirements/lambda.lock and stop",
    )  # fmt: skip
    add_target_options(parser)
    parser.set_defaults(func=run)


class TerminalUi:
    """Progress and change sets on standard output; confirmation on standard input."""

    def __init__(self, assume_yes: bool) -> None:
        self.assume_yes = assume_yes

    def progress(self, message: str) -> None:
        print(f"  {message}", flush=True)

    def show(self, change: ChangeSetPlan) -> None:
        print(f"Change set for {change.stack} ({change.kind}):")
        for line in change.changes or ["(no resource changes; parameters or outputs only)"]:
            print(f"    {line}")

    def confirm(self, change: ChangeSetPlan) -> bool:
        if self.assume_yes:
            return True
        if not sys.stdin.isatty():
            raise GangerError("standard input is not a terminal: pass --yes to execute change sets without asking")
        return input(f"Execute the change set of {change.stack}? [y/N] ").strip().lower() in ("y", "yes")


def build_packages(args: argparse.Namespace) -> list[build.BuiltPackage]:
    """Every package, printed as a table (function, zipped, unzipped, limit)."""
    pinned = lock.read()
    specs = [find(name) for name in args.function] if args.function else list(PACKAGES)
    if args.code_only:
        empty = Path(tempfile.mkdtemp(prefix="ganger-no-deps-"))
        built = build.build_all(pinned, args.package_only, specs=specs, install=lambda spec: empty)
    else:
        print("Building one package per function (dependencies cached by the lock)...", flush=True)
        built = build.build_all(pinned, args.package_only, args.deps_cache, specs)
    print(build.table(built), flush=True)
    return built


def print_summary(results: list[StackResult]) -> None:
    for result in results:
        print(f"{result.stack}: {result.outcome}{f' ({result.note})' if result.note else ''}")
        for key, value in sorted(result.outputs.items()):
            print(f"    {key} = {value}")


def run(args: argparse.Namespace) -> int:
    if args.update_lock:
        updated = lock.update(list(REQUIREMENTS.values()))
        print(f"{lock.LOCK_FILE}: {len(updated.pins)} distributions pinned")
        return 0
    if args.function and args.package_only is None:
        raise GangerError("--function builds some packages only, so it needs --package-only DIR")
    if args.package_only is not None:
        build_packages(args)
        print(f"Packages in {args.package_only}")
        return 0
    if not (args.yes or args.dry_run or sys.stdin.isatty()):
        raise GangerError("standard input is not a terminal: pass --yes to execute change sets without asking")
    target = resolve_target(args)
    assignments = parse_assignments(args.parameter)
    print(f"Deploying to {target.description}{' (dry run)' if args.dry_run else ''}")
    built = build_packages(args)
    s3, sts = service_client(target, "s3"), service_client(target, "sts")
    artifacts = publish(s3, sts, target.region, built, args.bucket, args.dry_run)
    state = "would upload" if args.dry_run else f"{len(artifacts.uploaded)} uploaded, the others already there"
    print(f"Packages in s3://{artifacts.bucket}/ ({state})")
    specs = select(default_stacks(args.prefix, artifacts.bucket, artifacts.keys, target.region), args.stack)
    results = deploy_stacks(
        service_client(target, "cloudformation"), specs, assignments, TerminalUi(args.yes), args.dry_run
    )
    print_summary(results)
    return 1 if any(r.outcome == "declined" for r in results) else 0
