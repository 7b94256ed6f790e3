"""`ganger local`: the whole system on this machine, on an embedded AWS (moto), with no account."""

from __future__ import annotations

import argparse
import dataclasses
import logging
import os
import re
import signal
import threading
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ganger.cli.target import state_file
from ganger.constants import ENV_TELEGRAM_TOKEN
from ganger.errors import GangerError

_TOKEN_SHAPE = re.compile(r"^\d+:[A-Za-z0-9_-]+$")
TOKEN_FLAG_GONE = (
    "--telegram-token is no longer accepted: a token on the command line shows in `ps` and in your shell "
    f"history (revoke that one with @BotFather). Set {ENV_TELEGRAM_TOKEN}, or put the token in a file and "
    "pass --telegram-token-file PATH"
)


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "local",
        help="run ganger locally on an embedded AWS (no account needed)",
        description="Start a moto server on 127.0.0.1, deploy the yaml/ stacks into it through CloudFormation, "
        "load config/, and run what moto cannot: the Lambda handlers (a local Lambda endpoint), the "
        "EventBridge rules (a clock), the API Gateway routes (an HTTP front) and Telegram (a fake Bot API, or "
        "real Telegram by long polling). Other ganger commands find it through a state file. Ctrl-C stops it.",
    )
    parser.add_argument("--demo", action="store_true", help="run the scripted demo, print a summary and exit")
    parser.add_argument("--report", type=Path, help="with --demo: write the summary as JSON to this file")
    parser.add_argument("--tasks", type=int, default=200, help="with --demo: tasks in the example job (default 200)")
    parser.add_argument("--port", type=int, default=0, help="port of the embedded AWS (default: a free one)")
    parser.add_argument(
        "--speed", type=float, default=None, help="compress rule time N times (default 1; 30 with --demo)"
    )
    parser.add_argument(
        "--telegram-token-file",
        type=Path,
        metavar="PATH",
        help=f"talk to real Telegram by long polling, with the bot token in this file (or set {ENV_TELEGRAM_TOKEN})",
    )
    parser.add_argument("--telegram-token", help=argparse.SUPPRESS)  # gone: refused with TOKEN_FLAG_GONE
    parser.add_argument("--concurrency", type=int, default=8, help="concurrent Event invocations (default 8)")
    parser.add_argument(
        "--contention",
        action="store_true",
        help="make the embedded DynamoDB contend as AWS's does: a transaction holds its items (15 ms), one that "
        "meets a held item is cancelled (TransactionConflict), a write to a held item fails, and a key taking "
        "over 1,000 write units a second is throttled",
    )
    parser.add_argument("--console-port", type=int, default=0, help="port of the web console (default: a free one)")
    parser.add_argument(
        "--console-allow-actions",
        action="store_true",
        help="let the web console pause, resume, redrive and save config (default: read-only)",
    )
    parser.add_argument("--no-console", action="store_true", help="do not start the web console")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    try:
        from ganger.local.demo import ApiCallCounter, run_demo
        from ganger.local.progress import Progress
        from ganger.local.runtime import LocalOptions, LocalSystem
    except ModuleNotFoundError as exc:  # moto and croniter come with the `local` extra
        raise GangerError(
            f"`ganger local` needs {exc.name}, which comes with the local extra: pip install -e '.[local]'"
        ) from exc

    started = time.monotonic()
    for name, value, minimum in (("--tasks", args.tasks, 1), ("--concurrency", args.concurrency, 1)):
        if value < minimum:
            raise GangerError(f"{name} must be at least {minimum}, got {value}")
    if args.speed is not None and args.speed <= 0:
        raise GangerError(f"--speed must be positive, got {args.speed:g}")
    logging.getLogger().setLevel(min(logging.getLogger().level, logging.WARNING))
    token = telegram_token(args.telegram_token, args.telegram_token_file, os.environ)
    if args.demo and token:
        raise GangerError(f"--demo uses the fake Telegram; drop --telegram-token-file and {ENV_TELEGRAM_TOKEN}")
    speed = args.speed if args.speed is not None else (30.0 if args.demo else 1.0)
    say = _printer(started)
    options = LocalOptions(port=args.port, speed=speed, telegram_token=token,
                           concurrency=args.concurrency, say=say, contention=args.contention)  # fmt: skip
    system = LocalSystem(options)
    console: Any = None
    counter = ApiCallCounter()
    stop = threading.Event()
    previous = signal.signal(signal.SIGTERM, lambda *_: stop.set())
    with counter.installed():
        progress = Progress(system, say, counter=counter)
        try:
            say("starting ganger local ...")
            system.start()
            for line in system.describe():
                say(line)
            console = None if args.no_console else start_console(system.clients, args, say)
            say(f"ready in {time.monotonic() - started:.1f} s")
            progress.start()
            if args.demo:
                ok = run_demo(system, counter, started, tasks=args.tasks, report=args.report)
                return 0 if ok else 1
            say("press Ctrl-C to stop")
            while not stop.wait(0.5):
                pass
            return 0
        except KeyboardInterrupt:
            return 0
        finally:
            progress.stop()
            say("stopping ...")
            if console is not None:
                console.stop()
            system.stop()
            signal.signal(signal.SIGTERM, previous)
            _forget_state()
            say("stopped")


def start_console(clients: Any, args: argparse.Namespace, say: Any) -> Any:
    """The web console over the local system (as `ganger console` serves it), its URL said and added to the
    state file as ``console_url`` so that other commands and tests find it."""
    from ganger.console.build import build_console
    from ganger.console.identity import local_actor
    from ganger.local.state import LocalState

    console = build_console(clients, args.console_port, args.console_allow_actions, local_actor()).start()
    state = LocalState.read()
    if state is not None:
        dataclasses.replace(state, console_url=console.url).write()
    mode = "actions allowed" if args.console_allow_actions else "read-only; --console-allow-actions to act"
    say(f"console                 {console.url} ({mode})")
    return console


def telegram_token(flag: str | None, path: Path | None, environ: Mapping[str, str]) -> str | None:
    """The real bot token: from ``path`` (an explicit argument beats the environment) or ``GANGER_TELEGRAM_TOKEN``;
    None for the fake Bot API. Never from the command line, and never echoed in an error."""
    if flag is not None:
        raise GangerError(TOKEN_FLAG_GONE)
    if path is not None:
        try:
            token, source = path.read_text(encoding="utf-8").strip(), f"--telegram-token-file {path}"
        except OSError as exc:
            raise GangerError(f"--telegram-token-file {path}: cannot read it ({exc.strerror or exc})") from None
    else:
        token, source = environ.get(ENV_TELEGRAM_TOKEN, "").strip(), ENV_TELEGRAM_TOKEN
        if not token:
            return None
    if not _TOKEN_SHAPE.match(token):
        raise GangerError(f"{source}: not a Telegram bot token (expected <bot id>:<secret>, as @BotFather gives it)")
    return token


def _forget_state() -> None:
    path = state_file()
    if path.exists():
        path.unlink()


def _printer(started: float) -> Any:
    lock = threading.Lock()

    def say(line: str) -> None:
        with lock:
            print(f"[{time.monotonic() - started:5.1f}s] {line}", flush=True)

    return say
