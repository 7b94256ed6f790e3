"""What the bot reads from an update: a message (text, links from its entities, a photo or an image
document) or a press on an inline button. Pure reading, no I/O.

Links come from ``url`` and ``text_link`` entities first (python-telegram-bot slices the text by
Telegram's UTF-16 offsets), then from the visible text.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass

import telegram
from telegram.constants import MessageEntityType

from ganger.telegram import largest_photo
from processors.telegram.routes import find_link

PRIVATE = "private"


@dataclass(frozen=True)
class ImageRef:
    """A picture the user sent: a photo (its largest size) or a document with an image MIME type."""

    file_id: str
    file_size: int
    as_document: bool = False


@dataclass(frozen=True)
class Press:
    """A press on an inline button under one of the bot's messages."""

    query_id: str
    data: str
    message_id: int  # the bot's message that carries the buttons


@dataclass(frozen=True)
class Incoming:
    """The parts of an update the bot acts on."""

    update_id: int
    chat_id: int
    chat_type: str
    user_id: int
    message_id: int
    text: str
    sent_at: datetime.datetime
    author: str
    image: ImageRef | None = None
    links: tuple[str, ...] = ()
    press: Press | None = None

    @property
    def in_group(self) -> bool:
        return self.chat_type != PRIVATE

    @property
    def job_id(self) -> str:
        """A message's job comes from the message; a press's from the question pressed (one job per
        question, however often it is pressed), never the same as a message's."""
        if self.press is not None:
            return f"tg-{self.chat_id}-press-{self.press.message_id}"
        return f"tg-{self.chat_id}-{self.message_id}"

    @property
    def link(self) -> str | None:
        return self.links[0] if self.links else None

    @classmethod
    def from_update(cls, update: telegram.Update) -> Incoming | None:
        """None for what the bot does not act on (edits, channel posts, joins without a sender)."""
        if update.callback_query is not None:
            return _from_callback(update.update_id, update.callback_query)
        message = update.message
        if message is None or message.from_user is None:
            return None
        user = message.from_user
        return cls(
            update.update_id,
            message.chat.id,
            message.chat.type,
            user.id,
            message.message_id,
            message.text or message.caption or "",
            message.date,
            user.username or user.first_name,
            image_of(message),
            links_of(message),
        )


def _from_callback(update_id: int, query: telegram.CallbackQuery) -> Incoming | None:
    message = query.message
    if message is None or not query.data:
        return None  # an inline-mode message or a game button: nothing of ours
    user = query.from_user
    return Incoming(
        update_id,
        message.chat.id,
        message.chat.type,
        user.id,
        message.message_id,
        query.data,
        message.date,
        user.username or user.first_name,
        press=Press(query.id, query.data, message.message_id),
    )


def image_of(message: telegram.Message) -> ImageRef | None:
    photo = largest_photo(message.photo)
    if photo is not None:
        return ImageRef(photo.file_id, photo.file_size or 0)
    document = message.document
    if document is not None and (document.mime_type or "").lower().startswith("image/"):
        return ImageRef(document.file_id, document.file_size or 0, as_document=True)
    return None


def links_of(message: telegram.Message) -> tuple[str, ...]:
    """Links in entity order (``text_link`` targets and ``url`` spans), then one found in the text."""
    wanted: list[str | None] = [MessageEntityType.URL, MessageEntityType.TEXT_LINK]
    parsed = message.parse_entities(wanted) if message.text else message.parse_caption_entities(wanted)
    links: list[str] = []
    for entity, visible in sorted(parsed.items(), key=lambda pair: pair[0].offset):
        link = entity.url if entity.type == MessageEntityType.TEXT_LINK else visible
        if link and entity.type == MessageEntityType.URL and "://" not in link:
            link = f"https://{link}"  # Telegram marks "youtu.be/x" as a url too
        if link and link.lower().startswith(("http://", "https://")) and link not in links:
            links.append(link)
    visible_link = find_link(message.text or message.caption or "")
    if visible_link and visible_link not in links:
        links.append(visible_link)
    return tuple(links)
