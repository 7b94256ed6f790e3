"""One demo scenario per processor, for ``ganger local --demo`` (and the functional tests).

Each scenario sends real Telegram update JSON to the webhook over HTTP, lets the system work, and
reports what a user would see: the bot's replies (recorded by the fake Bot API) and the records
stored. The caller provides a ``DemoContext``:

- ``webhook_url`` / ``webhook_secret``: the API front's ``POST /webhook`` and the secret Telegram
  would send in ``X-Telegram-Bot-Api-Secret-Token``;
- ``telegram``: the ``FakeTelegram`` the processors send to (their ``telegram.base_url`` points at it);
- ``clients``: boto3 clients of the embedded AWS (``AwsClients``);
- ``settle()``: returns when queued work is done (in tests: a few ``tick()``; in local mode: wait
  until the Orchestrator has nothing queued or running);
- ``advance(seconds)``: moves the system's virtual clock, or None when time is real (the dev-box
  scenario then skips the auto-shutdown part);
- ``now()``: the system's clock (the auto-shutdown job's id carries it);
- ``user_id``: an allowed Telegram user (the scenarios add it to the config documents they need).

``run_all(ctx)`` runs every scenario and never raises: a failing scenario is reported as not ok.
"""

from __future__ import annotations

import datetime
import functools
import http.server
import json
import logging
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ganger.clients import AwsClients
from ganger.config import ConfigStore
from ganger.constants import LOCAL_CHAT_USER
from ganger.schema import merge
from ganger.telegram import SECRET_HEADER
from processors.devbox.local_boxes import make_box

if TYPE_CHECKING:
    from ganger.local.telegram_fake import FakeTelegram, SentRecord

logger = logging.getLogger(__name__)
DATA_DIR = Path(__file__).resolve().parents[2].parent / "shared" / "data"
DEMO_USER = LOCAL_CHAT_USER
VIDEO_CONFIG = "video_worker_config"
ALLOWLIST = "allowed_private_destinations"  # the video worker's, for the demo's local clip server


@dataclass
class DemoContext:
    webhook_url: str
    webhook_secret: str
    telegram: FakeTelegram
    clients: AwsClients
    settle: Callable[[], None]
    advance: Callable[[float], None] | None = None
    now: Callable[[], float] = time.time
    user_id: int = DEMO_USER
    data_dir: Path = DATA_DIR
    _update_ids: Iterator[int] = field(default_factory=lambda: iter(range(700_000_000, 800_000_000)))
    _message_ids: Iterator[int] = field(default_factory=lambda: iter(range(50_000, 10**9)))


@dataclass(frozen=True)
class ScenarioResult:
    name: str
    ok: bool
    summary: str
    replies: list[str] = field(default_factory=list)
    records: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Scenario:
    name: str
    description: str
    run: Callable[[DemoContext], ScenarioResult]


# ---- talking to the webhook -------------------------------------------------------------------


def text_update(
    ctx: DemoContext, text: str, *, user_id: int | None = None, date: float | None = None
) -> dict[str, Any]:
    """A real private-chat text Update (commands get their ``bot_command`` entity)."""
    user = user_id or ctx.user_id
    message: dict[str, Any] = {
        "message_id": next(ctx._message_ids),
        "from": {"id": user, "is_bot": False, "first_name": "Demo", "username": f"demo{user}", "language_code": "en"},
        "chat": {"id": user, "first_name": "Demo", "username": f"demo{user}", "type": "private"},
        "date": int(date if date is not None else datetime.datetime.now(datetime.UTC).timestamp()),
        "text": text,
    }
    if text.startswith("/"):
        message["entities"] = [{"offset": 0, "length": len(text.split()[0]), "type": "bot_command"}]
    return {"update_id": next(ctx._update_ids), "message": message}


