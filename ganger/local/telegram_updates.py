"""Realistic incoming Telegram ``Update`` documents, for tests and the local demo.

Each builder numbers its updates and messages so that ``update_id`` is unique and increasing, as
Telegram guarantees; the module-level functions share one default builder.
"""

from __future__ import annotations

import hashlib
import itertools
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

JsonDict = dict[str, Any]


@dataclass(frozen=True)
class PhotoSpec:
    """One size of a photo a user sends (the file should be registered with the fake)."""

    file_id: str
    width: int
    height: int
    file_size: int

    def to_json(self) -> JsonDict:
        """The PhotoSize object."""
        return {
            "file_id": self.file_id,
            "file_unique_id": unique_id(self.file_id),
            "width": self.width,
            "height": self.height,
            "file_size": self.file_size,
        }


def unique_id(file_id: str) -> str:
    """A stable ``file_unique_id`` for a file id."""
    return "U" + hashlib.sha1(file_id.encode(), usedforsecurity=False).hexdigest()[:15]


def utf16_length(text: str) -> int:
    """Telegram measures entity offsets and lengths in UTF-16 code units."""
    return len(text.encode("utf-16-le")) // 2


def command_entities(text: str) -> list[JsonDict]:
    """A ``bot_command`` entity when the text starts with ``/command``."""
    if not text.startswith("/"):
        return []
    command = text.split(maxsplit=1)[0]
    return [{"type": "bot_command", "offset": 0, "length": utf16_length(command)}]


def link_entity(text: str, part: str, url: str | None = None) -> JsonDict:
    """An entity over the first ``part`` of ``text``: a ``text_link`` to ``url``, else a ``url``."""
    start = text.index(part)
    entity: JsonDict = {"offset": utf16_length(text[:start]), "length": utf16_length(part)}
    return {**entity, "type": "text_link", "url": url} if url else {**entity, "type": "url"}


class UpdateBuilder:
    """Builds Update JSON with unique, increasing update and message ids."""

    def __init__(self, first_update_id: int = 100_000, first_message_id: int = 1, now: Callable[[], float] = time.time):
        self._update_ids = itertools.count(first_update_id)
        self._message_ids = itertools.count(first_message_id)
        self._now = now
        self._lock = threading.Lock()

    def _ids(self) -> tuple[int, int]:
        with self._lock:
            return next(self._update_ids), next(self._message_ids)

    def _message(
        self, message_id: int, chat_id: int, user_id: int | None, first_name: str, username: str | None
    ) -> JsonDict:
        user: JsonDict = {
            "id": user_id or chat_id,
            "is_bot": False,
            "first_name": first_name,
            "language_code": "en",
        }
        if username:
            user["username"] = username
        chat: JsonDict = {"id": chat_id, "type": "private" if chat_id > 0 else "supergroup"}
        if chat_id > 0:
            chat.update({"first_name": first_name, **({"username": username} if username else {})})
        else:
            chat["title"] = "Test group"
        return {"message_id": message_id, "date": int(self._now()), "chat": chat, "from": user}

    def text(
        self,
        text: str,
        *,
        chat_id: int,
        user_id: int | None = None,
        first_name: str = "Tester",
        username: str | None = None,
        entities: Sequence[JsonDict] = (),
    ) -> JsonDict:
        """A text message; ``/start`` and other commands get their ``bot_command`` entity.

        ``entities`` are added as given (offsets and lengths in UTF-16 code units: ``link_entity``).
        """
        update_id, message_id = self._ids()
        message = {**self._message(message_id, chat_id, user_id, first_name, username), "text": text}
        entities = [*command_entities(text), *entities]
        if entities:
            message["entities"] = entities
        return {"update_id": update_id, "message": message}

    def photo(
        self,
        sizes: Sequence[PhotoSpec],
        *,
        chat_id: int,
        user_id: int | None = None,
        caption: str | None = None,
        first_name: str = "Tester",
        username: str | None = None,
    ) -> JsonDict:
        """A photo message; ``sizes`` smallest first, as Telegram lists them."""
        update_id, message_id = self._ids()
        message = self._message(message_id, chat_id, user_id, first_name, username)
        message["photo"] = [size.to_json() for size in sizes]
        if caption is not None:
            message["caption"] = caption
        return {"update_id": update_id, "message": message}

    def document(
        self,
        file_id: str,
        *,
        chat_id: int,
        file_name: str,
        mime_type: str,
        file_size: int,
        user_id: int | None = None,
        caption: str | None = None,
        first_name: str = "Tester",
    ) -> JsonDict:
        """A file sent as a document (e.g. a photo sent "as a file", uncompressed)."""
        update_id, message_id = self._ids()
        message = self._message(message_id, chat_id, user_id, first_name, None)
        message["document"] = {
            "file_id": file_id,
            "file_unique_id": unique_id(file_id),
            "file_name": file_name,
            "mime_type": mime_type,
            "file_size": file_size,
        }
        if caption is not None:
            message["caption"] = caption
        return {"update_id": update_id, "message": message}

    def callback_query(
        self,
        data: str,
        *,
        chat_id: int,
        message_id: int,
        user_id: int | None = None,
        message_text: str = "",
        bot_id: int = 1_000_001,
        first_name: str = "Tester",
    ) -> JsonDict:
        """A press on an inline keyboard button under an earlier bot message."""
        update_id, _ = self._ids()
        message = self._message(message_id, chat_id, None, "Bot", None)
        message["from"] = {"id": bot_id, "is_bot": True, "first_name": "Bot"}
        message["text"] = message_text
        user = {"id": user_id or chat_id, "is_bot": False, "first_name": first_name}
        return {
            "update_id": update_id,
            "callback_query": {
                "id": str(update_id * 1000 + 7),
                "from": user,
                "message": message,
                "chat_instance": str(chat_id * 31 + 1),
                "data": data,
            },
        }


_default = UpdateBuilder()


def make_text_update(text: str, *, chat_id: int, user_id: int | None = None, **kwargs: Any) -> JsonDict:
    """A text message update from the shared default builder."""
    return _default.text(text, chat_id=chat_id, user_id=user_id, **kwargs)


def make_photo_update(
    sizes: PhotoSpec | Sequence[PhotoSpec], *, chat_id: int, user_id: int | None = None, **kwargs: Any
) -> JsonDict:
    """A photo message update from the shared default builder."""
    listed = [sizes] if isinstance(sizes, PhotoSpec) else list(sizes)
    return _default.photo(listed, chat_id=chat_id, user_id=user_id, **kwargs)


def make_callback_update(data: str, *, chat_id: int, message_id: int, **kwargs: Any) -> JsonDict:
    """A callback query update from the shared default builder."""
    return _default.callback_query(data, chat_id=chat_id, message_id=message_id, **kwargs)
