"""Telegram Bot API access for ganger's Lambdas: webhook secret check, update parsing, sending.

The bot token (and the webhook secret) come from Secrets Manager or SSM Parameter Store, cached
for a few minutes, and never appear in logs or error messages (``scrub``). Telegram's base URL is
configurable (config field, else ``GANGER_TELEGRAM_BASE_URL``), so local mode and tests talk to a
fake Bot API. python-telegram-bot is async; ``TelegramApi`` gives Lambda code a small sync facade
that runs each call on its own short-lived event loop and HTTP client.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import logging
import threading
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import telegram
from botocore.exceptions import BotoCoreError, ClientError
from telegram.error import BadRequest, NetworkError, RetryAfter, TelegramError
from telegram.request import HTTPXRequest

from ganger import constants, redaction
from ganger.clients import AwsClients
from ganger.errors import GangerError

logger = logging.getLogger(__name__)
T = TypeVar("T")

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
ENV_TELEGRAM_BASE_URL = "GANGER_TELEGRAM_BASE_URL"  # e.g. http://127.0.0.1:8081/bot (the fake Bot API)
ENV_TELEGRAM_BASE_FILE_URL = "GANGER_TELEGRAM_BASE_FILE_URL"
DEFAULT_BASE_URL = "https://api.telegram.org/bot"
DEFAULT_BASE_FILE_URL = "https://api.telegram.org/file/bot"
DEFAULT_TOKEN_SECRET = "ganger/telegram-bot"


# python-telegram-bot and httpx log the token (in the Bot API URL), botocore the secret holding it.
redaction.install()
_USERNAMES: dict[str, str] = {}  # token -> the bot's username (getMe), per process


class TelegramFailure(GangerError):
    """A Bot API call failed. The message never contains the token."""

    def __init__(self, method: str, problem: str, transient: bool = False) -> None:
        self.method = method
        self.problem = problem
        self.transient = transient  # a network error, a timeout or flood control: trying later may work
        super().__init__(f"Telegram {method} failed: {problem}")


class CredentialsUnavailable(GangerError):
    """The bot token could not be read from Secrets Manager or SSM."""


@dataclass(frozen=True)
class TelegramSettings:
    """The ``telegram`` section of a processor's config document.

    ``token_secret_id`` names a Secrets Manager secret holding the token, either as the plain string
    or as JSON ``{"token": ..., "webhook_secret": ...}``; ``token_parameter`` (SSM, SecureString)
    is used instead when ``token_secret_id`` is empty. Empty URLs mean the environment or Telegram.
    """

    token_secret_id: str = DEFAULT_TOKEN_SECRET
    token_parameter: str = ""
    base_url: str = ""
    base_file_url: str = ""
    cache_seconds: float = 300.0
    timeout_seconds: float = 20.0

    def api_url(self) -> str:
        return self.base_url or constants.getenv(ENV_TELEGRAM_BASE_URL) or DEFAULT_BASE_URL

    def file_url(self) -> str:
        if self.base_file_url:
            return self.base_file_url
        from_env = constants.getenv(ENV_TELEGRAM_BASE_FILE_URL)
        if from_env:
            return from_env
        api = self.api_url()
        return api[: -len("/bot")] + "/file/bot" if api.endswith("/bot") else DEFAULT_BASE_FILE_URL


@dataclass(frozen=True)
class BotCredentials:
    """The token and the webhook secret (derived from the token when the secret gives none)."""

    token: str
    webhook_secret: str

    def __repr__(self) -> str:  # never show the token, even in a traceback's locals
        return "BotCredentials(token=***, webhook_secret=***)"


def derive_webhook_secret(token: str) -> str:
    """A stable webhook secret for a token (Telegram allows ``[A-Za-z0-9_-]{1,256}``)."""
    return hmac.new(token.encode(), b"ganger-webhook", hashlib.sha256).hexdigest()


def parse_credentials(raw: str) -> BotCredentials:
    """Credentials from a secret's string: the bare token or a JSON object."""
    raw = raw.strip()
    if raw.startswith("{"):
        try:
            doc = json.loads(raw)
        except json.JSONDecodeError as exc:
            raise CredentialsUnavailable("the bot secret is not valid JSON") from exc
        token = str(doc.get("token") or doc.get("bot_token") or doc.get("TELEGRAM_TOKEN") or "")
        secret = str(doc.get("webhook_secret") or "")
    else:
        token, secret = raw, ""
    if not token:
        raise CredentialsUnavailable("the bot secret holds no token")
    return BotCredentials(token, secret or derive_webhook_secret(token))


