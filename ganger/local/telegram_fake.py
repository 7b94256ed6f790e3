"""A fake Telegram Bot API server that records what a bot sends and answers like Telegram.

python-telegram-bot reaches it with ``Bot(token, base_url=fake.base_url,
base_file_url=fake.base_file_url)``: PTB posts to ``{base_url}{token}/{method}`` and downloads
from ``{base_file_url}{token}/{file_path}``. Updates queued with ``push_update`` are served by
``getUpdates`` (long polling), so the real-Telegram poller can be tested against it. ``/chat/*``
(``ganger.local.chat_room``) lets `ganger chat` talk to the bot through the registered webhook.
"""

from __future__ import annotations

import itertools
import logging
import re
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import replace
from typing import Any
from urllib.parse import unquote

from ganger.local.chat_room import ChatRoom
from ganger.local.form_data import FormData, parse_form
from ganger.local.http_server import LOOPBACK, BackgroundHttpServer, HttpRequest, HttpResponse
from ganger.local.telegram_records import (
    BotApiError,
    SentRecord,
    StoredFile,
    WebhookInfo,
    chat_id_of,
    fail,
    json_field,
    media_json,
    new_file,
    ok,
    returned_markup,
)
from ganger.local.telegram_updates import PhotoSpec, unique_id

__all__ = ["BotApiError", "FakeTelegram", "SentRecord", "StoredFile", "WebhookInfo"]

logger = logging.getLogger(__name__)

JsonDict = dict[str, Any]
_API_PATH = re.compile(r"^/bot(?P<token>[^/]+)/(?P<method>[A-Za-z]+)$")
_FILE_PATH = re.compile(r"^/file/bot(?P<token>[^/]+)/(?P<path>.+)$")


