"""The embedded AWS in its own process, so a benchmark's peak memory is ganger's and not the tables'.

    python -m benchmarks.emulator          # prints its URL, serves until stdin closes

On AWS the rows of a 100,000-task job live in DynamoDB, not in the Lambdas' memory. In-process moto
keeps them in the benchmark's own process, so its peak RSS grows with the job whatever ganger does.
With ``--emulator process`` the lifecycle benchmark talks to this server over loopback HTTP instead
(the same moto, with the same speed patches) and reports both processes' peak RSS apart.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


@dataclass
class Emulator:
    url: str
    pid: int
    peak_rss_mb: float | None = None


def peak_rss_of(pid: int) -> float | None:
    """VmHWM (peak resident set) of a live process, in MB (Linux)."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return round(int(line.split()[1]) / 1024, 1)
    except OSError:
        return None
    return None


@contextlib.contextmanager
def emulator_process() -> Iterator[Emulator]:
    """Start the server in a child process; on exit, record its peak RSS and stop it."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))}
    child = subprocess.Popen(
        [sys.executable, "-m", "benchmarks.emulator"],
        cwd=ROOT,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        env=env,
    )
    assert child.stdout is not None and child.stdin is not None
    url = child.stdout.readline().strip()
    if not url.startswith("http://"):
        child.kill()
        raise RuntimeError(f"the emulator did not start: {url!r}")
    emulator = Emulator(url, child.pid)
    try:
        yield emulator
    finally:
        emulator.peak_rss_mb = peak_rss_of(child.pid)
        child.stdin.close()
        try:
            child.wait(timeout=30)
        except subprocess.TimeoutExpired:
            child.kill()


def main() -> int:
    import logging

    from ganger.local import moto_cfn  # noqa: F401  (templates' EventInvokeConfig)
    from ganger.local.moto_fast import fast_moto
    from ganger.local.moto_server import EmbeddedAws

    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    with fast_moto():
        server = EmbeddedAws()
        server.start()
        print(server.endpoint_url, flush=True)
        try:
            sys.stdin.read()  # until the parent closes it
        finally:
            server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
