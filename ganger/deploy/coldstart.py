"""Import a handler from its own unzipped package in a fresh, isolated interpreter, as Lambda does.

The interpreter sees only the package and a folder standing in for Lambda's runtime (boto3 and what it
needs, linked from this environment), so an import the package lacks fails here as it would on Lambda.
``python -m ganger.deploy.coldstart DIR`` prints each function's median import time over five runs.
"""

from __future__ import annotations

import argparse
import importlib
import json
import statistics
import subprocess
import sys
import zipfile
from dataclasses import dataclass
from pathlib import Path

# What the Lambda Python runtime has besides the standard library.
RUNTIME_MODULES = ("boto3", "botocore", "s3transfer", "jmespath", "dateutil", "urllib3", "six")
_PROBE = """
import json, sys, time
sys.path[:0] = [{package!r}, {runtime!r}]
start, cpu = time.perf_counter(), time.process_time()
import {module}
elapsed, cpu = time.perf_counter() - start, time.process_time() - cpu
for extra in {extra!r}:
    __import__(extra)
print(json.dumps({{"seconds": elapsed, "cpu_seconds": cpu, "modules": sorted(sys.modules)}}))
"""


class ImportFailed(Exception):
    """A handler does not import from its own package."""


@dataclass(frozen=True)
class Probe:
    seconds: float  # wall clock
    cpu_seconds: float  # this process's CPU time: what the import costs, whatever else the machine runs
    modules: tuple[str, ...]


def lambda_runtime(folder: Path) -> Path:
    """A folder holding links to the runtime's modules (once per folder)."""
    folder.mkdir(parents=True, exist_ok=True)
    for name in RUNTIME_MODULES:
        source = Path(importlib.import_module(name).__file__ or "")
        target = source.parent if source.name == "__init__.py" else source
        link = folder / target.name
        if not link.exists():
            link.symlink_to(target)
    return folder


def unpack(package: Path, into: Path) -> Path:
    if not into.exists():
        with zipfile.ZipFile(package) as archive:
            archive.extractall(into)
    return into


def probe(package_dir: Path, runtime: Path, module: str, extra: tuple[str, ...] = ()) -> Probe:
    """Import ``module`` (then ``extra``) in ``python -I -S -B`` with only the package and the runtime."""
    code = _PROBE.format(package=str(package_dir), runtime=str(runtime), module=module, extra=list(extra))
    # -B: Lambda's code folder is read-only, so nothing compiled at import is kept for the next cold start.
    command = [sys.executable, "-I", "-S", "-B", "-c", code]
    result = subprocess.run(command, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        tail = "\n".join(result.stderr.strip().splitlines()[-3:])
        raise ImportFailed(f"{module} does not import from {package_dir}: {tail}")
    found = json.loads(result.stdout.strip().splitlines()[-1])
    return Probe(float(found["seconds"]), float(found["cpu_seconds"]), tuple(found["modules"]))


def median_import_seconds(package_dir: Path, runtime: Path, module: str, runs: int = 5) -> tuple[float, float]:
    """Median wall-clock and median CPU seconds of importing ``module`` in ``runs`` fresh interpreters."""
    probes = [probe(package_dir, runtime, module) for _ in range(runs)]
    return statistics.median(p.seconds for p in probes), statistics.median(p.cpu_seconds for p in probes)


def main(argv: list[str] | None = None) -> int:
    from ganger.deploy.functions import PACKAGES

    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("packages", type=Path, help="the folder `ganger deploy --package-only` wrote")
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args(argv)
    work = args.packages / ".coldstart"
    runtime = lambda_runtime(work / "runtime")
    print("| function | import, wall (ms) | import, CPU (ms) |\n|---|---:|---:|")
    empty = work / "empty"
    empty.mkdir(parents=True, exist_ok=True)
    wall, cpu = median_import_seconds(empty, runtime, "boto3", args.runs)
    print(f"| (boto3 alone) | {wall * 1000:.0f} | {cpu * 1000:.0f} |")
    for spec in PACKAGES:
        if not spec.handler:
            continue
        unpacked = unpack(args.packages / f"{spec.name}.zip", work / spec.name)
        wall, cpu = median_import_seconds(unpacked, runtime, spec.module, args.runs)
        print(f"| {spec.name} | {wall * 1000:.0f} | {cpu * 1000:.0f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