class FakeTelegram:
    """The Bot API for one bot token, on 127.0.0.1.

    Only ``token`` is accepted (others get 401); ``port`` 0 picks a free one; ``bot_id`` and ``bot_username``
    are the bot's (getMe, ``from`` of sent messages); ``now`` dates messages; ``max_poll_seconds`` bounds a
    getUpdates long poll, to keep shutdown quick.
    """

    def __init__(
        self,
        token: str,
        *,
        host: str = LOOPBACK,
        port: int = 0,
        bot_id: int = 1_000_001,
        bot_username: str = "ganger_local_bot",
        now: Callable[[], float] = time.time,
        max_poll_seconds: float = 30.0,
    ) -> None:
        self._token = token
        self.bot_id = bot_id
        self.bot_username = bot_username
        self._now = now
        self._max_poll = max_poll_seconds
        self._server = BackgroundHttpServer(self.handle, host=host, port=port, name="telegram")
        self._cond = threading.Condition()
        self._sent: list[SentRecord] = []
        self._files: dict[str, StoredFile] = {}
        self._updates: list[JsonDict] = []
        self._message_ids = itertools.count(1)
        self._file_numbers = itertools.count(1)
        self._webhook = WebhookInfo()
        self._stopping = False
        self.chat = ChatRoom(self, now)
        self._methods: dict[str, Callable[[FormData], Any]] = {
            "getme": self._get_me,
            "sendmessage": self._send_message,
            "sendphoto": lambda form: self._send_media("photo", form),
            "senddocument": lambda form: self._send_media("document", form),
            "sendvideo": lambda form: self._send_media("video", form),
            "sendchataction": self._send_chat_action,
            "answercallbackquery": self._answer_callback_query,
            "editmessagetext": self._edit_message_text,
            "setwebhook": self._set_webhook,
            "deletewebhook": self._delete_webhook,
            "getwebhookinfo": self._get_webhook_info,
            "getfile": self._get_file,
            "getupdates": self._get_updates,
        }

    @property
    def api_root(self) -> str:
        """``http://127.0.0.1:PORT``: the poller's ``base_url`` (it appends ``/bot<token>``)."""
        return self._server.url

    @property
    def base_url(self) -> str:
        """PTB's ``base_url``."""
        return f"{self.api_root}/bot"

    @property
    def base_file_url(self) -> str:
        """PTB's ``base_file_url``."""
        return f"{self.api_root}/file/bot"

    def start(self) -> None:
        """Start serving."""
        with self._cond:
            self._stopping = False
        self._server.start()

    def stop(self) -> None:
        """Release waiting long polls, then stop serving."""
        with self._cond:
            self._stopping = True
            self._cond.notify_all()
        self._server.stop()

    @property
    def sent(self) -> list[SentRecord]:
        """Calls recorded so far, oldest first."""
        with self._cond:
            return list(self._sent)

    @property
    def webhook(self) -> WebhookInfo:
        """The current webhook."""
        with self._cond:
            return self._webhook

    def add_file(
        self,
        data: bytes,
        *,
        kind: str = "document",
        file_name: str | None = None,
        mime_type: str | None = None,
        width: int = 0,
        height: int = 0,
    ) -> str:
        """Register a file (e.g. a photo a user sends) and return its ``file_id``."""
        stored = new_file(next(self._file_numbers), data, kind, file_name, mime_type, width, height)
        with self._cond:
            self._files[stored.file_id] = stored
        return stored.file_id

    def add_photo(self, data: bytes, *, width: int = 1280, height: int = 960) -> PhotoSpec:
        """Register a photo and describe it for ``make_photo_update``."""
        file_id = self.add_file(data, kind="photo", width=width, height=height)
        return PhotoSpec(file_id, width, height, len(data))

    def file(self, file_id: str) -> StoredFile | None:
        """A stored file by id (uploaded by the bot or registered by a test)."""
        with self._cond:
            return self._files.get(file_id)

    def push_update(self, update: Mapping[str, Any]) -> None:
        """Queue an incoming update for getUpdates."""
        with self._cond:
            self._updates.append(dict(update))
            self._cond.notify_all()

    def pending_updates(self) -> int:
        """Updates not yet confirmed by a getUpdates offset."""
        with self._cond:
            return len(self._updates)

    def wait_for(self, predicate: Callable[[SentRecord], bool], timeout: float = 5.0) -> SentRecord:
        """The first recorded call matching ``predicate``, waiting up to ``timeout`` seconds (else TimeoutError)."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                found = next((record for record in self._sent if predicate(record)), None)
                remaining = deadline - time.monotonic()
                if found is not None:
                    return found
                if remaining <= 0:
                    raise TimeoutError(f"no matching Telegram call within {timeout}s ({len(self._sent)} recorded)")
                self._cond.wait(remaining)

    def handle(self, request: HttpRequest) -> HttpResponse:
        """Answer one Bot API or file request."""
        path = unquote(request.path)
        if path.startswith("/chat/"):
            return self.chat.handle(request)  # `ganger chat`: loopback clients only
        file_match = _FILE_PATH.match(path)
        if file_match:
            return self._download(file_match.group("token"), file_match.group("path"))
        match = _API_PATH.match(path)
        if match is None:
            return fail(404, "Not Found")
        if match.group("token") != self._token:
            return fail(401, "Unauthorized")
        method = match.group("method").lower()
        implementation = self._methods.get(method)
        if implementation is None:
            return fail(404, "Not Found")
        try:
            form = parse_form(request)
            result = implementation(form)
        except BotApiError as exc:
            return fail(exc.code, exc.description)
        except ValueError as exc:
            return fail(400, f"Bad Request: {exc}")
        return ok(result)

    def _download(self, token: str, path: str) -> HttpResponse:
        if token != self._token:
            return fail(401, "Unauthorized")
        with self._cond:
            stored = next((f for f in self._files.values() if f.file_path == path), None)
        if stored is None:
            return fail(404, "Not Found")
        return HttpResponse(200, stored.data, (("Content-Type", "application/octet-stream"),))

    def _record(self, record: SentRecord) -> None:
        with self._cond:
            self._sent.append(replace(record, at=time.time()))
            self._cond.notify_all()

    def wait_for_more(self, seen: int, timeout: float) -> None:
        """Block until more than ``seen`` calls are recorded, or ``timeout`` seconds pass."""
        with self._cond:
            self._cond.wait_for(lambda: len(self._sent) > seen or self._stopping, max(0.0, timeout))

    def _bot_user(self) -> JsonDict:
        return {"id": self.bot_id, "is_bot": True, "first_name": "Ganger", "username": self.bot_username}

    def _get_me(self, form: FormData) -> JsonDict:
        return {**self._bot_user(), "can_join_groups": True, "can_read_all_group_messages": False}

    def _message(self, chat_id: int | str | None, **content: Any) -> JsonDict:
        if chat_id is None or chat_id == "":
            raise BotApiError(400, "Bad Request: chat_id is empty")
        numeric = chat_id if isinstance(chat_id, int) else -1_001_000_000_001
        chat: JsonDict = {"id": numeric, "type": "private" if numeric > 0 else "supergroup"}
        if numeric <= 0:
            chat["title"] = str(chat_id)
        return {
            "message_id": next(self._message_ids),
            "date": int(self._now()),
            "chat": chat,
            "from": self._bot_user(),
            **{k: v for k, v in content.items() if v is not None},
        }

    def _send_message(self, form: FormData) -> JsonDict:
        text = form.fields.get("text")
        if not text:
            raise BotApiError(400, "Bad Request: message text is empty")
        chat_id = chat_id_of(form.fields.get("chat_id"))
        markup = json_field(form.fields.get("reply_markup"))
        message = self._message(chat_id, text=text, reply_markup=returned_markup(markup))
        self._record(
            SentRecord(
                "sendMessage",
                chat_id,
                text=text,
                reply_markup=markup,
                message_id=message["message_id"],
                params=dict(form.fields),
            )
        )
        return message

    def _send_media(self, field_name: str, form: FormData) -> JsonDict:
        chat_id = chat_id_of(form.fields.get("chat_id"))
        stored, data, ref = self._media_source(field_name, form)
        caption = form.fields.get("caption")
        markup = json_field(form.fields.get("reply_markup"))
        message = self._message(
            chat_id, caption=caption, reply_markup=returned_markup(markup), **{field_name: media_json(stored)}
        )
        method = "send" + field_name.capitalize()
        self._record(
            SentRecord(
                method,
                chat_id,
                caption=caption,
                reply_markup=markup,
                media=data,
                media_ref=ref,
                message_id=message["message_id"],
                params=dict(form.fields),
            )
        )
        return message

    def _media_source(self, field_name: str, form: FormData) -> tuple[StoredFile, bytes | None, str | None]:
        """The file being sent: uploaded now, an existing ``file_id``, or a URL Telegram would fetch."""
        upload = form.files.get(field_name)
        reference = form.fields.get(field_name, "")
        if upload is None and reference.startswith("attach://"):
            upload = form.files.get(reference.removeprefix("attach://"))
        if upload is not None:
            file_id = self.add_file(
                upload.data, kind=field_name, file_name=upload.filename, mime_type=upload.content_type
            )
            return self._files[file_id], upload.data, None
        known = self.file(reference)
        if known is not None:
            return known, None, reference
        if reference.startswith(("http://", "https://")):
            file_id = self.add_file(b"", kind=field_name)
            return self._files[file_id], None, reference
        raise BotApiError(400, "Bad Request: wrong file identifier/HTTP URL specified")

    def _send_chat_action(self, form: FormData) -> bool:
        chat_id = chat_id_of(form.fields.get("chat_id"))
        self._record(SentRecord("sendChatAction", chat_id, text=form.fields.get("action"), params=dict(form.fields)))
        return True

    def _answer_callback_query(self, form: FormData) -> bool:
        if not form.fields.get("callback_query_id"):
            raise BotApiError(400, "Bad Request: query is too old and response timeout expired or query ID is invalid")
        self._record(SentRecord("answerCallbackQuery", None, text=form.fields.get("text"), params=dict(form.fields)))
        return True

    def _edit_message_text(self, form: FormData) -> JsonDict | bool:
        text = form.fields.get("text")
        if not text:
            raise BotApiError(400, "Bad Request: message text is empty")
        markup = json_field(form.fields.get("reply_markup"))
        message_id = int(form.fields["message_id"]) if form.fields.get("message_id") else None
        chat_id = chat_id_of(form.fields.get("chat_id"))
        self._record(
            SentRecord(
                "editMessageText",
                chat_id,
                text=text,
                reply_markup=markup,
                message_id=message_id,
                params=dict(form.fields),
            )
        )
        if form.fields.get("inline_message_id"):
            return True
        message = self._message(chat_id, text=text, reply_markup=returned_markup(markup), edit_date=int(self._now()))
        return {**message, "message_id": message_id or message["message_id"]}

    def _set_webhook(self, form: FormData) -> bool:
        info = WebhookInfo(form.fields.get("url", ""), form.fields.get("secret_token"))
        with self._cond:
            self._webhook = info
            if form.fields.get("drop_pending_updates") in ("true", "True", "1"):
                self._updates.clear()
        self._record(SentRecord("setWebhook", None, params={"url": info.url}))
        return True

    def _delete_webhook(self, form: FormData) -> bool:
        with self._cond:
            self._webhook = WebhookInfo()
            if form.fields.get("drop_pending_updates") in ("true", "True", "1"):
                self._updates.clear()
        self._record(SentRecord("deleteWebhook", None))
        return True

    def _get_webhook_info(self, form: FormData) -> JsonDict:
        with self._cond:
            return {
                "url": self._webhook.url,
                "has_custom_certificate": False,
                "pending_update_count": len(self._updates),
            }

    def _get_file(self, form: FormData) -> JsonDict:
        stored = self.file(form.fields.get("file_id", ""))
        if stored is None:
            raise BotApiError(400, "Bad Request: invalid file_id")
        return {
            "file_id": stored.file_id,
            "file_unique_id": unique_id(stored.file_id),
            "file_size": len(stored.data),
            "file_path": stored.file_path,
        }

    def _get_updates(self, form: FormData) -> list[JsonDict]:
        offset = int(form.fields.get("offset") or 0)
        limit = min(100, int(form.fields.get("limit") or 100))
        timeout = min(self._max_poll, float(form.fields.get("timeout") or 0))
        with self._cond:
            if self._webhook.url:
                raise BotApiError(
                    409,
                    "Conflict: can't use getUpdates method while webhook is active; "
                    "use deleteWebhook to delete the webhook first",
                )
            if offset:
                self._updates = [u for u in self._updates if u["update_id"] >= offset]
            self._cond.wait_for(lambda: bool(self._updates) or self._stopping, timeout)
            return list(self._updates[:limit])
