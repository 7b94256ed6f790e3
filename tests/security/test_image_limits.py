"""Issue 25, finding 3: an image is refused by its magic bytes and header size before any decoder runs,
and data over the byte limit is refused, never cut to fit. The user is told which limit; the task ends
(no retry can change the photo)."""

from __future__ import annotations

import os
import struct
import subprocess
import sys
import time
import zlib
from pathlib import Path
from typing import Any

import pytest

from ganger.local.telegram_updates import UpdateBuilder
from processors.demo.scenarios import DATA_DIR
from tests.functional.processors.conftest import USER, Bot

ROOT = Path(__file__).resolve().parents[2]
SIDE = 20_000


def _chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


def black_png(width: int, height: int) -> bytes:
    """A valid RGB PNG of zeros, built in milliseconds whatever its size: one row compressed with a full
    flush is the same bytes every time, so the stream is that block repeated (and an Adler-32 of zeros)."""
    row = bytes(1 + 3 * width)  # filter byte 0, then black pixels
    compressor = zlib.compressobj(9)
    header_and_row = compressor.compress(row) + compressor.flush(zlib.Z_FULL_FLUSH)
    repeated = compressor.compress(row) + compressor.flush(zlib.Z_FULL_FLUSH)  # a full flush forgets the past
    total = len(row) * height
    adler = ((total % 65521) << 16) | 1  # Adler-32 of n zero bytes: a = 1, b = n
    stream = header_and_row + repeated * (height - 1) + b"\x03\x00" + struct.pack(">I", adler)  # empty last block
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", ihdr) + _chunk(b"IDAT", stream) + _chunk(b"IEND", b"")


# ``python -m processors.detectors ARGS``, then the process's own peak resident memory (VmHWM). Not the
# rusage of the child: its ru_maxrss includes the parent's memory that it held until its exec.
AS_MAIN_WITH_PEAK_MEMORY = """
import runpy, sys
sys.argv[0] = "processors.detectors"
try:
    runpy.run_module("processors.detectors", run_name="__main__", alter_sys=True)
finally:
    sys.stderr.write(next(line for line in open("/proc/self/status") if line.startswith("VmHWM:")))
"""


def test_the_png_builder_makes_a_png_opencv_reads() -> None:
    import cv2
    import numpy as np

    image = cv2.imdecode(np.frombuffer(black_png(300, 200), dtype=np.uint8), cv2.IMREAD_COLOR)
    assert image.shape == (200, 300, 3) and not image.any()


def test_the_command_line_refuses_a_20000_square_png_from_its_header(tmp_path: Path) -> None:
    """The issue's done-when: non-zero, a message naming the limit, within 2 s, no decoded image allocated
    (the child's peak resident memory, from wait4, stays far below the 1.2 GB a decode takes)."""
    huge = tmp_path / "huge.png"
    huge.write_bytes(black_png(SIDE, SIDE))
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    started = time.monotonic()
    done = subprocess.run(
        [sys.executable, "-c", AS_MAIN_WITH_PEAK_MEMORY, str(huge)],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    seconds = time.monotonic() - started

    assert done.returncode == 2, done.stderr
    assert f"refused: it is {SIDE} x {SIDE} pixels; I take images up to 40 megapixels" in done.stderr
    assert seconds < 2.0
    peak_mb = int(done.stderr.rsplit("VmHWM:", 1)[1].split()[0]) / 1024  # kB
    assert peak_mb < 200, f"peak resident memory {peak_mb:.0f} MB: the image was decoded"


def test_a_file_over_the_byte_limit_is_refused_before_it_is_read(tmp_path: Path, capsys: Any) -> None:
    from processors.image.detectors import main

    photo = tmp_path / "street.jpg"
    photo.write_bytes((DATA_DIR / "pedestrians.jpg").read_bytes())
    assert main([str(photo), "--max-bytes", "50000"]) == 2
    assert "refused: it is 87.1 KB; I take images up to 48.8 KB" in capsys.readouterr().err


# ---- through the bot and the worker ---------------------------------------------------------------


def _tasks(bot: Bot) -> list[dict[str, Any]]:
    return bot.system.scan("sosw_tasks")


def _send_file(bot: Bot, data: bytes, name: str, mime_type: str) -> dict[str, Any]:
    file_id = bot.telegram.add_file(data, file_name=name, mime_type=mime_type)
    update = UpdateBuilder().document(file_id, chat_id=USER, file_name=name, mime_type=mime_type, file_size=len(data))
    assert bot.send(update)[0] == 200
    return update


def test_a_huge_png_is_refused_by_the_worker_naming_the_limit_and_not_retried(bot: Bot) -> None:
    update = _send_file(bot, black_png(SIDE, SIDE), "huge.png", "image/png")
    bot.settle()

    assert bot.texts_to(USER) == [
        "Photo received. Looking for objects in it...",
        f"Sorry, I could not look at that: it is {SIDE} x {SIDE} pixels; I take images up to 40 megapixels.",
    ]
    (closed,) = bot.system.scan("sosw_closed_tasks")
    assert closed["labourer_id_task_status"] == "image_worker_1" and closed["attempts"] == 1
    assert closed["result_error"].startswith(f"it is {SIDE} x {SIDE} pixels")
    assert _tasks(bot) == [] and bot.system.scan("sosw_retry_tasks") == []
    (prediction,) = bot.system.scan("ganger_predictions")
    assert prediction["prediction_id"] == f"{USER}-{update['message']['message_id']}"
    assert prediction["labels"] == [] and prediction["predicted_img_path"] == ""


@pytest.mark.parametrize(
    ("data", "name"),
    [
        (b"II*\x00\x08\x00\x00\x00" + bytes(64), "scan.png"),  # TIFF
        (b"\x00\x00\x00\x0cjP  \r\n\x87\n" + bytes(64), "photo.png"),  # JPEG 2000
    ],
    ids=["tiff", "jpeg2000"],
)
def test_a_file_whose_bytes_are_not_jpeg_png_or_webp_is_refused_whatever_its_mime_type(
    bot: Bot, data: bytes, name: str
) -> None:
    _send_file(bot, data, name, "image/png")
    bot.settle()
    assert bot.texts_to(USER) == ["Sorry, I could not look at that: it is not a JPEG, PNG or WebP image."]
    assert _tasks(bot) == [] and bot.system.scan("sosw_closed_tasks") == []
    assert "Contents" not in bot.system.clients.get("s3").list_objects_v2(Bucket="ganger-media", Prefix="photos/")


def test_an_image_over_the_workers_byte_limit_is_refused_not_cut_to_fit(bot: Bot) -> None:
    photo = (DATA_DIR / "pedestrians.jpg").read_bytes()
    stored = bot.system.config.get("image_worker_config")
    assert stored is not None
    bot.put_config("image_worker_config", {**stored.value, "max_image_bytes": 64 * 1024})
    _send_file(bot, photo, "street.jpg", "image/jpeg")
    bot.settle()

    assert len(photo) == 89_146
    assert bot.texts_to(USER)[-1] == "Sorry, I could not look at that: it is 87.1 KB; I take images up to 64 KB."
    (closed,) = bot.system.scan("sosw_closed_tasks")
    assert closed["attempts"] == 1 and closed["result_error"] == "it is 87.1 KB; I take images up to 64 KB"
