"""Which business a Telegram message is for. A pure function of the message's text, photo and links.

``route(text, has_photo, link)`` returns a frozen ``Route``; the webhook then performs it. Commands
may carry a bot's name (``/up@my_bot``: ``Route.addressee``, the webhook ignores commands for
other bots) and an instance code (``/up_windows`` or ``/up windows``). ``route_press(data)``
reads the callback data of the bot's inline buttons.
"""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass

from processors.feedings.parser import parse_feeding


class Kind(enum.Enum):
    START = "start"
    HELP = "help"
    JOBS = "jobs"
    VIDEO = "video"
    PHOTO = "photo"
    DEVBOX_UP = "devbox_up"
    DEVBOX_STATUS = "devbox_status"
    DEVBOX_CONFIRM_SHUTDOWN = "devbox_confirm_shutdown"  # /shutdown: ask first
    DEVBOX_SHUTDOWN = "devbox_shutdown"  # "Shutdown": no question asked
    CANCEL = "cancel"
    FEEDING = "feeding"
    FEEDINGS_DAY = "feedings_day"
    UNKNOWN = "unknown"
    EMPTY = "empty"  # no text and no photo (a sticker, a join...)


@dataclass(frozen=True)
class Route:
    kind: Kind
    argument: str = ""  # the link, the video query, the instance code, the day or the feeding text
    addressee: str = ""  # the bot a command names after "@", if any
    asker: int = 0  # a button press: the user the button is bound to (0: none, nobody may press it)


_COMMAND = re.compile(
    r"^/(?P<name>[a-z]+)(?:_(?P<code>[a-z0-9-]+))?(?:@(?P<bot>\w+))?(?:\s+(?P<rest>.*))?$", re.I | re.S
)
_SHUTDOWN = re.compile(r"^shutdown(?:[\s_]+(?P<code>[a-z0-9-]+))?$", re.I)
_LINK = re.compile(r"https?://[^\s<>\"']+", re.I)
_DEVBOX_COMMANDS = {"up": Kind.DEVBOX_UP, "status": Kind.DEVBOX_STATUS, "shutdown": Kind.DEVBOX_CONFIRM_SHUTDOWN}
_SIMPLE_COMMANDS = {"start": Kind.START, "help": Kind.HELP, "jobs": Kind.JOBS}


def find_link(text: str) -> str | None:
    match = _LINK.search(text)
    return match.group(0).rstrip(").,;!?") if match else None


SHUTDOWN_PRESS = "shutdown"  # callback data "shutdown:<asker>:<code>"
CANCEL_PRESS = "cancel"  # callback data "cancel:<asker>:"
MAX_PRESS_DATA = 64  # bytes of callback_data Telegram keeps


class PressDataTooLong(ValueError):
    """A button's data would be over Telegram's 64 bytes (an instance code too long)."""


def press_data(action: str, asker: int, code: str = "") -> str:
    """A button's callback data, bound to the user who asked: only that user's press acts."""
    data = f"{action}:{asker}:{code}"
    if len(data.encode()) > MAX_PRESS_DATA:
        raise PressDataTooLong(f"button data {data[:20]!r}... is over Telegram's {MAX_PRESS_DATA} bytes")
    return data


def route_press(data: str) -> Route:
    """The route of an inline button press (the data the bot put on the button), with its asker."""
    name, _, rest = data.partition(":")
    asker, _, code = rest.partition(":")
    if not asker.isdigit():  # a button from before the binding ("shutdown:<code>"): nobody's
        asker, code = "0", rest
    if name == SHUTDOWN_PRESS:
        return Route(Kind.DEVBOX_SHUTDOWN, code.lower(), asker=int(asker))
    if name == CANCEL_PRESS:
        return Route(Kind.CANCEL, asker=int(asker))
    return Route(Kind.UNKNOWN, data)


def route(text: str | None, has_photo: bool = False, link: str | None = None) -> Route:
    """The route of a message (text or caption); ``link`` is one its entities carry."""
    if has_photo:
        return Route(Kind.PHOTO)
    text = (text or "").strip()
    if not text:
        return Route(Kind.EMPTY)
    if text.startswith("/"):
        return _command(text, link)
    lowered = text.lower()
    shutdown = _SHUTDOWN.match(text)
    if shutdown:
        return Route(Kind.DEVBOX_SHUTDOWN, (shutdown.group("code") or "").lower())
    if lowered == "cancel":
        return Route(Kind.CANCEL)
    if lowered in ("today", "yesterday"):
        return Route(Kind.FEEDINGS_DAY, lowered)
    link = link or find_link(text)
    if link:
        return Route(Kind.VIDEO, link)
    if parse_feeding(text) is not None:
        return Route(Kind.FEEDING, text)
    return Route(Kind.UNKNOWN, text)


def _command(text: str, link: str | None) -> Route:
    match = _COMMAND.match(text)
    if match is None:
        return Route(Kind.UNKNOWN, text)
    found = _command_route(match, text, link)
    return Route(found.kind, found.argument, (match.group("bot") or "").lower())


def _command_route(match: re.Match[str], text: str, link: str | None) -> Route:
    name = match.group("name").lower()
    code = (match.group("code") or "").lower()
    rest = (match.group("rest") or "").strip()
    if name in _DEVBOX_COMMANDS:
        if not code and rest:
            code = rest.split()[0].lower()
        return Route(_DEVBOX_COMMANDS[name], code)
    if name in _SIMPLE_COMMANDS and not code:
        return Route(_SIMPLE_COMMANDS[name])
    if name == "video" and (rest or link):
        return Route(Kind.VIDEO, link or find_link(rest) or f"ytsearch1:{rest}")
    return Route(Kind.UNKNOWN, text)