class CredentialsSource:
    """Reads the bot credentials once per ``cache_seconds`` (thread-safe)."""

    def __init__(self, clients: AwsClients, clock: Callable[[], float] = time.monotonic) -> None:
        self._clients = clients
        self._clock = clock
        self._lock = threading.Lock()
        self._cached: tuple[tuple[str, str], BotCredentials, float] | None = None

    def get(self, settings: TelegramSettings) -> BotCredentials:
        where = (settings.token_secret_id, settings.token_parameter)
        with self._lock:
            cached = self._cached
            if cached and cached[0] == where and self._clock() - cached[2] < settings.cache_seconds:
                return cached[1]
            credentials = parse_credentials(self._read(settings))
            redaction.remember(credentials.token, credentials.webhook_secret)
            self._cached = (where, credentials, self._clock())
            return credentials

    def _read(self, settings: TelegramSettings) -> str:
        try:
            if settings.token_secret_id:
                response = self._clients.get("secretsmanager").get_secret_value(SecretId=settings.token_secret_id)
                return str(response.get("SecretString") or "")
            if settings.token_parameter:
                response = self._clients.get("ssm").get_parameter(Name=settings.token_parameter, WithDecryption=True)
                return str(response["Parameter"]["Value"])
        except (ClientError, BotoCoreError) as exc:  # name the source, never the value
            raise CredentialsUnavailable(f"cannot read the bot token: {type(exc).__name__}") from exc
        raise CredentialsUnavailable("no token_secret_id or token_parameter configured")


# ---- the webhook ------------------------------------------------------------------------------


def header(headers: Mapping[str, Any] | None, name: str) -> str | None:
    """A header's value; HTTP header names are case-insensitive."""
    wanted = name.lower()
    for key, value in (headers or {}).items():
        if str(key).lower() == wanted:
            return None if value is None else str(value)
    return None


def secret_matches(headers: Mapping[str, Any] | None, expected: str) -> bool:
    """Constant-time check of ``X-Telegram-Bot-Api-Secret-Token``; a missing header or secret fails."""
    given = header(headers, SECRET_HEADER)
    if not given or not expected:
        return False
    return hmac.compare_digest(given.encode(), expected.encode())


def parse_update(data: Mapping[str, Any]) -> telegram.Update:
    """A python-telegram-bot Update from the webhook's JSON; ValueError when it is not one."""
    if not isinstance(data, Mapping) or not isinstance(data.get("update_id"), int):
        raise ValueError("not a Telegram update: no integer update_id")
    try:
        return telegram.Update.de_json(dict(data), None)
    except (AttributeError, KeyError, TypeError, ValueError) as exc:  # e.g. a "message" that is not an object
        raise ValueError(f"malformed update: {type(exc).__name__}") from exc


def scrub(text: str, secret: str) -> str:
    """``text`` with ``secret`` masked (httpx errors may quote a URL that contains the token)."""
    return text.replace(secret, "***") if secret else text


# ---- sending ----------------------------------------------------------------------------------


Markup = telegram.ReplyKeyboardMarkup | telegram.ReplyKeyboardRemove | telegram.InlineKeyboardMarkup


@dataclass(frozen=True)
class Keyboard:
    """A reply keyboard (rows of button labels); ``remove`` removes the current one."""

    rows: tuple[tuple[str, ...], ...] = ()
    remove: bool = False

    def markup(self) -> Markup:
        if self.remove:
            return telegram.ReplyKeyboardRemove()
        return telegram.ReplyKeyboardMarkup(
            [list(row) for row in self.rows], resize_keyboard=True, one_time_keyboard=True
        )


@dataclass(frozen=True)
class InlineKeyboard:
    """Buttons under a message: rows of ``(label, callback data)``; the data is at most 64 bytes."""

    rows: tuple[tuple[tuple[str, str], ...], ...] = ()

    def markup(self) -> Markup:
        return telegram.InlineKeyboardMarkup(
            [[telegram.InlineKeyboardButton(label, callback_data=data) for label, data in row] for row in self.rows]
        )


AnyKeyboard = Keyboard | InlineKeyboard


def _reply_to(message_id: int | None) -> telegram.ReplyParameters | None:
    """Thread under the asking message; still sent when that message was deleted."""
    if not message_id:
        return None
    return telegram.ReplyParameters(message_id, allow_sending_without_reply=True)