def photo_update(ctx: DemoContext, photo: bytes, width: int, height: int) -> dict[str, Any]:
    """A photo Update: a thumbnail and the full size, registered with the fake Bot API."""
    update = text_update(ctx, "")
    message = update["message"]
    del message["text"]
    sizes = [
        ctx.telegram.add_photo(photo[:2048], width=width // 8, height=height // 8),
        ctx.telegram.add_photo(photo, width=width, height=height),
    ]
    message["photo"] = [size.to_json() for size in sizes]
    return update


def post_update(url: str, secret: str | None, update: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    """POST an update as Telegram does; returns the status and the JSON answer."""
    headers = {"Content-Type": "application/json"}
    if secret is not None:
        headers[SECRET_HEADER] = secret
    request = urllib.request.Request(url, data=json.dumps(update).encode(), headers=headers, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.status, json.loads(response.read() or b"{}")
    except urllib.error.HTTPError as exc:
        body = exc.read()
        return exc.code, json.loads(body) if body.startswith(b"{") else {}


def send(ctx: DemoContext, update: dict[str, Any]) -> int:
    status, _ = post_update(ctx.webhook_url, ctx.webhook_secret, update)
    return status


def replies_to(ctx: DemoContext, chat_id: int, since: int = 0) -> list[SentRecord]:
    return [r for r in ctx.telegram.sent[since:] if str(r.chat_id) == str(chat_id)]


def texts(records: list[SentRecord]) -> list[str]:
    return [r.text or r.caption or "" for r in records]


def update_config(ctx: DemoContext, name: str, change: dict[str, Any]) -> None:
    """Merge ``change`` into a config document (lists of users are extended, not replaced)."""
    store = ConfigStore(ctx.clients.dynamodb)
    stored = store.get(name)
    value = stored.value if stored else {}
    if "allowed_users" in change:
        change = {**change, "allowed_users": sorted(set(value.get("allowed_users", [])) | set(change["allowed_users"]))}
    store.put(name, merge(value, change))


def allow_user(ctx: DemoContext) -> None:
    update_config(ctx, "telegram_bot_config", {"allowed_users": [ctx.user_id]})


@contextmanager
def serve_directory(directory: Path) -> Iterator[str]:
    """A loopback HTTP server for a folder (the video scenario's "website")."""
    handler = functools.partial(_QuietHandler, directory=str(directory))
    server = _MediaServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, name="demo-media", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


@contextmanager
def clip_site(ctx: DemoContext, directory: Path) -> Iterator[str]:
    """The demo's local clip server, on the video worker's allowlist while it runs: the worker reaches only
    public addresses otherwise (``processors.video.egress``). The demo runs in local mode only."""
    store = ConfigStore(ctx.clients.dynamodb)

    def set_allowed(extra: list[str]) -> None:
        stored = store.get(VIDEO_CONFIG)
        value = stored.value if stored else {}
        store.put(VIDEO_CONFIG, {**value, ALLOWLIST: [*before, *extra]})

    stored = store.get(VIDEO_CONFIG)
    before = list(stored.value.get(ALLOWLIST, [])) if stored else []
    with serve_directory(directory) as site:
        set_allowed([urllib.parse.urlsplit(site).netloc])
        try:
            yield site
        finally:
            set_allowed([])


class _MediaServer(http.server.ThreadingHTTPServer):
    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client that hangs up mid-file (yt-dlp probes a file, then reads it again) is no error; the rest are
        printed as the standard server does."""
        if isinstance(sys.exc_info()[1], (ConnectionResetError, BrokenPipeError)):
            logger.debug("media server: %s hung up", client_address)
            return
        super().handle_error(request, client_address)


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        logger.debug("media server: " + format, *args)


# ---- the scenarios ----------------------------------------------------------------------------


def feedings_scenario(ctx: DemoContext) -> ScenarioResult:
    allow_user(ctx)
    afternoon = datetime.datetime.now(datetime.UTC).replace(hour=7, minute=0, second=0, microsecond=0)  # 15:00 SGT
    start = len(ctx.telegram.sent)
    send(ctx, text_update(ctx, "12pm 120ml milk", date=afternoon.timestamp()))
    send(ctx, text_update(ctx, "today", date=afternoon.timestamp()))
    replies = texts(replies_to(ctx, ctx.user_id, start))
    ok = len(replies) == 2 and "Total drank = " in replies[-1] and "120 ml" in replies[-1]
    return ScenarioResult("feedings", ok, replies[-1].splitlines()[-1] if replies else "no reply", replies)


def video_scenario(ctx: DemoContext) -> ScenarioResult:
    allow_user(ctx)
    start = len(ctx.telegram.sent)
    with clip_site(ctx, ctx.data_dir) as site:
        send(ctx, text_update(ctx, f"{site}/clip.mp4"))
        ctx.settle()
    sent = replies_to(ctx, ctx.user_id, start)
    videos = [r for r in sent if r.method == "sendVideo" and r.media_size]
    objects = ctx.clients.get("s3").list_objects_v2(Bucket="ganger-media", Prefix=f"videos/{ctx.user_id}/")
    keys = [o["Key"] for o in objects.get("Contents", [])]
    ok = bool(videos) and bool(keys)
    summary = f"sendVideo {videos[-1].media_size} bytes, stored {keys[-1]}" if ok else "no video in the chat"
    return ScenarioResult("video", ok, summary, texts(sent), {"s3_keys": keys})


def image_scenario(ctx: DemoContext) -> ScenarioResult:
    allow_user(ctx)
    start = len(ctx.telegram.sent)
    update = photo_update(ctx, (ctx.data_dir / "pedestrians.jpg").read_bytes(), 768, 576)
    send(ctx, update)
    ctx.settle()
    sent = replies_to(ctx, ctx.user_id, start)
    photos = [r for r in sent if r.method == "sendPhoto"]
    prediction_id = f"{ctx.user_id}-{update['message']['message_id']}"
    item = ctx.clients.dynamodb.get_item(TableName="ganger_predictions", Key={"prediction_id": {"S": prediction_id}})
    labels = item.get("Item", {}).get("labels", {}).get("L", [])
    classes = {label.get("M", {}).get("class", {}).get("S") for label in labels}
    ok = bool(photos) and {"person", "car"} <= classes and "person x" in (photos[-1].caption or "")
    summary = photos[-1].caption or "" if photos else "no annotated image"
    return ScenarioResult("image", ok, summary, texts(sent), {"prediction_id": prediction_id, "labels": len(labels)})


def devbox_scenario(ctx: DemoContext) -> ScenarioResult:
    allow_user(ctx)
    ec2 = ctx.clients.get("ec2")
    instance_id = demo_box(ctx, ec2)
    start = len(ctx.telegram.sent)
    send(ctx, text_update(ctx, "/up"))
    ctx.settle()
    send(ctx, text_update(ctx, "/status"))
    states = [_state(ec2, instance_id)]
    if ctx.advance is not None:
        for minutes in (121, 60):  # past the soft time (warning), then past the hard time (stop)
            ctx.advance(minutes * 60)
            schedule_auto_shutdown(ctx)
            ctx.settle()
        states.append(_state(ec2, instance_id))
    replies = texts(replies_to(ctx, ctx.user_id, start))
    ok = any("is running" in r for r in replies) and states[0] == "running"
    if ctx.advance is not None:
        ok = ok and states[-1] == "stopped" and any("will be stopped automatically" in r for r in replies)
    return ScenarioResult("devbox", ok, f"{instance_id}: {' -> '.join(states)}", replies, {"instance_id": instance_id})


def demo_box(ctx: DemoContext, ec2: Any) -> str:
    """The demo user's default box when the config already names one (``ganger local`` made it at start),
    else a new box put in the config. Changing a box a warm worker has read would not do: the worker keeps
    its config for the TTL, and the hourly sweep, which the demo's fast clock fires, warms it early."""
    stored = ConfigStore(ctx.clients.dynamodb).get("devbox_worker_config")
    users = (stored.value if stored else {}).get("users") or {}
    configured = (users.get(str(ctx.user_id)) or {}).get("instances", {}).get("default")
    if configured:
        return str(configured)
    instance_id = make_box(ec2, "devbox demo")
    update_config(
        ctx,
        "devbox_worker_config",
        {"users": {str(ctx.user_id): {"code": "demo", "instances": {"default": instance_id}}}},
    )
    return instance_id


def _state(ec2: Any, instance_id: str) -> str:
    return str(ec2.describe_instances(InstanceIds=[instance_id])["Reservations"][0]["Instances"][0]["State"]["Name"])


def schedule_auto_shutdown(ctx: DemoContext) -> dict[str, Any]:
    """What the hourly rule delivers to the Scheduler (its InputTransformer applied) at ``ctx.now()``."""
    moment = datetime.datetime.fromtimestamp(ctx.now(), datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    job = {
        "job": {
            "lambda_name": "devbox_worker",
            "job_id": f"devbox-auto-shutdown-{moment}",
            "payload": {"action": "auto_shutdown"},
        }
    }
    response = ctx.clients.lambda_.invoke(FunctionName="sosw_scheduler", Payload=json.dumps(job).encode())
    return dict(json.loads(response["Payload"].read() or b"{}"))


def security_scenario(ctx: DemoContext) -> ScenarioResult:
    """The webhook's guards: a wrong secret is 403, an unknown user is refused, a redelivery is ignored."""
    allow_user(ctx)
    start = len(ctx.telegram.sent)
    forbidden, _ = post_update(ctx.webhook_url, "wrong-secret", text_update(ctx, "/start"))
    stranger = ctx.user_id + 1
    update = text_update(ctx, "/up", user_id=stranger)
    first, second = send(ctx, update), send(ctx, update)
    refused = texts(replies_to(ctx, stranger, start))
    ok = forbidden == 403 and (first, second) == (200, 200) and refused == ["Access denied!"]
    return ScenarioResult("webhook guards", ok, f"wrong secret -> {forbidden}; stranger -> {refused}", refused)


def scenarios() -> list[Scenario]:
    return [
        Scenario("feedings", "12pm 120ml milk, then today: the day's total", feedings_scenario),
        Scenario("video", "a link to a video on a local site: stored in S3, the video in the chat", video_scenario),
        Scenario(
            "image", "a photo of pedestrians: objects counted by class, annotated image in the chat", image_scenario
        ),
        Scenario("devbox", "/up starts an EC2 dev box; the hourly job warns, then stops it", devbox_scenario),
        Scenario("webhook guards", "wrong secret 403, unknown user refused, redelivery ignored", security_scenario),
    ]


def run_all(ctx: DemoContext) -> list[ScenarioResult]:
    results = []
    for scenario in scenarios():
        try:
            results.append(scenario.run(ctx))
        except Exception as exc:  # a demo reports a broken scenario instead of stopping
            logger.exception("demo scenario %s failed", scenario.name)
            results.append(ScenarioResult(scenario.name, False, f"{type(exc).__name__}: {exc}"))
    return results


def local_demo(env: Any) -> list[ScenarioResult]:
    """Entry point for `ganger local --demo` (group ``ganger.demo``): ``env`` carries the local system's
    webhook URL and secret, fake Telegram, clients, a ``settle()`` that waits for queued work, and the
    system itself (its Lambda endpoint). The processors' scenarios, then a fleet scaling out and back."""
    ctx = DemoContext(env.webhook_url, env.webhook_secret, env.telegram, env.clients, env.settle, advance=None)
    return [*run_all(ctx), fleet_scenario(env)]


def fleet_scenario(env: Any) -> ScenarioResult:
    """A fleet labourer scaling out from 0 for a backlog and back in (moto never acts on scaling policies)."""
    from processors.demo.fleet import FleetScenarioContext, run_fleet_scenario

    def minute() -> None:
        for function in ("sosw_orchestrator", "sosw_scavenger"):
            env.clients.lambda_.invoke(FunctionName=function, Payload=b"{}")
        env.system.endpoint.wait_idle(timeout=30)

    context = FleetScenarioContext(env.clients, minute, tasks=16, target_value=4, max_size=3, scale_in_after=1,
                                   max_minutes=30, pause_seconds=0.1)  # fmt: skip
    try:
        result = run_fleet_scenario(context)
    except Exception as exc:  # reported as a failed scenario, like any other
        logger.exception("fleet scenario failed")
        return ScenarioResult("fleet scaling", False, f"{type(exc).__name__}: {exc}")
    return ScenarioResult("fleet scaling", bool(result["ok"]), str(result["summary"]))
