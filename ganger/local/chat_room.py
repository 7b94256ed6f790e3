"""The fake Bot API's conversation endpoints, for `ganger chat` (loopback clients only).

``POST /chat/send`` builds a real-shaped update from a JSON request (``Content-Type: application/json``
only, which a cross-site form cannot send; a text, a photo, a document or
a press on an inline button of the bot's last question), delivers it to the registered webhook with
its secret token, as Telegram does, and answers with the webhook's status and a cursor.
``GET /chat/messages?chat_id=&after=&wait=`` returns what the bot sent to that chat after the
cursor, waiting up to ``wait`` seconds for the first one (long polling).
"""

from __future__ import annotations

import base64
import binascii
import ipaddress
import json
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from ganger.local.http_server import HttpRequest, HttpResponse
from ganger.local.telegram_updates import UpdateBuilder

if TYPE_CHECKING:
    from ganger.local.telegram_fake import FakeTelegram, SentRecord

JsonDict = dict[str, Any]
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
MAX_WAIT_SECONDS = 60.0
JSON_ONLY = "Content-Type: application/json is required"


class ChatRequestError(ValueError):
    """A conversation request that cannot be served (the message names the field)."""


def _is_json(request: HttpRequest) -> bool:
    media = (request.header("Content-Type") or "").split(";")[0].strip().lower()
    return media == "application/json"


def _loopback(address: str) -> bool:
    try:
        return ipaddress.ip_address(address).is_loopback
    except ValueError:
        return False


def message_json(index: int, record: SentRecord, since: float) -> JsonDict:
    """One thing the bot sent, for the client: text, buttons, media (base64) and when."""
    markup: JsonDict = record.reply_markup if isinstance(record.reply_markup, dict) else {}
    rows = markup.get("inline_keyboard") or markup.get("keyboard") or []
    buttons = [[b.get("text", "") for b in row] for row in rows]
    found: JsonDict = {
        "index": index,
        "method": record.method,
        "message_id": record.message_id,
        "text": record.text or record.caption or "",
        "buttons": buttons,
        "seconds": round(max(0.0, record.at - since), 2) if since else None,
    }
    reply = record.params.get("reply_parameters")
    if reply:
        found["reply_to"] = json.loads(reply).get("message_id")
    if record.media:
        found["media"] = base64.b64encode(record.media).decode()
    return found


