"""Benchmark runs each in a child process of their own, a few at a time, longest first.

A child is ``python -m <module> --one <spec>`` and prints its figures as one JSON document on stdout; the
parent reads them back in the order it was given. Each child has a fresh moto that is never torn down:
its exit frees what teardown would.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]


def default_jobs() -> int:
    """The CPUs this process may use, at most 4 (more would mostly add memory: each run holds its tables)."""
    return max(1, min(4, len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1))


def run_in_processes(module: str, specs: list[str], jobs: int, cost: Callable[[str], Any],
                     done: Callable[[str, dict[str, Any]], None]) -> dict[str, dict[str, Any]]:  # fmt: skip
    """Each spec in a child of ``module``, ``jobs`` at a time, the costliest first; ``done`` hears each."""
    waiting = sorted(specs, key=cost, reverse=True)
    running: dict[str, subprocess.Popen[str]] = {}
    figures: dict[str, dict[str, Any]] = {}
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in (str(ROOT), os.environ.get("PYTHONPATH")) if p)}
    try:
        while waiting or running:
            while waiting and len(running) < jobs:
                spec = waiting.pop(0)
                print(f"running {spec} (a process of its own) ...", file=sys.stderr, flush=True)
                running[spec] = subprocess.Popen([sys.executable, "-m", module, "--one", spec], cwd=ROOT, env=env,
                                                 stdout=subprocess.PIPE, text=True)  # fmt: skip
            spec, child = _first_done(running)
            del running[spec]
            out, _ = child.communicate()
            if child.returncode != 0:
                raise RuntimeError(f"{spec}: the child process failed (exit {child.returncode})")
            figures[spec] = json.loads(out)
            done(spec, figures[spec])
    finally:
        for child in running.values():
            child.kill()
    return figures


def _first_done(running: dict[str, subprocess.Popen[str]]) -> tuple[str, subprocess.Popen[str]]:
    while True:
        for spec, child in running.items():
            if child.poll() is not None:
                return spec, child
        time.sleep(0.5)
