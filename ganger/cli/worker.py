"""`ganger worker --labourer NAME`: the process a fleet instance runs (a systemd unit from the launch template).

It reads the labourer from `ganger_labourers` and what to run from `ganger_fleets`, long-polls the
fleet's queue with ``slots_per_instance`` worker threads, and on SIGTERM (scale-in, shutdown) stops
polling, lets running tasks finish within the grace period and releases the rest to other instances.
"""

from __future__ import annotations

import argparse
import logging
import signal
from types import FrameType
from typing import Any

from ganger.cli.target import add_target_options, resolve_target
from ganger.config import ConfigStore
from ganger.fleet.process import WorkerProcess, build_process
from ganger.fleet.settings import resolve_fleet

logger = logging.getLogger(__name__)


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "worker",
        help="run a fleet labourer's worker (on an instance of its Auto Scaling group)",
        description="Long-poll a fleet labourer's SQS queue and run its processor for each task, reporting "
        "to the WorkerAssistant. SIGTERM finishes or releases running tasks, so nothing is lost.",
    )
    parser.add_argument("--labourer", required=True, help="the fleet labourer's id (in ganger_labourers)")
    parser.add_argument("--processor", default="", help="handler path to run instead of the ganger_fleets setting")
    parser.add_argument("--slots", type=int, default=None, help="tasks at once (default: slots_per_instance)")
    add_target_options(parser)
    parser.set_defaults(func=run)


def install_signal_handlers(process: WorkerProcess) -> None:
    """SIGTERM and SIGINT request a stop; the main thread then finishes or releases the tasks."""

    def request_stop(signum: int, frame: FrameType | None) -> None:
        logger.warning("received signal %d: stopping after running tasks (grace %ss)", signum, process.grace_seconds)
        process.stopping.set()

    signal.signal(signal.SIGTERM, request_stop)
    signal.signal(signal.SIGINT, request_stop)


def run(args: argparse.Namespace) -> int:
    target = resolve_target(args)
    clients = target.clients()
    labourer, settings = resolve_fleet(ConfigStore(clients.dynamodb), args.labourer, args.processor)
    process = build_process(clients, labourer, settings, slots=args.slots)
    install_signal_handlers(process)
    print(f"ganger worker: fleet {labourer.id} on {target.description}, {len(process.workers)} slots, "
          f"running {settings.processor}", flush=True)  # fmt: skip
    process.start()
    process.wait()
    report = process.stop()
    print(f"ganger worker: stopped ({report.finished} slots finished, {report.released} tasks released)", flush=True)
    return 0