class ChatRoom:
    def __init__(self, telegram: FakeTelegram, now: Callable[[], float] = time.time) -> None:
        self._telegram = telegram
        self._now = now
        seed = int(now()) % 1_000_000
        self._updates = UpdateBuilder(first_update_id=900_000_000 + seed * 100, first_message_id=500_000, now=now)
        self._sent_at: dict[int, float] = {}  # chat id -> when its last update was delivered

    def handle(self, request: HttpRequest) -> HttpResponse:
        if not _loopback(request.client_ip):
            return HttpResponse.json(403, json.dumps({"ok": False, "description": "loopback clients only"}))
        try:
            if request.method == "POST" and request.path == "/chat/send":
                if not _is_json(request):  # a cross-site form or text/plain POST cannot set this type
                    return HttpResponse.json(415, json.dumps({"ok": False, "description": JSON_ONLY}))
                return self._json(self.send(json.loads(request.body or b"{}")))
            if request.method == "GET" and request.path == "/chat/messages":
                params = {k: v[-1] for k, v in request.query_params().items()}
                return self._json(self.messages(params))
        except (ChatRequestError, ValueError, KeyError) as exc:
            return HttpResponse.json(400, json.dumps({"ok": False, "description": str(exc)}))
        return HttpResponse.json(404, json.dumps({"ok": False, "description": "Not Found"}))

    @staticmethod
    def _json(result: JsonDict) -> HttpResponse:
        return HttpResponse.json(200, json.dumps({"ok": True, **result}))

    # ---- sending ---------------------------------------------------------------------------------

    def send(self, body: JsonDict) -> JsonDict:
        user_id = int(body.get("user_id") or 0)
        if user_id <= 0:
            raise ChatRequestError("user_id: a positive Telegram user id is needed")
        chat_id = int(body.get("chat_id") or user_id)
        update = self.build(body, chat_id, user_id)
        cursor = len(self._telegram.sent)
        sent_at = self._now()
        self._sent_at[chat_id] = sent_at
        status, answer = self.deliver(update)
        return {"status": status, "webhook": answer, "cursor": cursor, "update_id": update["update_id"]}

    def build(self, body: JsonDict, chat_id: int, user_id: int) -> JsonDict:
        text = str(body.get("text") or "")
        if body.get("press"):
            return self._press(str(body["press"]), chat_id, user_id)
        for kind in ("photo", "document"):
            if body.get(kind):
                return self._file(kind, body, chat_id, user_id, text)
        if not text:
            raise ChatRequestError("text: say something, or send a photo, a document or a press")
        return self._updates.text(text, chat_id=chat_id, user_id=user_id, first_name="Chat")

    def _file(self, kind: str, body: JsonDict, chat_id: int, user_id: int, caption: str) -> JsonDict:
        try:
            data = base64.b64decode(str(body[kind]), validate=True)
        except (binascii.Error, ValueError) as exc:
            raise ChatRequestError(f"{kind}: not base64") from exc
        if kind == "photo":
            spec = self._telegram.add_photo(
                data, width=int(body.get("width") or 1280), height=int(body.get("height") or 960)
            )
            return self._updates.photo([spec], chat_id=chat_id, user_id=user_id, caption=caption or None)
        name = str(body.get("file_name") or "file")
        mime = str(body.get("mime_type") or "application/octet-stream")
        file_id = self._telegram.add_file(data, file_name=name, mime_type=mime)
        return self._updates.document(
            file_id, chat_id=chat_id, user_id=user_id, file_name=name, mime_type=mime, file_size=len(data)
        )

    def _press(self, label: str, chat_id: int, user_id: int) -> JsonDict:
        """A press on the button labelled ``label`` of the bot's latest message that has inline buttons."""
        for record in reversed(self._telegram.sent):
            markup = record.reply_markup if isinstance(record.reply_markup, dict) else {}
            if str(record.chat_id) != str(chat_id) or "inline_keyboard" not in markup:
                continue
            for row in markup["inline_keyboard"]:
                for button in row:
                    if str(button.get("text", "")).lower() == label.lower() and record.message_id:
                        return self._updates.callback_query(
                            str(button.get("callback_data", "")),
                            chat_id=chat_id,
                            message_id=record.message_id,
                            user_id=user_id,
                            message_text=record.text or "",
                            bot_id=self._telegram.bot_id,
                        )
            labels = [str(b.get("text", "")) for row in markup["inline_keyboard"] for b in row]
            raise ChatRequestError(f"press: no button {label!r} on the last question (buttons: {', '.join(labels)})")
        raise ChatRequestError("press: the bot has asked no question with buttons in this chat")

    def deliver(self, update: JsonDict) -> tuple[int, Any]:
        """POST the update to the webhook with the secret token, as Telegram does."""
        webhook = self._telegram.webhook
        if not webhook.url:
            raise ChatRequestError("no webhook is set: is `ganger local` running with the fake Bot API?")
        headers = {"Content-Type": "application/json"}
        if webhook.secret_token:
            headers[SECRET_HEADER] = webhook.secret_token
        request = urllib.request.Request(webhook.url, data=json.dumps(update).encode(), headers=headers, method="POST")
        try:
            with urllib.request.urlopen(request, timeout=120) as response:  # loopback: the local API front
                return response.status, json.loads(response.read() or b"null")
        except urllib.error.HTTPError as exc:
            return exc.code, exc.read().decode(errors="replace")[:500]

    # ---- reading ---------------------------------------------------------------------------------

    def messages(self, params: dict[str, str]) -> JsonDict:
        chat_id = str(int(params["chat_id"]))
        after = int(params.get("after") or 0)
        wait = min(MAX_WAIT_SECONDS, float(params.get("wait") or 0))

        def mine(record: SentRecord) -> bool:
            return str(record.chat_id) == chat_id

        deadline = time.monotonic() + wait
        while True:
            sent = self._telegram.sent
            found = [(i, r) for i, r in enumerate(sent) if i >= after and mine(r)]
            if found or time.monotonic() >= deadline:
                break
            self._telegram.wait_for_more(len(sent), deadline - time.monotonic())
        since = self._sent_at.get(int(chat_id), 0.0)
        return {"messages": [message_json(i, r, since) for i, r in found], "cursor": len(sent)}
