"""Downloading one video with yt-dlp, within size and time limits.

``download`` returns the file, or raises ``VideoRejected`` for what the user can fix (a link
yt-dlp cannot use, a 4xx, a video too large or too long) and ``VideoDownloadFailed`` for what a
retry may fix (network errors, 5xx). Only single-file formats are chosen, so no ffmpeg is needed.
Only public internet addresses are reached, on every hop (``processors.video.egress``): a link or a
redirect to a loopback, private or link-local address is rejected.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yt_dlp
from yt_dlp.networking.exceptions import HTTPError, TransportError

from ganger.errors import GangerError
from processors.video.egress import DestinationRefused, EgressGuard, guarded

logger = logging.getLogger(__name__)


class VideoRejected(GangerError):
    """The user's link cannot be downloaded as asked; ``reason`` is fit to show them."""

    def __init__(self, reason: str) -> None:
        self.reason = reason
        super().__init__(reason)


class VideoDownloadFailed(GangerError):
    """A failure worth retrying later."""


@dataclass(frozen=True)
class Limits:
    max_bytes: int
    max_duration_seconds: int
    timeout_seconds: float


@dataclass(frozen=True)
class DownloadedVideo:
    path: Path
    title: str
    size: int


class _TooSlow(Exception):
    pass


class _TooLarge(Exception):
    pass


def _options(directory: Path, limits: Limits, rejected: list[str]) -> dict[str, Any]:
    started = time.monotonic()

    def watch(progress: dict[str, Any]) -> None:
        if time.monotonic() - started > limits.timeout_seconds:
            raise _TooSlow()
        if int(progress.get("downloaded_bytes") or 0) > limits.max_bytes:
            raise _TooLarge()

    def duration_filter(info: dict[str, Any], *, incomplete: bool = False) -> str | None:
        duration = info.get("duration")
        if duration and duration > limits.max_duration_seconds:
            rejected.append(f"the video is longer than {limits.max_duration_seconds // 60} min")
            return rejected[-1]
        return None

    return {
        "outtmpl": str(directory / "video.%(ext)s"),
        "format": "best[vcodec!=none][acodec!=none]/best",
        "max_filesize": limits.max_bytes,
        "match_filter": duration_filter,
        "progress_hooks": [watch],
        "noplaylist": True,
        "playlist_items": "1",
        "quiet": True,
        "no_warnings": True,
        "noprogress": True,
        "socket_timeout": min(30.0, limits.timeout_seconds),
        "retries": 1,
        "restrictfilenames": True,
        "cachedir": False,
        "logger": logger,
        # Every connection is checked where it is made (processors.video.egress): made directly (no proxy
        # from the environment, which would hide the destination) and in this thread (no fragment threads).
        "proxy": "",
        "concurrent_fragment_downloads": 1,
    }


def download(url: str, directory: Path, limits: Limits, egress: EgressGuard | None = None) -> DownloadedVideo:
    """The downloaded video of ``url`` in ``directory``; only public addresses are reached (and ``egress``'s
    allowlist), on every hop."""
    rejected: list[str] = []
    guard = egress or EgressGuard()
    try:
        with guarded(guard), yt_dlp.YoutubeDL(_options(directory, limits, rejected)) as ydl:
            info = ydl.extract_info(url, download=True)
    except (yt_dlp.utils.DownloadError, DestinationRefused) as exc:
        if guard.refused:
            raise VideoRejected(
                f"the link leads to {guard.refused[0]}, which is not on the public internet; "
                "I only download from public addresses"
            ) from exc
        if isinstance(exc, DestinationRefused):
            raise
        raise _translate(exc) from exc
    except _TooLarge as exc:
        raise VideoRejected("the video is too large") from exc
    except _TooSlow as exc:
        raise VideoRejected("the download took too long") from exc
    if rejected:
        raise VideoRejected(rejected[0])
    if info and info.get("entries"):
        info = next(iter(info["entries"]), None)
    if not info:
        raise VideoRejected("no video found at that link")
    files = sorted(p for p in directory.iterdir() if p.is_file() and not p.name.endswith((".part", ".ytdl")))
    if not files:
        raise VideoRejected(f"the video is larger than {limits.max_bytes // (1024 * 1024)} MB")
    path = files[0]
    return DownloadedVideo(path, str(info.get("title") or path.stem), path.stat().st_size)


def _translate(exc: yt_dlp.utils.DownloadError) -> GangerError:
    cause = exc.exc_info[1] if exc.exc_info else None
    if isinstance(cause, _TooLarge):
        return VideoRejected("the video is too large")
    if isinstance(cause, _TooSlow):
        return VideoRejected("the download took too long")
    if isinstance(cause, HTTPError):
        if cause.status >= 500:
            return VideoDownloadFailed(f"the site answered {cause.status}")
        return VideoRejected(f"the site answered {cause.status}")
    if isinstance(cause, TransportError):
        return VideoDownloadFailed(f"network error: {type(cause).__name__}")
    message = str(exc).removeprefix("ERROR: ").strip()
    return VideoRejected(message[:300] or "the link could not be downloaded")
