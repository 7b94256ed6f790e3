"""The Telegram webhook behind API Gateway, and ``POST /results`` for finished predictions.

``POST /webhook``: the secret header is checked in constant time (403 when missing or wrong); the
update is claimed by id (``processors.telegram.dedupe``: a lease until it is handled); the sender
must be an allowed user (``/start`` and ``/help`` excepted; strangers in groups are ignored
silently); commands for another bot (``/up@other_bot``) are ignored; the message or button press
is routed (``processors.telegram.routes``) and dispatched to the feature that declared a handler for
it (``processors.telegram.router``: each feature's ``chat`` module, ``video``, ``image``, ``devbox``,
``feedings``, and ``processors.telegram.jobs`` for ``/jobs``).

Redelivery rules: bad input gets 200 (a redelivery cannot fix it); a transient failure before the
update was handled (the token unreadable, DynamoDB or Telegram unavailable) gets a 5xx and the
claim is released, so Telegram's redelivery is handled; any failure after it was handled (a reply,
marking it done) is logged and counted (``errors_after_handling``) and answered 200; a redelivery of a
handled update is a duplicate; one whose Lambda timed out is handled once its lease expires.

``POST /results?predictionId=<id>``: sends the prediction's summary and annotated image to its chat,
as a reply to the photo, once. A scheduled ``{"action": "report_dead_jobs"}`` tells each chat
about its jobs that ended dead (``processors.telegram.job_reports``).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from ganger.config import TypedConfig
from ganger.errors import GangerError
from ganger.processor import Processor, handler_for
from ganger.redaction import redact
from ganger.schema import parse, to_dict
from ganger.telegram import (
    CredentialsSource,
    CredentialsUnavailable,
    TelegramApi,
    TelegramFailure,
    TelegramSettings,
    parse_update,
    secret_matches,
)
from processors.devbox import chat as devbox_chat
from processors.feedings import chat as feedings_chat
from processors.image import chat as image_chat
from processors.image.detectors import summary
from processors.image.predictions import PredictionStore
from processors.telegram import job_reports
from processors.telegram import jobs as chat_jobs
from processors.telegram.api_events import ApiRequest, response
from processors.telegram.callers import allowed_callers, caller_allowed
from processors.telegram.dedupe import Claim, UpdateDedupe
from processors.telegram.incoming import Incoming
from processors.telegram.jobs import ChatJobs
from processors.telegram.router import ACCESS_DENIED, HELP_TEXT, NOT_UNDERSTOOD, Reply, Router
from processors.telegram.routes import Kind, Route, route, route_press
from processors.video import chat as video_chat

logger = logging.getLogger(__name__)
# Each feature declares its chat handlers next to its code; the webhook only dispatches to them.
ROUTER = Router().include(
    (*video_chat.HANDLERS, *image_chat.HANDLERS, *chat_jobs.HANDLERS, *devbox_chat.HANDLERS, *feedings_chat.HANDLERS)
)
CONFIG_DOCUMENT = "telegram_bot_config"
SOMETHING_WRONG = "Something went wrong, please try again..."
NOT_YOUR_BUTTONS = "Only the person who asked can press these buttons."
_TRANSIENT_CODES = {
    "ThrottlingException", "Throttling", "ProvisionedThroughputExceededException", "RequestLimitExceeded",
    "TooManyRequestsException", "ServiceUnavailable", "ServiceUnavailableException", "InternalServerError",
    "InternalFailure", "InternalError", "RequestTimeout", "TransactionInProgressException",
}  # fmt: skip


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
    update_lease_seconds: int = 60  # over the Lambda's timeout: a redelivery after it handles the update
    jobs_table: str = "ganger_chat_jobs"
    jobs_shown: int = 10
    media_bucket: str = "ganger-media"
    photos_prefix: str = "photos"
    max_photo_bytes: int = 20 * 1024 * 1024
    predictions_table: str = "ganger_predictions"
    scheduler_function: str = "sosw_scheduler"
    labourers: BotLabourers = field(default_factory=BotLabourers)
    dead_jobs_lookback_seconds: int = 6 * 3600  # report_dead_jobs reads this far back (it runs every minute)
    # Signed callers POST /results accepts (ARN patterns, as API Gateway names them); empty: the image worker's
    # role, from GANGER_RESULTS_CALLER_ROLE (processors.telegram.callers)
    results_callers: list[str] = field(default_factory=list)


class Redeliver(GangerError):
    """A transient failure before the update was handled: answer 5xx so Telegram redelivers it."""


def is_transient(exc: BaseException) -> bool:
    """Would the same call work a little later? (throttling, 5xx, network, the token unreadable)"""
    if isinstance(exc, ClientError):
        error = exc.response.get("Error", {})
        status = int(exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode") or 0)
        return error.get("Code") in _TRANSIENT_CODES or status >= 500
    if isinstance(exc, TelegramFailure):
        return exc.transient
    return isinstance(exc, BotoCoreError | CredentialsUnavailable)


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
        if isinstance(event, dict) and event.get("action") == "report_dead_jobs":
            return self.report_dead_jobs()
        request = ApiRequest.from_event(event)
        if request.method != "POST":
            return response(405, {"error": "method not allowed"})
        if request.route() == "results":
            return self.results(request)
        try:
            return self.webhook(request)
        except Exception as exc:  # nothing was handled: Telegram's redelivery gets another chance
            logger.exception("webhook failed before handling: %s", type(exc).__name__)
            self.stats["errors"] += 1
            return response(500, {"ok": False})

    def webhook(self, request: ApiRequest) -> dict[str, Any]:
        try:
            credentials = self.telegram.credentials()
        except CredentialsUnavailable as exc:
            logger.error("webhook: %s", exc)
            self.stats["no_credentials"] += 1
            return response(503, {"ok": False, "retry": "credentials unavailable"})
        if not secret_matches(request.headers, credentials.webhook_secret):
            self.stats["forbidden"] += 1
            return response(403, {"error": "forbidden"})
        try:
            update = parse_update(request.json())
            incoming = Incoming.from_update(update)
        except (ValueError, AttributeError, KeyError, TypeError, RecursionError) as exc:  # a redelivery cannot fix it
            logger.warning("webhook: unusable body: %s", type(exc).__name__)
            return response(200, {"ok": True, "ignored": "malformed"})
        config = self.config
        dedupe = UpdateDedupe(
            self.clients.dynamodb, config.updates_table, config.update_ttl_seconds, config.update_lease_seconds
        )
        bot_id = credentials.token.split(":", 1)[0]
        claim = dedupe.claim(bot_id, update.update_id, self.clock())  # AWS errors: 500, redelivered
        if claim is Claim.DUPLICATE:
            self.stats["duplicates"] += 1
            return response(200, {"ok": True, "duplicate": True})
        if claim is Claim.BUSY:
            return response(503, {"ok": False, "retry": "being handled"})
        try:
            if incoming is not None:
                self.dispatch(incoming)
        except Redeliver as exc:
            logger.warning("update %s not handled, asking for a redelivery: %s", update.update_id, exc)
            self.stats["redeliveries_asked"] += 1
            dedupe.release(bot_id, update.update_id)
            return response(503, {"ok": False, "retry": "transient failure"})
        try:
            dedupe.finish(bot_id, update.update_id)
        except Exception as exc:  # handled: a redelivery after the lease repeats only idempotent work
            self._after_handling(f"marking update {update.update_id} done", exc)
        return response(200, {"ok": True})

    def dispatch(self, incoming: Incoming) -> None:
        """Answer a message, or a button press (stop its spinner, act, edit the asking message). A button is
        bound to the user who asked (its callback data names them): anyone else's press gets a toast only."""
        press = incoming.press
        if press is None:
            self._send(incoming, self.answer(incoming))
            return
        if route_press(press.data).asker != incoming.user_id:  # someone else's buttons: a toast, nothing else
            self.stats["presses_refused"] += 1
            self._guarded(incoming, lambda: self.telegram.answer_callback_query(press.query_id, NOT_YOUR_BUTTONS))
            return
        reply = self.answer(incoming)
        self._guarded(incoming, lambda: self.telegram.answer_callback_query(press.query_id))
        if reply is not None:
            self._guarded(
                incoming, lambda: self.telegram.edit_message_text(incoming.chat_id, press.message_id, reply.text)
            )

    def _send(self, incoming: Incoming, reply: Reply | None) -> None:
        if reply is None:
            return
        thread = incoming.message_id if incoming.in_group else None
        self._guarded(
            incoming, lambda: self.telegram.send_message(incoming.chat_id, reply.text, reply.keyboard, thread)
        )

    def _guarded(self, incoming: Incoming, call: Callable[[], Any]) -> None:
        """A reply that fails is logged and counted, never a 5xx: the work is done, a redelivery would only
        repeat it. Any error counts here, not only Telegram's (python-telegram-bot failing to read an answer)."""
        try:
            call()
        except (TelegramFailure, CredentialsUnavailable) as exc:
            logger.error("reply to chat %s failed: %s", incoming.chat_id, exc)
            self.stats["reply_failures"] += 1
        except Exception as exc:
            self._after_handling(f"reply to chat {incoming.chat_id}", exc)

    def _after_handling(self, what: str, exc: Exception) -> None:
        logger.error("%s failed after the update was handled: %s: %s", what, type(exc).__name__, redact(str(exc)))
        self.stats["errors_after_handling"] += 1

    # ---- routing -------------------------------------------------------------------------------

    def route(self, incoming: Incoming) -> Route:
        if incoming.press is not None:
            return route_press(incoming.press.data)
        return route(incoming.text, has_photo=incoming.image is not None, link=incoming.link)

    def for_another_bot(self, target: Route) -> bool:
        """``/up@other_bot``: only commands without a name or with this bot's own are for this bot."""
        if not target.addressee:
            return False
        try:
            return target.addressee != self.telegram.username().lower()
        except TelegramFailure as exc:
            raise Redeliver(str(exc)) from exc

    def answer(self, incoming: Incoming) -> Reply | None:
        """The reply to a message; raises ``Redeliver`` only for a transient failure."""
        target = self.route(incoming)
        self.stats[f"route_{target.kind.value}"] += 1
        if self.for_another_bot(target):
            self.stats["other_bots"] += 1
            return None
        if target.kind in (Kind.START, Kind.HELP):
            return Reply(HELP_TEXT)
        if incoming.user_id not in self.config.allowed_users:
            logger.info("refused user %s", incoming.user_id)
            return None if incoming.in_group else Reply(ACCESS_DENIED)
        handler = ROUTER.handler_for(target.kind)
        if handler is None:
            understood = target.kind is not Kind.UNKNOWN or (incoming.in_group and not incoming.text.startswith("/"))
            return None if understood else Reply(NOT_UNDERSTOOD)  # group chatter is not for the bot
        try:
            return handler.action(self, incoming, target)
        except Exception as exc:  # the update is accepted: answer the user, or ask for a redelivery
            if is_transient(exc):
                raise Redeliver(f"{target.kind.value}: {type(exc).__name__}") from exc
            logger.exception("%s for chat %s failed: %s", target.kind.value, incoming.chat_id, type(exc).__name__)
            self.stats["errors"] += 1
            return Reply(SOMETHING_WRONG)

    # ---- dead jobs -----------------------------------------------------------------------------

    def report_dead_jobs(self) -> dict[str, Any]:
        config = self.config
        reporter = job_reports.JobReporter(
            self.store, ChatJobs(self.clients.dynamodb, config.jobs_table), self.telegram
        )
        labourers = [config.labourers.video, config.labourers.image, config.labourers.devbox]
        now = self.clock()
        reported = reporter.report(labourers, now - config.dead_jobs_lookback_seconds, now)
        self.stats["dead_jobs_reported"] += reported
        return {"reported": reported}

    # ---- POST /results -------------------------------------------------------------------------

    def results(self, request: ApiRequest) -> dict[str, Any]:
        if not request.caller_arn:  # the route is AWS_IAM: API Gateway passes only signed callers
            return response(403, {"message": "Missing Authentication Token"})
        config = self.config
        if not caller_allowed(request.caller_arn, allowed_callers(config.results_callers)):
            logger.warning("POST /results refused to %s: not the image worker", request.caller_arn)
            self.stats["results_refused"] += 1
            return response(403, {"message": "Forbidden"})
        prediction_id = request.query.get("predictionId", "")
        store = PredictionStore(self.clients.dynamodb, config.predictions_table)
        prediction = store.get(prediction_id) if prediction_id else None
        if prediction is None:
            return response(404, {"error": "no such prediction"})
        if not store.claim_delivery(prediction_id, self.clock()):
            return response(200, {"delivered": False, "reason": "already delivered"})
        text = summary(str(label.get("class", "?")) for label in prediction.labels)
        reply_to = prediction.reply_to or None
        try:
            if prediction.error:
                self.telegram.send_message(
                    prediction.chat_id, f"Sorry, I could not look at that: {prediction.error}.", reply_to=reply_to
                )
                return response(200, {"delivered": True, "error": prediction.error})
            bucket = prediction.bucket or config.media_bucket
            image = self.clients.get("s3").get_object(Bucket=bucket, Key=prediction.predicted_img_path)["Body"].read()
            self.telegram.send_photo(prediction.chat_id, image, caption=f"Found: {text}", reply_to=reply_to)
        except (TelegramFailure, CredentialsUnavailable, ClientError, BotoCoreError) as exc:
            store.release_delivery(prediction_id)
            logger.error("prediction %s not delivered: %s", prediction_id, exc)
            return response(502, {"error": "delivery failed"})  # the image worker's task retries
        self.stats["predictions_delivered"] += 1
        return response(200, {"delivered": True})  # the chat gets the summary, the caller does not


lambda_handler = handler_for(TelegramBot)
