"""Video worker (TelegramAI's fleet worker, as a labourer): link -> yt-dlp -> S3 -> presigned link in the chat.

Event: ``{"chat_id", "url", "task_id"}``; ``url`` may be ``ytsearch1:<words>``. The object goes to
``<prefix>/<chat_id>/<task_id>/<file>``. A failure the user can fix is told to the chat and ends
the task as completed with an ``error`` result (no retry); a network failure raises (retried).
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
from ganger.telegram import CredentialsSource, TelegramApi, TelegramSettings
from processors.configured_worker import ConfiguredWorker
from processors.video_download import Limits, VideoRejected, download

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
    telegram: TelegramSettings = field(default_factory=TelegramSettings)

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
        with tempfile.TemporaryDirectory(prefix="ganger-video-") as directory:
            try:
                video = download(url, Path(directory), config.limits())
            except VideoRejected as exc:
                self.telegram.send_message(chat_id, f"Sorry, I could not get that video: {exc.reason}.")
                self.stats["videos_rejected"] += 1
                return {"error": exc.reason}
            key = object_key(config, int(chat_id), task_id, video.path.name)
            s3 = self.clients.get("s3")
            s3.upload_file(str(video.path), config.bucket, key)
        link = s3.generate_presigned_url(
            "get_object", Params={"Bucket": config.bucket, "Key": key}, ExpiresIn=config.link_expires_seconds
        )
        size_mb = video.size / (1024 * 1024)
        valid_for = _duration(config.link_expires_seconds)
        self.telegram.send_message(
            chat_id, f"Your video is ready: {video.title} ({size_mb:.1f} MB)\nThe link works for {valid_for}:\n{link}"
        )
        self.stats["videos_stored"] += 1
        return {"bucket": config.bucket, "key": key, "size": video.size}


def _duration(seconds: int) -> str:
    """``1 hour``, ``90 minutes``, ``2 days``: how long a link works, for the reply."""
    for unit, size in (("day", 86400), ("hour", 3600), ("minute", 60)):
        if seconds >= size and seconds % size == 0:
            count = seconds // size
            return f"{count} {unit}{'s' if count != 1 else ''}"
    return f"{seconds} seconds"


lambda_handler = handler_for(VideoWorker)
