"""The Telegram webhook behind API Gateway, and ``POST /results`` for finished predictions.

``POST /webhook``: the secret header is checked in constant time (403 when missing or wrong); the
update is deduped by id (conditional put + TTL); the sender must be an allowed user (``/start`` and
``/help`` excepted); the message is routed (``processors.telegram_routes``). Quick answers
(``/status``, feedings, ``/jobs``, the shutdown question) are given at once; slow work becomes a
business job through the Scheduler, with a job id derived from the chat and message, so a
redelivered update schedules nothing twice. Every accepted update gets 200, whatever happens.

``POST /results?predictionId=<id>``: sends the prediction's summary and annotated image to its chat,
once.
"""

from __future__ import annotations

import datetime
import json
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import telegram
from botocore.exceptions import BotoCoreError, ClientError

from ganger.config import TypedConfig
from ganger.errors import GangerError
from ganger.processor import Processor, handler_for
from ganger.schema import parse, to_dict
from ganger.telegram import (
    CredentialsSource,
    CredentialsUnavailable,
    Keyboard,
    TelegramApi,
    TelegramFailure,
    TelegramSettings,
    largest_photo,
    parse_update,
    secret_matches,
)
from processors import devbox, devbox_config
from processors.api_events import ApiRequest, response
from processors.chat_jobs import ChatJob, ChatJobs, job_state
from processors.detectors import summary
from processors.feedings import CONFIG_DOCUMENT as FEEDINGS_DOCUMENT
from processors.feedings import Author, FeedingsConfig, FeedingsLog, format_day, format_recorded
from processors.predictions import PredictionStore
from processors.telegram_routes import Kind, Route, route
from processors.update_dedupe import UpdateDedupe

logger = logging.getLogger(__name__)
CONFIG_DOCUMENT = "telegram_bot_config"
ACCESS_DENIED = "Access denied!"
SOMETHING_WRONG = "Something went wrong, please try again..."
HELP_TEXT = (
    "I run jobs for you:\n"
    "- send a link to a video: I download it and send you a link to your copy (/video <words> searches)\n"
    "- send a photo: I find the people in it and send it back annotated\n"
    "- /up, /status, /shutdown: your dev box (/up_windows or /up windows for another instance)\n"
    '- feedings: "12pm 120ml milk", then "today" or "yesterday" for the day\'s total\n'
    "- /jobs: your recent jobs and their states"
)


@dataclass(frozen=True)
class BotLabourers:
    video: str = "video_worker"
    image: str = "image_worker"
    devbox: str = "devbox_worker"


@dataclass(frozen=True)
class TelegramBotConfig:
    telegram: TelegramSettings = field(default_factory=TelegramSettings)
    allowed_users: list[int] = field(default_factory=list)  # nobody when empty (except /start, /help)
    updates_table: str = "ganger_telegram_updates"
    update_ttl_seconds: int = 2 * 86400  # Telegram redelivers for up to 24 hours
    jobs_table: str = "ganger_chat_jobs"
    jobs_shown: int = 10
    media_bucket: str = "ganger-media"
    photos_prefix: str = "photos"
    max_photo_bytes: int = 20 * 1024 * 1024
    predictions_table: str = "ganger_predictions"
    scheduler_function: str = "sosw_scheduler"
    labourers: BotLabourers = field(default_factory=BotLabourers)


class SchedulingFailed(GangerError):
    """The Scheduler did not accept a job."""


@dataclass(frozen=True)
class Reply:
    text: str
    keyboard: Keyboard | None = None


@dataclass(frozen=True)
class Incoming:
    """The parts of a message the bot acts on."""

    update_id: int
    chat_id: int
    user_id: int
    message_id: int
    text: str
    sent_at: datetime.datetime
    author: str
    photo: telegram.PhotoSize | None

    @classmethod
    def from_update(cls, update: telegram.Update) -> Incoming | None:
        message = update.message
        if message is None or message.from_user is None:
            return None  # edits, callbacks, channel posts: nothing to do
        user = message.from_user
        return cls(
            update.update_id,
            message.chat.id,
            user.id,
            message.message_id,
            message.text or message.caption or "",
            message.date,
            user.username or user.first_name,
            largest_photo(message.photo),
        )

    @property
    def job_id(self) -> str:
        return f"tg-{self.chat_id}-{self.message_id}"


