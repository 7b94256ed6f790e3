"""Video worker (TelegramAI's fleet worker, as a labourer): link -> yt-dlp -> S3 -> the video in the chat.

Event: ``{"chat_id", "url", "task_id", "reply_to"}``; ``url`` may be ``ytsearch1:<words>``. The
object goes to ``<prefix>/<chat_id>/<task_id>/<file>``. A video within Telegram's upload limit for
bots (50 MB) is sent with ``sendVideo``, threaded under the message that asked; a larger one (or
one Telegram refuses) as a presigned S3 link. A failure the user can fix is told to the chat and
ends the task as completed with an ``error`` result (no retry); a network failure raises (retried,
and reported to the chat by the bot if it ends dead).
"""

from __future__ import annotations

import logging
import re
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ganger.errors import InvalidEvent
from ganger.processor import handler_for
from ganger.telegram import CredentialsSource, TelegramApi, TelegramFailure, TelegramSettings
from processors.configured_worker import ConfiguredWorker
from processors.video import egress
from processors.video.download import DownloadedVideo, Limits, VideoRejected, download

logger = logging.getLogger(__name__)
CONFIG_DOCUMENT = "video_worker_config"


@dataclass(frozen=True)
class VideoWorkerConfig:
    bucket: str = "ganger-media"
    prefix: str = "videos"
    max_megabytes: float = 200.0
    max_duration_seconds: int = 3600
    download_timeout_seconds: float = 600.0
    # Anyone holding the link can fetch the video until it expires: keep it short (the reply says how long).
    link_expires_seconds: int = 3600
    max_upload_megabytes: float = 50.0  # the Bot API's upload limit for bots: larger videos go as a link
    upload_timeout_seconds: float = 300.0
    telegram: TelegramSettings = field(default_factory=TelegramSettings)
    # "IP:port" destinations the downloader may reach although they are not public internet addresses
    # (processors.video.egress). Empty by default; local mode's demo adds its clip server. Never a network.
    allowed_private_destinations: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        for entry in self.allowed_private_destinations:
            try:
                egress.parse_destination(entry)
            except ValueError as exc:
                raise ValueError(f"allowed_private_destinations: {exc}") from None

    def egress_guard(self) -> egress.EgressGuard:
        return egress.EgressGuard.allowing(self.allowed_private_destinations)

    def limits(self) -> Limits:
        return Limits(int(self.max_megabytes * 1024 * 1024), self.max_duration_seconds, self.download_timeout_seconds)


def object_key(config: VideoWorkerConfig, chat_id: int, task_id: str, filename: str) -> str:
    safe = re.sub(r"[^A-Za-z0-9._-]+", "_", filename)[-100:] or "video"
    return f"{config.prefix}/{chat_id}/{task_id}/{safe}"


class VideoWorker(ConfiguredWorker[VideoWorkerConfig]):
    config_class = VideoWorkerConfig
    default_function_name = "video_worker"

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._credentials = CredentialsSource(self.clients)

    @property
    def telegram(self) -> TelegramApi:
        return TelegramApi(lambda: self.config.telegram, self._credentials)

    def process(self, event: dict[str, Any]) -> dict[str, Any] | None:
        url, chat_id = str(event.get("url") or ""), event.get("chat_id")
        if not url or not chat_id:
            raise InvalidEvent("url" if not url else "chat_id", "missing")
        config = self.config
        task_id = str(event.get("task_id") or "manual")
        reply_to = int(event.get("reply_to") or 0) or None
        with tempfile.TemporaryDirectory(prefix="ganger-video-") as directory:
            try:
                video = download(url, Path(directory), config.limits(), config.egress_guard())
            except VideoRejected as exc:
                self.telegram.send_message(
                    chat_id, f"Sorry, I could not get that video: {exc.reason}.", reply_to=reply_to
                )
                self.stats["videos_rejected"] += 1
                return {"error": exc.reason}
            key = object_key(config, int(chat_id), task_id, video.path.name)
            s3 = self.clients.get("s3")
            s3.upload_file(str(video.path), config.bucket, key)
            size_mb = video.size / (1024 * 1024)
            if video.size <= config.max_upload_megabytes * 1024 * 1024 and self.upload(chat_id, video, reply_to):
                return {"bucket": config.bucket, "key": key, "size": video.size, "sent": "video"}
        link = s3.generate_presigned_url(
            "get_object", Params={"Bucket": config.bucket, "Key": key}, ExpiresIn=config.link_expires_seconds
        )
        why = (
            f" (over Telegram's {config.max_upload_megabytes:g} MB limit, so here is a link)"
            if size_mb > config.max_upload_megabytes
            else ""
        )
        valid_for = _duration(config.link_expires_seconds)
        text = f"Your video is ready: {video.title} ({size_mb:.1f} MB){why}\nThe link works for {valid_for}:\n{link}"
        self.telegram.send_message(chat_id, text, reply_to=reply_to)
        self.stats["videos_linked"] += 1
        return {"bucket": config.bucket, "key": key, "size": video.size, "sent": "link"}

    def upload(self, chat_id: int | str, video: DownloadedVideo, reply_to: int | None) -> bool:
        """Send the file itself; False when Telegram refuses it (then a link is sent). Network errors raise."""
        caption = f"{video.title} ({video.size / (1024 * 1024):.1f} MB)"
        try:
            self.telegram.send_video(chat_id, video.path, caption, reply_to, self.config.upload_timeout_seconds)
        except TelegramFailure as exc:
            if exc.transient:
                raise
            logger.warning("sendVideo refused (%s): sending a link instead", exc.problem)
            return False
        self.stats["videos_sent"] += 1
        return True


def _duration(seconds: int) -> str:
    """``1 hour``, ``90 minutes``, ``2 days``: how long a link works, for the reply."""
    for unit, size in (("day", 86400), ("hour", 3600), ("minute", 60)):
        if seconds >= size and seconds % size == 0:
            count = seconds // size
            return f"{count} {unit}{'s' if count != 1 else ''}"
    return f"{seconds} seconds"


lambda_handler = handler_for(VideoWorker)
