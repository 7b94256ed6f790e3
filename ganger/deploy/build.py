"""Build every package (no AWS call): install each one's locked distributions, zip it, check its limits.

``ganger deploy --package-only DIR`` stops here and prints the table; ``ganger deploy`` goes on to
upload each package and hand its key to the template parameter that takes it.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from ganger.deploy import dependencies
from ganger.deploy.functions import IMPORT_NAMES, MIB, NEVER_SHIPPED, PACKAGES, PROVIDED_BY_LAMBDA, PackageSpec
from ganger.deploy.imports import closure
from ganger.deploy.lock import Lock
from ganger.deploy.package import ROOT, build_package, package_key, unzipped_size
from ganger.errors import GangerError

Installer = Callable[[dependencies.DependencySpec], Path]


class PackageTooLarge(GangerError):
    """A package is over the limit it is checked against."""


class MissingDistribution(GangerError):
    """A handler imports, at module level, a distribution its package does not ship."""


@dataclass(frozen=True)
class BuiltPackage:
    spec: PackageSpec
    data: bytes
    unzipped: int

    @property
    def key(self) -> str:
        return package_key(self.data, self.spec.name)

    @property
    def zipped(self) -> int:
        return len(self.data)


def check_imports_shipped(spec: PackageSpec, root: Path = ROOT) -> None:
    """Every third-party module the handler imports at module level is in its package or Lambda's runtime.
    Lazy imports may stay unshipped (the bot shares ``processors.image.detectors`` but never runs OpenCV)."""
    if not spec.handler:
        return
    reached = closure(root, spec.module, NEVER_SHIPPED)
    shipped = set(spec.distributions) | set(PROVIDED_BY_LAMBDA)
    missing = sorted(m for m in reached.eager_third_party if IMPORT_NAMES.get(m, m) not in shipped)
    if missing:
        raise MissingDistribution(
            f"{spec.name}: {spec.module} imports {', '.join(missing)} at module level, "
            "but its package does not ship it (ganger/deploy/functions.py)"
        )


def build_one(spec: PackageSpec, lock: Lock, install: Installer, root: Path = ROOT) -> BuiltPackage:
    check_imports_shipped(spec, root)
    excluded = PROVIDED_BY_LAMBDA if spec.lambda_function else ()
    folder = install(dependencies.DependencySpec(spec.distributions, lock, excluded=excluded))
    data = build_package(spec, folder, root)
    built = BuiltPackage(spec, data, unzipped_size(data))
    limit = spec.unzipped_limit
    if limit is not None and built.unzipped > limit:
        raise PackageTooLarge(
            f"{spec.name}: {built.unzipped / MIB:.1f} MiB unzipped, over its {limit // MIB} MiB limit"
        )
    return built


def build_all(
    lock: Lock,
    out_dir: Path | None = None,
    cache_dir: Path | None = None,
    specs: Sequence[PackageSpec] = PACKAGES,
    install: Installer | None = None,
    root: Path = ROOT,
) -> list[BuiltPackage]:
    """Build ``specs``; with ``out_dir``, write ``<name>.zip`` for each and a ``packages.json`` index."""
    installer = install or (lambda spec: dependencies.install(spec, cache_dir))
    built = [build_one(spec, lock, installer, root) for spec in specs]
    if out_dir is not None:
        out_dir.mkdir(parents=True, exist_ok=True)
        for package in built:
            (out_dir / f"{package.spec.name}.zip").write_bytes(package.data)
        index = {
            p.spec.name: {"handler": p.spec.handler, "key": p.key, "zipped": p.zipped, "unzipped": p.unzipped}
            for p in built
        }
        (out_dir / "packages.json").write_text(json.dumps(index, indent=1, sort_keys=True) + "\n")
    return built


def _mib(size: int) -> str:
    return f"{size / MIB:.1f} MiB"


def table(built: Sequence[BuiltPackage]) -> str:
    """function | zipped | unzipped | limit, one row per package."""
    rows = [("function", "zipped", "unzipped", "limit (unzipped)")]
    for package in built:
        limit = package.spec.unzipped_limit
        rows.append(
            (
                package.spec.name,
                _mib(package.zipped),
                _mib(package.unzipped),
                _mib(limit) if limit is not None else "none (EC2 instances)",
            )
        )
    widths = [max(len(row[i]) for row in rows) for i in range(4)]
    lines = ["  ".join(cell.ljust(widths[i]) if i == 0 else cell.rjust(widths[i]) for i, cell in enumerate(row))
             for row in rows]  # fmt: skip
    return "\n".join(lines)
