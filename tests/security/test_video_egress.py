"""Issue 25, finding 7: the video downloader reaches public internet addresses only, on every hop. A link to
127.0.0.1, or a public-looking host that redirects there, is refused with a clear reply and no retry; the
server behind it gets no request. Only an explicitly allowed address and port (local mode's demo clip
server) is reached (tests/functional/processors/video)."""

from __future__ import annotations

import http.server
import importlib
import ipaddress
import socket
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from ganger.documents import validate
from ganger.errors import ConfigError
from ganger.local.telegram_updates import UpdateBuilder
from processors.demo.scenarios import DATA_DIR
from processors.video.download import Limits, VideoRejected, download
from processors.video.egress import EgressGuard, is_public, parse_destination
from tests.functional.processors.conftest import USER, Bot

REFUSED = (
    "Sorry, I could not get that video: the link leads to 127.0.0.1, which is not on the public internet; "
    "I only download from public addresses."
)


LIMITS = Limits(max_bytes=5 * 1024 * 1024, max_duration_seconds=600, timeout_seconds=30)


class Site:
    """A loopback web server that counts its requests: serves the clip, or redirects every path to ``to``."""

    def __init__(self, to: str = "") -> None:
        self.requests: list[str] = []
        site = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                site.requests.append(self.path)
                if to:
                    self.send_response(302)
                    self.send_header("Location", to)
                    self.end_headers()
                    return
                body = (DATA_DIR / "clip.mp4").read_bytes()
                self.send_response(200)
                self.send_header("Content-Type", "video/mp4")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = int(self.server.server_address[1])
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> Site:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()


def _allow(bot: Bot, *destinations: str) -> None:
    stored = bot.system.config.get("video_worker_config")
    assert stored is not None
    bot.put_config("video_worker_config", {**stored.value, "allowed_private_destinations": list(destinations)})


def _ask(bot: Bot, url: str) -> None:
    bot.send(UpdateBuilder().text(url, chat_id=USER))
    bot.settle(3)


def _ended_once_without_retry(bot: Bot) -> dict[str, Any]:
    (task,) = bot.system.scan("sosw_closed_tasks")
    assert task["labourer_id_task_status"] == "video_worker_1" and task["attempts"] == 1
    assert bot.system.scan("sosw_retry_tasks") == [] and bot.system.scan("sosw_tasks") == []
    return task


def test_a_link_to_loopback_is_refused_and_the_server_gets_no_request(bot: Bot) -> None:
    with Site() as site:
        _ask(bot, f"http://127.0.0.1:{site.port}/clip.mp4")
    assert bot.texts_to(USER)[-1] == REFUSED
    assert site.requests == []
    assert _ended_once_without_retry(bot)["result_error"].startswith("the link leads to 127.0.0.1")
    assert [r.method for r in bot.sent_to(USER)] == ["sendMessage", "sendMessage"]  # no video


@pytest.fixture
def public_looking_host(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """``videos.example`` resolves to 127.0.0.1 (a resolver override: the tests stay offline)."""
    real = socket.getaddrinfo

    def resolve(host: Any, *args: Any, **kwargs: Any) -> Any:
        return real("127.0.0.1" if host == "videos.example" else host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", resolve)
    yield "videos.example"


def test_a_redirect_to_loopback_is_refused_on_its_hop(bot: Bot, public_looking_host: str) -> None:
    """The first host is allowed (it stands for a public site); its redirect to 127.0.0.1 is not."""
    with Site() as clip, Site(to=f"http://127.0.0.1:{clip.port}/clip.mp4") as redirector:
        _allow(bot, f"127.0.0.1:{redirector.port}")
        _ask(bot, f"http://{public_looking_host}:{redirector.port}/watch")
    assert redirector.requests  # the first hop was made...
    assert clip.requests == []  # ...the redirect's was not
    assert bot.texts_to(USER)[-1] == REFUSED
    _ended_once_without_retry(bot)


def test_the_same_redirect_to_an_allowed_destination_downloads(bot: Bot, public_looking_host: str) -> None:
    with Site() as clip, Site(to=f"http://127.0.0.1:{clip.port}/clip.mp4") as redirector:
        _allow(bot, f"127.0.0.1:{redirector.port}", f"127.0.0.1:{clip.port}")
        _ask(bot, f"http://{public_looking_host}:{redirector.port}/watch")
    assert clip.requests
    (video,) = [r for r in bot.sent_to(USER) if r.method == "sendVideo"]
    assert video.media == (DATA_DIR / "clip.mp4").read_bytes()


@pytest.mark.parametrize(
    "address",
    ["127.0.0.1", "10.1.2.3", "172.16.0.1", "192.168.1.1", "169.254.169.254", "100.64.0.1", "0.0.0.0",
     "224.0.0.1", "::1", "fe80::1", "fc00::1", "::ffff:127.0.0.1", "::ffff:10.0.0.1"],
)  # fmt: skip
def test_non_global_addresses_are_not_public(address: str) -> None:
    assert not is_public(ipaddress.ip_address(address))


@pytest.mark.parametrize("address", ["8.8.8.8", "1.1.1.1", "2606:4700:4700::1111", "::ffff:8.8.8.8"])
def test_global_addresses_are_public(address: str) -> None:
    assert is_public(ipaddress.ip_address(address))


def test_the_allowlist_takes_an_address_and_port_only() -> None:
    assert parse_destination("[::1]:8000") == (ipaddress.ip_address("::1"), 8000)
    with pytest.raises(ConfigError, match=r"allowed_private_destinations: '10\.0\.0\.0/8' is not an IP address"):
        validate("video_worker_config", {"allowed_private_destinations": ["10.0.0.0/8"]})


@pytest.mark.parametrize("handler", ["Urllib", "Requests"])  # Lambda's package ships urllib only
def test_each_http_handler_of_yt_dlp_is_checked_on_the_redirect(
    handler: str, public_looking_host: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    handlers = importlib.import_module("yt_dlp.YoutubeDL")._REQUEST_HANDLERS
    monkeypatch.setattr(importlib.import_module("yt_dlp.YoutubeDL"), "_REQUEST_HANDLERS", {handler: handlers[handler]})
    with Site() as clip, Site(to=f"http://127.0.0.1:{clip.port}/clip.mp4") as redirector:
        guard = EgressGuard.allowing([f"127.0.0.1:{redirector.port}"])
        with pytest.raises(VideoRejected, match=r"the link leads to 127\.0\.0\.1"):
            download(f"http://{public_looking_host}:{redirector.port}/watch", tmp_path, LIMITS, guard)
        assert redirector.requests and clip.requests == []
        allowed = EgressGuard.allowing([f"127.0.0.1:{redirector.port}", f"127.0.0.1:{clip.port}"])
        video = download(f"http://{public_looking_host}:{redirector.port}/watch", tmp_path / "ok", LIMITS, allowed)
    assert video.path.read_bytes() == (DATA_DIR / "clip.mp4").read_bytes()
