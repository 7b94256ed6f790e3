"""`ganger schedule JOB.json`: send a business job to the Scheduler."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from ganger.cli.target import add_target_options, resolve_target
from ganger.errors import GangerError, InvalidJob


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "schedule",
        help="send a job to the Scheduler",
        description='Send a sosw-format job ({"job": {"lambda_name": ..., "payload": {...}}}) to the '
        "Scheduler Lambda and print what it created. Use - to read the job from standard input.",
    )
    parser.add_argument("job", help="path of a JSON job file, or - for standard input")
    parser.add_argument("--function", default="sosw_scheduler", help="the Scheduler's function name")
    parser.add_argument("--async", dest="asynchronous", action="store_true", help="do not wait for the result")
    add_target_options(parser)
    parser.set_defaults(func=run)


def read_job(source: str) -> Any:
    text = sys.stdin.read() if source == "-" else _read(Path(source))
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise InvalidJob(source, f"not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}") from exc


def _read(path: Path) -> str:
    if not path.is_file():
        raise InvalidJob(str(path), "no such file")
    return path.read_text()


def run(args: argparse.Namespace) -> int:
    job = read_job(args.job)
    target = resolve_target(args)
    response = target.clients().lambda_.invoke(
        FunctionName=args.function,
        InvocationType="Event" if args.asynchronous else "RequestResponse",
        Payload=json.dumps(job).encode(),
    )
    body = response["Payload"].read()
    if response.get("FunctionError"):
        error = json.loads(body or b"{}")
        raise GangerError(f"the Scheduler refused the job: {error.get('errorMessage', body.decode())}")
    if args.asynchronous:
        print(f"job sent to {args.function} on {target.description}")
        return 0
    result = json.loads(body or b"null")
    print(json.dumps(result, indent=1))
    return 0
