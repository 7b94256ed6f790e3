"""What the fake Telegram Bot API records and serves: the calls a bot made, stored files, the webhook, and
the Bot API's answer envelopes."""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from ganger.local.http_server import HttpResponse
from ganger.local.telegram_updates import unique_id


class BotApiError(Exception):
    """An error the Bot API reports as ``{"ok": false, ...}``."""

    def __init__(self, code: int, description: str) -> None:
        self.code = code
        self.description = description
        super().__init__(f"{code}: {description}")


@dataclass(frozen=True)
class SentRecord:
    """One call the bot made (every method except the read-only ones)."""

    method: str
    chat_id: int | str | None
    text: str | None = None
    caption: str | None = None
    reply_markup: Any = None
    media: bytes | None = None
    media_ref: str | None = None
    message_id: int | None = None
    params: Mapping[str, str] = field(default_factory=dict)
    at: float = 0.0  # when the fake received the call (time.time)

    @property
    def media_size(self) -> int | None:
        """Bytes uploaded with the call, if any."""
        return None if self.media is None else len(self.media)


@dataclass(frozen=True)
class StoredFile:
    """A file the fake can serve through getFile and the file URL."""

    file_id: str
    data: bytes
    file_path: str
    kind: str
    file_name: str | None = None
    mime_type: str | None = None
    width: int = 0
    height: int = 0


def new_file(
    number: int, data: bytes, kind: str, file_name: str | None, mime_type: str | None, width: int, height: int
) -> StoredFile:
    """The ``number``-th stored file, with an id and a path like Telegram's."""
    folder = {"photo": "photos", "video": "videos"}.get(kind, "documents")
    suffix = {"photo": ".jpg", "video": ".mp4"}.get(kind, "")
    return StoredFile(
        file_id=f"AgAC{kind[:3]}{number:06d}{uuid.uuid4().hex[:12]}",
        data=data,
        file_path=f"{folder}/file_{number}{suffix}",
        kind=kind,
        file_name=file_name,
        mime_type=mime_type,
        width=width,
        height=height,
    )


@dataclass(frozen=True)
class WebhookInfo:
    """The webhook set by setWebhook, if any."""

    url: str = ""
    secret_token: str | None = None


def ok(result: Any) -> HttpResponse:
    return HttpResponse.json(200, json.dumps({"ok": True, "result": result}))


def fail(code: int, description: str) -> HttpResponse:
    return HttpResponse.json(code, json.dumps({"ok": False, "error_code": code, "description": description}))


def chat_id_of(value: str | None) -> int | str | None:
    if value is None:
        return None
    try:
        return int(value)
    except ValueError:
        return value


def json_field(value: str | None) -> Any:
    if value is None:
        return None
    try:
        return json.loads(value)
    except ValueError:
        return value


def returned_markup(markup: Any) -> Any:
    """The ``reply_markup`` of the Message the Bot API returns: Telegram includes it only for an inline
    keyboard (python-telegram-bot reads any other as an inline keyboard and fails); None otherwise."""
    return markup if isinstance(markup, dict) and "inline_keyboard" in markup else None


def media_json(stored: StoredFile) -> Any:
    """The Bot API's description of a stored file (a photo's sizes, a video, a document)."""
    base = {
        "file_id": stored.file_id,
        "file_unique_id": unique_id(stored.file_id),
        "file_size": len(stored.data),
    }
    if stored.kind == "photo":
        return [{**base, "width": stored.width or 320, "height": stored.height or 240}]
    if stored.kind == "video":
        return {**base, "width": stored.width or 320, "height": stored.height or 240, "duration": 1}
    return {
        **base,
        "file_name": stored.file_name or "file",
        "mime_type": stored.mime_type or "application/octet-stream",
    }