class TelegramBot(Processor[TelegramBotConfig]):
    config_class = TelegramBotConfig
    default_function_name = "telegram_bot"

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._credentials = CredentialsSource(self.clients)
        self._siblings: dict[str, TypedConfig[Any]] = {}

    @property
    def telegram(self) -> TelegramApi:
        return TelegramApi(lambda: self.config.telegram, self._credentials)

    def sibling_config(self, name: str, cls: type[Any]) -> Any:
        """Another processor's document (the dev-box and feedings settings live in one place each)."""
        if name not in self._siblings:
            self._siblings[name] = TypedConfig(lambda: self.config_store, name, lambda d: parse(cls, d), to_dict(cls()))
        return self._siblings[name].get()

    # ---- HTTP ----------------------------------------------------------------------------------

    def handle(self, event: Any) -> dict[str, Any]:
        request = ApiRequest.from_event(event)
        if request.method != "POST":
            return response(405, {"error": "method not allowed"})
        if request.route() == "results":
            return self.results(request)
        try:
            return self.webhook(request)
        except Exception as exc:  # a broken config or an AWS outage must not make Telegram redeliver for a day
            logger.exception("webhook failed before routing: %s", type(exc).__name__)
            self.stats["errors"] += 1
            return response(200, {"ok": False})

    def webhook(self, request: ApiRequest) -> dict[str, Any]:
        try:
            credentials = self.telegram.credentials()
        except CredentialsUnavailable as exc:
            logger.error("webhook: %s", exc)
            self.stats["no_credentials"] += 1
            return response(200, {"ok": False})
        if not secret_matches(request.headers, credentials.webhook_secret):
            self.stats["forbidden"] += 1
            return response(403, {"error": "forbidden"})
        try:
            update = parse_update(request.json())
        except ValueError as exc:
            logger.warning("webhook: unusable body: %s", exc)
            return response(200, {"ok": True, "ignored": "malformed"})
        if not self._first_time(credentials.token.split(":", 1)[0], update.update_id):
            self.stats["duplicates"] += 1
            return response(200, {"ok": True, "duplicate": True})
        incoming = Incoming.from_update(update)
        if incoming is not None:
            self._send(incoming.chat_id, self.answer(incoming))
        return response(200, {"ok": True})

    def _first_time(self, bot_id: str, update_id: int) -> bool:
        config = self.config
        try:
            return UpdateDedupe(self.clients.dynamodb, config.updates_table, config.update_ttl_seconds).first_time(
                bot_id, update_id, self.clock()
            )
        except (ClientError, BotoCoreError) as exc:  # the Scheduler still dedupes jobs by id
            logger.error("update dedupe unavailable: %s", type(exc).__name__)
            return True

    def _send(self, chat_id: int, reply: Reply | None) -> None:
        if reply is None:
            return
        try:
            self.telegram.send_message(chat_id, reply.text, reply.keyboard)
        except (TelegramFailure, CredentialsUnavailable) as exc:
            logger.error("reply to chat %s failed: %s", chat_id, exc)
            self.stats["reply_failures"] += 1

    # ---- routing -------------------------------------------------------------------------------

    def answer(self, incoming: Incoming) -> Reply | None:
        """The reply to a message; never raises."""
        target = route(incoming.text, has_photo=incoming.photo is not None)
        self.stats[f"route_{target.kind.value}"] += 1
        if target.kind in (Kind.START, Kind.HELP):
            return Reply(HELP_TEXT)
        if incoming.user_id not in self.config.allowed_users:
            logger.info("refused user %s", incoming.user_id)
            return Reply(ACCESS_DENIED)
        actions: dict[Kind, Callable[[Incoming, Route], Reply | None]] = {
            Kind.VIDEO: self.video,
            Kind.PHOTO: self.photo,
            Kind.JOBS: self.jobs,
            Kind.DEVBOX_UP: self.devbox_up,
            Kind.DEVBOX_STATUS: self.devbox_status,
            Kind.DEVBOX_CONFIRM_SHUTDOWN: self.devbox_confirm,
            Kind.DEVBOX_SHUTDOWN: self.devbox_shutdown,
            Kind.CANCEL: lambda _i, _r: Reply("Canceled", Keyboard(remove=True)),
            Kind.FEEDING: self.feeding,
            Kind.FEEDINGS_DAY: self.feedings_day,
        }
        action = actions.get(target.kind)
        if action is None:
            return Reply("Sorry, I did not understand that.\n\n" + HELP_TEXT) if target.kind is Kind.UNKNOWN else None
        try:
            return action(incoming, target)
        except devbox_config.DevboxAccessError as exc:
            return self._no_devbox(exc)
        except Exception as exc:  # the update is accepted: answer the user, never a non-2xx
            logger.exception("%s for chat %s failed: %s", target.kind.value, incoming.chat_id, type(exc).__name__)
            self.stats["errors"] += 1
            return Reply(SOMETHING_WRONG)

    # ---- slow work: jobs -----------------------------------------------------------------------

    def schedule(
        self, incoming: Incoming, labourer: str, kind: str, summary_text: str, payload: dict[str, Any]
    ) -> bool:
        """Send the job to the Scheduler and remember it for /jobs. False when it was already scheduled."""
        job = {"job": {"lambda_name": labourer, "job_id": incoming.job_id, "payload": payload}}
        result = self.clients.lambda_.invoke(
            FunctionName=self.config.scheduler_function, Payload=json.dumps(job).encode()
        )
        body = json.loads(result["Payload"].read() or b"null")
        if result.get("FunctionError"):
            raise SchedulingFailed(str((body or {}).get("errorMessage", "unknown error"))[:300])
        ChatJobs(self.clients.dynamodb, self.config.jobs_table).record(
            ChatJob(incoming.chat_id, incoming.job_id, labourer, kind, summary_text, int(self.clock()))
        )
        self.stats["jobs_scheduled"] += 1
        return not (body or {}).get("duplicate")

    def video(self, incoming: Incoming, target: Route) -> Reply:
        payload = {"chat_id": incoming.chat_id, "url": target.argument}
        self.schedule(incoming, self.config.labourers.video, "video", target.argument, payload)
        return Reply("Your message is being processed... I will send you a link to the video.")

    def photo(self, incoming: Incoming, target: Route) -> Reply:
        config = self.config
        assert incoming.photo is not None
        data = self.telegram.download(incoming.photo.file_id, config.max_photo_bytes)
        key = f"{config.photos_prefix}/{incoming.chat_id}/{incoming.message_id}.jpg"
        self.clients.get("s3").put_object(Bucket=config.media_bucket, Key=key, Body=data, ContentType="image/jpeg")
        prediction_id = f"{incoming.chat_id}-{incoming.message_id}"
        payload = {
            "chat_id": incoming.chat_id,
            "prediction_id": prediction_id,
            "bucket": config.media_bucket,
            "image_key": key,
        }
        self.schedule(incoming, config.labourers.image, "photo", f"photo {prediction_id}", payload)
        return Reply("Photo received. Looking for people in it...")

    def jobs(self, incoming: Incoming, target: Route) -> Reply:
        recent = ChatJobs(self.clients.dynamodb, self.config.jobs_table).recent(
            incoming.chat_id, self.config.jobs_shown
        )
        if not recent:
            return Reply("No jobs yet. Send a link or a photo.")
        now = self.clock()
        lines = [f"{j.kind} {j.summary[:60]}: {job_state(self.store, j, now)}" for j in recent]
        return Reply("Your recent jobs:\n" + "\n".join(lines))

    # ---- dev boxes -----------------------------------------------------------------------------

    def _devbox(self) -> devbox_config.DevboxConfig:
        return devbox_config.effective(self.sibling_config(devbox_config.CONFIG_DOCUMENT, devbox_config.DevboxConfig))

    def _no_devbox(self, exc: devbox_config.DevboxAccessError) -> Reply:
        if not exc.known:
            return Reply(ACCESS_DENIED)
        codes = ", ".join("(default)" if c == devbox_config.DEFAULT_CODE else c for c in exc.known)
        return Reply(f"You have no instance {exc.code!r}. Your instances: {codes}.")

    def devbox_status(self, incoming: Incoming, target: Route) -> Reply:
        config = self._devbox()
        box = devbox_config.resolve(config, incoming.user_id, target.argument)
        info = devbox.DevboxService(self.clients.get("ec2"), config).describe(box)
        return Reply(devbox.status_message(config, box, info, self.clock()))

    def devbox_up(self, incoming: Incoming, target: Route) -> Reply:
        box = devbox_config.resolve(self._devbox(), incoming.user_id, target.argument)
        payload = {"action": "up", "user_id": incoming.user_id, "code": box.code, "chat_id": incoming.chat_id}
        self.schedule(incoming, self.config.labourers.devbox, "devbox", f"up {box.code}".strip(), payload)
        return Reply(f"Starting {box.label.lower()}... I will message you when it is running.")

    def devbox_confirm(self, incoming: Incoming, target: Route) -> Reply:
        box = devbox_config.resolve(self._devbox(), incoming.user_id, target.argument)
        button = f"Shutdown {box.code.capitalize()}".strip()
        return Reply("Are you sure?", Keyboard(((button, "Cancel"),)))

    def devbox_shutdown(self, incoming: Incoming, target: Route) -> Reply:
        box = devbox_config.resolve(self._devbox(), incoming.user_id, target.argument)
        payload = {"action": "shutdown", "user_id": incoming.user_id, "code": box.code, "chat_id": incoming.chat_id}
        self.schedule(incoming, self.config.labourers.devbox, "devbox", f"shutdown {box.code}".strip(), payload)
        return Reply(f"Stopping {box.label.lower()}... I will message you when it is stopped.", Keyboard(remove=True))

    # ---- feedings ------------------------------------------------------------------------------

    def _feedings(self) -> FeedingsLog:
        return FeedingsLog(self.clients.dynamodb, self.sibling_config(FEEDINGS_DOCUMENT, FeedingsConfig))

    def feeding(self, incoming: Incoming, target: Route) -> Reply | None:
        log = self._feedings()
        entry = log.parse(incoming.text)
        if entry is None or not log.may_write(incoming.user_id):
            return None if entry is not None else Reply("Sorry, I did not understand that.\n\n" + HELP_TEXT)
        author = Author(incoming.author, incoming.user_id, incoming.chat_id, incoming.message_id)
        record = log.record(entry, incoming.text, incoming.sent_at, author)
        return Reply(format_recorded(record, log.day(datetime.date.fromisoformat(record.date))))

    def feedings_day(self, incoming: Incoming, target: Route) -> Reply:
        log = self._feedings()
        date = log.day_of(target.argument, incoming.sent_at)
        return Reply(format_day(date, log.day(date)))

    # ---- POST /results -------------------------------------------------------------------------

    def results(self, request: ApiRequest) -> dict[str, Any]:
        if not request.caller_arn:  # the route is AWS_IAM: API Gateway passes only signed callers
            return response(403, {"message": "Missing Authentication Token"})
        prediction_id = request.query.get("predictionId", "")
        config = self.config
        store = PredictionStore(self.clients.dynamodb, config.predictions_table)
        prediction = store.get(prediction_id) if prediction_id else None
        if prediction is None:
            return response(404, {"error": "no such prediction"})
        if not store.claim_delivery(prediction_id, self.clock()):
            return response(200, {"delivered": False, "reason": "already delivered"})
        text = summary(str(label.get("class", "?")) for label in prediction.labels)
        try:
            bucket = prediction.bucket or config.media_bucket
            image = self.clients.get("s3").get_object(Bucket=bucket, Key=prediction.predicted_img_path)["Body"].read()
            self.telegram.send_message(prediction.chat_id, f"Detected objects:\n{text}")
            self.telegram.send_photo(prediction.chat_id, image, caption=text)
        except (TelegramFailure, CredentialsUnavailable, ClientError, BotoCoreError) as exc:
            store.release_delivery(prediction_id)
            logger.error("prediction %s not delivered: %s", prediction_id, exc)
            return response(502, {"error": "delivery failed"})  # the image worker's task retries
        self.stats["predictions_delivered"] += 1
        return response(200, {"delivered": True})  # the chat gets the summary, the caller does not


lambda_handler = handler_for(TelegramBot)
