"""The bot as a router: each feature declares its chat handlers next to its code; the webhook
(``processors.telegram.webhook``) keeps transport, secret, dedupe, access control and dispatch.

A feature module exposes ``HANDLERS``: ``ChatHandler``s saying which routes they take (the
``Kind``s of ``processors.telegram.routes``) and what they answer. ``Router.include`` collects them
(as python-telegram-bot's ``Application.add_handler`` or Powertools' ``include_router`` do); a
route claimed twice is an error at import, not a silent override. A handler gets the ``ChatBot``
(config, clients, clock, task store, Telegram, stats) and returns a ``Reply`` or None (no answer).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, Protocol

from ganger.tasks import TaskStore
from ganger.telegram import AnyKeyboard, TelegramApi
from processors.telegram.incoming import Incoming
from processors.telegram.routes import Kind, Route

ACCESS_DENIED = "Access denied!"
HELP_TEXT = (
    "I run jobs for you:\n"
    "- send a link to a video (or a word linked to one): I download it and send you the video "
    "(a link when it is over 50 MB); /video <words> searches\n"
    "- send a photo (or an image file): I name the objects in it (80 kinds: people, cars, dogs...) "
    "and send it back annotated\n"
    "- /up, /status, /shutdown: your dev box (/up_windows or /up windows for another instance)\n"
    '- feedings: "12pm 120ml milk" or "bottle 2 oz at 5pm", then "today" or "yesterday" for the day\'s total\n'
    "- /jobs: your recent jobs and their states"
)
NOT_UNDERSTOOD = "Sorry, I did not understand that.\n\n" + HELP_TEXT


@dataclass(frozen=True)
class Reply:
    text: str
    keyboard: AnyKeyboard | None = None


class ChatBot(Protocol):
    """What a handler may use of the webhook's Lambda."""

    @property
    def config(self) -> Any: ...  # TelegramBotConfig

    @property
    def clients(self) -> Any: ...  # ganger.clients.AwsClients

    @property
    def store(self) -> TaskStore: ...

    @property
    def telegram(self) -> TelegramApi: ...

    @property
    def stats(self) -> Counter[str]: ...

    def clock(self) -> float: ...

    def sibling_config(self, name: str, cls: type[Any]) -> Any: ...


Action = Callable[[ChatBot, Incoming, Route], Reply | None]


@dataclass(frozen=True)
class ChatHandler:
    kinds: frozenset[Kind]
    action: Action

    @classmethod
    def on(cls, *kinds: Kind) -> Callable[[Action], ChatHandler]:
        """Decorator: ``@ChatHandler.on(Kind.JOBS)`` over ``def jobs(bot, incoming, route)``."""
        return lambda action: cls(frozenset(kinds), action)


class Router:
    def __init__(self) -> None:
        self._handlers: dict[Kind, ChatHandler] = {}

    def include(self, handlers: Iterable[ChatHandler]) -> Router:
        for handler in handlers:
            for kind in handler.kinds:
                if kind in self._handlers:
                    raise ValueError(f"route {kind.value!r} has two chat handlers")
                self._handlers[kind] = handler
        return self

    def handler_for(self, kind: Kind) -> ChatHandler | None:
        return self._handlers.get(kind)

    @property
    def kinds(self) -> frozenset[Kind]:
        return frozenset(self._handlers)
