"""Long-polls a real (or fake) Telegram Bot API and forwards updates to the local webhook.

A machine without a public URL cannot receive Telegram webhooks; this poller calls
``getUpdates`` instead and POSTs each update to the local webhook URL with the
``X-Telegram-Bot-Api-Secret-Token`` header, so the bot's webhook code runs unchanged.
"""

from __future__ import annotations

import http.client
import json
import logging
import socket
import threading
from collections.abc import Sequence
from typing import Any
from urllib.parse import urlsplit

logger = logging.getLogger(__name__)

TELEGRAM_API_ROOT = "https://api.telegram.org"
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"


class TelegramApiError(Exception):
    """getUpdates or deleteWebhook answered ``ok: false``."""

    def __init__(self, code: int, description: str) -> None:
        self.code = code
        self.description = description
        super().__init__(f"Telegram API error {code}: {description}")


class TelegramPoller:
    """Forwards updates from ``getUpdates`` to a webhook URL, from a background thread.

    Args:
        token: The bot token (never logged).
        webhook_url: Where updates are POSTed, e.g. the API front's Telegram route.
        secret_token: Sent as ``X-Telegram-Bot-Api-Secret-Token`` when given.
        base_url: The Bot API root (``https://api.telegram.org`` or ``FakeTelegram.api_root``).
        poll_timeout: Long-poll seconds per getUpdates call.
        retry_delay: Seconds to wait after a failed poll.
        forward_attempts: Tries per update before it is logged and skipped.
        allowed_updates: Update types to ask for; None keeps Telegram's default.
    """

    def __init__(
        self,
        token: str,
        webhook_url: str,
        *,
        secret_token: str | None = None,
        base_url: str = TELEGRAM_API_ROOT,
        poll_timeout: int = 20,
        retry_delay: float = 2.0,
        forward_attempts: int = 3,
        allowed_updates: Sequence[str] | None = None,
    ) -> None:
        self._token = token
        self._webhook_url = webhook_url
        self._secret = secret_token
        self._base = base_url.rstrip("/")
        self._poll_timeout = poll_timeout
        self._retry_delay = retry_delay
        self._attempts = forward_attempts
        self._allowed = list(allowed_updates) if allowed_updates is not None else None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._active: http.client.HTTPConnection | None = None
        self._active_lock = threading.Lock()
        self.offset = 0
        self.forwarded = 0
        self.failed = 0

    def start(self) -> None:
        """Delete any webhook (getUpdates refuses to work while one is set), then poll."""
        if self._thread is not None:
            raise RuntimeError("TelegramPoller already started")
        self._call("deleteWebhook", {"drop_pending_updates": False}, timeout=30)
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="ganger-telegram-poller")
        self._thread.start()
        logger.info("polling Telegram updates into %s", self._webhook_url)

    def stop(self) -> None:
        """Interrupt the long poll, join the thread, and confirm forwarded updates to Telegram."""
        if self._thread is None:
            return
        self._stop.set()
        self._interrupt()
        self._thread.join()
        self._thread = None
        if self.offset:
            try:
                self._call("getUpdates", {"offset": self.offset, "timeout": 0, "limit": 1}, timeout=10)
            except (OSError, TelegramApiError, ValueError) as exc:
                logger.warning("could not confirm forwarded updates: %s", exc)

    def poll_once(self, timeout: int | None = None) -> int:
        """One getUpdates call; forwards what it returns and returns how many updates came."""
        wait = self._poll_timeout if timeout is None else timeout
        params: dict[str, Any] = {"offset": self.offset, "timeout": wait}
        if self._allowed is not None:
            params["allowed_updates"] = self._allowed
        updates = self._call("getUpdates", params, timeout=wait + 10)
        for update in updates:
            if self._stop.is_set() and self._thread is not None:
                break
            self._forward(update)
            self.offset = int(update["update_id"]) + 1
        return len(updates)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self.poll_once()
            except (OSError, http.client.HTTPException, TelegramApiError, ValueError) as exc:
                if self._stop.is_set():
                    break
                logger.warning("getUpdates failed (%s); retrying in %.1fs", exc, self._retry_delay)
                self._stop.wait(self._retry_delay)

    def _forward(self, update: dict[str, Any]) -> None:
        headers = {SECRET_HEADER: self._secret} if self._secret else {}
        for attempt in range(1, self._attempts + 1):
            try:
                status, _ = self._post(self._webhook_url, update, headers, timeout=60, track=False)
            except (OSError, http.client.HTTPException) as exc:
                status, reason = 0, str(exc)
            else:
                reason = f"HTTP {status}"
            if 200 <= status < 300:
                self.forwarded += 1
                return
            logger.warning("forwarding update %s failed (%s), attempt %d", update.get("update_id"), reason, attempt)
            if self._stop.wait(min(self._retry_delay * attempt, 10)):
                break
        self.failed += 1
        logger.error("update %s dropped after %d attempts", update.get("update_id"), self._attempts)

    def _call(self, method: str, params: dict[str, Any], *, timeout: float) -> Any:
        status, body = self._post(f"{self._base}/bot{self._token}/{method}", params, {}, timeout=timeout, track=True)
        document = json.loads(body)
        if not document.get("ok"):
            raise TelegramApiError(int(document.get("error_code", status)), str(document.get("description", "")))
        return document["result"]

    def _post(
        self, url: str, payload: Any, headers: dict[str, str], *, timeout: float, track: bool
    ) -> tuple[int, bytes]:
        parts = urlsplit(url)
        connection_type = http.client.HTTPSConnection if parts.scheme == "https" else http.client.HTTPConnection
        connection = connection_type(parts.netloc, timeout=timeout)
        if track:
            with self._active_lock:
                self._active = connection
        try:
            path = parts.path + (f"?{parts.query}" if parts.query else "")
            body = json.dumps(payload).encode("utf-8")
            connection.request("POST", path, body, {"Content-Type": "application/json", **headers})
            response = connection.getresponse()
            return response.status, response.read()
        finally:
            if track:
                with self._active_lock:
                    self._active = None
            connection.close()

    def _interrupt(self) -> None:
        """Unblock a long poll in progress by shutting its socket down."""
        with self._active_lock:
            connection = self._active
        sock = getattr(connection, "sock", None)
        if isinstance(sock, socket.socket):
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                logger.debug("poll socket already closed")
