"""The function package: ganger's code as one zip for every function (handlers differ by `Handler`)."""

from __future__ import annotations

import hashlib
import io
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("ganger", "essentials", "processors", "examples")


def build_code_zip(root: Path = ROOT) -> bytes:
    """A deterministic zip of the project's packages (no caches), so an unchanged tree gives the same key."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for package in PACKAGES:
            for path in sorted((root / package).rglob("*")):
                if path.is_file() and "__pycache__" not in path.parts and path.suffix in (".py", ".json", ".txt"):
                    info = zipfile.ZipInfo(str(path.relative_to(root)), date_time=(2020, 1, 1, 0, 0, 0))
                    info.external_attr = 0o644 << 16
                    archive.writestr(info, path.read_bytes(), zipfile.ZIP_DEFLATED)
    return buffer.getvalue()


def package_key(data: bytes) -> str:
    return f"ganger/code-{hashlib.sha256(data).hexdigest()[:16]}.zip"