class TelegramApi:
    """Sync facade over python-telegram-bot's Bot for one processor. No I/O until the first call."""

    def __init__(self, settings: Callable[[], TelegramSettings], credentials: CredentialsSource) -> None:
        self._settings = settings
        self._credentials = credentials

    def credentials(self) -> BotCredentials:
        return self._credentials.get(self._settings())

    def send_message(
        self, chat_id: int | str, text: str, keyboard: AnyKeyboard | None = None, reply_to: int | None = None
    ) -> int:
        """Send a text (as a reply to ``reply_to`` when given); returns the message id."""
        markup = keyboard.markup() if keyboard else None
        message = self._call(
            "sendMessage",
            lambda bot: bot.send_message(
                chat_id, text[:4096], reply_markup=markup, reply_parameters=_reply_to(reply_to)
            ),
        )
        return int(message.message_id)

    def send_photo(self, chat_id: int | str, photo: bytes, caption: str = "", reply_to: int | None = None) -> int:
        message = self._call(
            "sendPhoto",
            lambda bot: bot.send_photo(
                chat_id, photo, caption=caption[:1024] or None, reply_parameters=_reply_to(reply_to)
            ),
        )
        return int(message.message_id)

    def send_video(
        self, chat_id: int | str, video: Path, caption: str = "", reply_to: int | None = None, timeout: float = 300.0
    ) -> int:
        """Upload a video file (bots may upload up to 50 MB)."""

        async def upload(bot: telegram.Bot) -> telegram.Message:
            with video.open("rb") as stream:
                return await bot.send_video(
                    chat_id,
                    stream,
                    caption=caption[:1024] or None,
                    supports_streaming=True,
                    reply_parameters=_reply_to(reply_to),
                    filename=video.name,
                    write_timeout=timeout,
                    read_timeout=timeout,
                )

        return int(self._call("sendVideo", upload).message_id)

    def answer_callback_query(self, query_id: str, text: str = "") -> None:
        """Stop the button's spinner (with a short toast when ``text`` is given)."""
        self._call("answerCallbackQuery", lambda bot: bot.answer_callback_query(query_id, text=text[:200] or None))

    def edit_message_text(self, chat_id: int | str, message_id: int, text: str) -> None:
        """Replace a message's text and drop its inline buttons."""
        self._call("editMessageText", lambda bot: bot.edit_message_text(text[:4096], chat_id, message_id))

    def username(self) -> str:
        """The bot's own username (getMe), cached for the credentials' lifetime."""
        token = self.credentials().token
        if token not in _USERNAMES:
            me = self._call("getMe", lambda bot: bot.get_me())
            _USERNAMES[token] = str(me.username or "")
        return _USERNAMES[token]

    def download(self, file_id: str, max_bytes: int) -> bytes:
        """A file a user sent (getFile, then the file URL)."""

        async def fetch(bot: telegram.Bot) -> bytes:
            file = await bot.get_file(file_id)
            if file.file_size and file.file_size > max_bytes:
                raise TelegramFailure("getFile", f"file too large ({file.file_size} bytes)")
            return bytes(await file.download_as_bytearray())

        return self._call("getFile", fetch)

    def _call(self, method: str, operation: Callable[[telegram.Bot], Awaitable[T]]) -> T:
        settings = self._settings()
        credentials = self.credentials()
        try:
            return asyncio.run(self._run(settings, credentials.token, operation))
        except TelegramError as exc:
            # TimedOut is a NetworkError; so is BadRequest, which no retry fixes
            transient = isinstance(exc, NetworkError | RetryAfter) and not isinstance(exc, BadRequest)
            raise TelegramFailure(method, scrub(f"{type(exc).__name__}: {exc}", credentials.token), transient) from None

    @staticmethod
    async def _run(settings: TelegramSettings, token: str, operation: Callable[[telegram.Bot], Awaitable[T]]) -> T:
        timeout = settings.timeout_seconds
        requests = [
            HTTPXRequest(
                connection_pool_size=2,
                read_timeout=timeout,
                write_timeout=timeout,
                connect_timeout=timeout,
                media_write_timeout=timeout,
            )
            for _ in range(2)
        ]
        await asyncio.gather(*(r.initialize() for r in requests))
        try:
            bot = telegram.Bot(
                token,
                base_url=settings.api_url(),
                base_file_url=settings.file_url(),
                request=requests[0],
                get_updates_request=requests[1],
            )
            return await operation(bot)
        finally:
            await asyncio.gather(*(r.shutdown() for r in requests))


def largest_photo(sizes: Sequence[telegram.PhotoSize]) -> telegram.PhotoSize | None:
    """The biggest size of a photo (Telegram lists several)."""
    if not sizes:
        return None
    return max(sizes, key=lambda size: (size.width * size.height, size.file_size or 0))
