"""LocalSystem: the whole of ganger on one machine, with moto as the embedded AWS.

It starts a moto server, deploys the yaml/ stacks into it through CloudFormation change sets (the
same path as `ganger deploy`), does what moto's CloudFormation leaves undone, loads config/, and
runs what moto cannot: a Lambda endpoint that runs the deployed handlers in-process, a clock that
fires the EventBridge rules, an HTTP front for the API Gateway routes and a fake Telegram Bot API
(or real Telegram by long polling). Everything listens on 127.0.0.1 only.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import secrets
import threading
import time
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from botocore.exceptions import ClientError

from ganger.clients import AwsClients
from ganger.config import ConfigStore, load_folder
from ganger.constants import LOCAL_CHAT_USER
from ganger.deploy.functions import PACKAGES
from ganger.deploy.package import build_code_zip, package_key
from ganger.deploy.stacks import default_stacks, execute, plan, ttl_specifications
from ganger.documents import validate
from ganger.labourer import Labourer, read_labourers
from ganger.local.api_front import ApiFront
from ganger.local.api_routes import LOCAL_CALLERS
from ganger.local.clock import RuleClock
from ganger.local.lambda_endpoint import LAMBDA_RETRY_DELAYS, LocalLambdaEndpoint, sqs_destination
from ganger.local.moto_fast import fast_moto
from ganger.local.moto_server import EmbeddedAws
from ganger.local.setup_hooks import run_local_setup
from ganger.local.state import LocalState, state_file
from ganger.local.telegram_fake import FakeTelegram
from ganger.local.telegram_poller import TelegramPoller
from ganger.ops.context import Ops
from ganger.ops.status import activity_counts

logger = logging.getLogger(__name__)
# moto has no AWS::ApiGateway::Account (API Gateway's account-wide log role); local mode keeps no access logs.
LOCAL_PARAMETERS = {"processors": {"ApiGatewayLogRole": "false"}}
ROOT = Path(__file__).resolve().parents[2]
CODE_BUCKET = "ganger-local-code"
BOT_SECRET = "ganger/telegram-bot"
BOT_CONFIG = "telegram_bot_config"
FAKE_TOKEN = "1000000001:ganger-local-fake-bot-token"
EMULATED = (
    "Lambda runtime: deployed functions run in this process through a local Lambda endpoint "
    "(AWS_ENDPOINT_URL_LAMBDA), since moto cannot run Lambda code without Docker",
    "rule clock: EventBridge rate()/cron() rules are fired here, since moto never fires them",
    "API front: API Gateway REST routes are served here, since moto stores but does not serve them",
    "Telegram: a fake Bot API records what the bots send (or real Telegram by long polling with a real token)",
    "event-driven dispatch needs nothing emulated: the Scheduler, WorkerAssistant and Scavenger start tasks "
    "themselves (Invoke through the local Lambda endpoint) and nudge the Orchestrator; the fired minute rule "
    "is the safety net",
)


@dataclass
class LocalOptions:
    port: int = 0
    speed: float = 1.0
    telegram_token: str | None = None
    concurrency: int = 8
    contention: bool = False  # DynamoDB as AWS runs it: conflicting transactions, hot keys throttled
    config_dir: Path = ROOT / "config"
    say: Callable[[str], None] = print


@dataclass
class Endpoints:
    aws: str = ""
    lambda_: str = ""
    api: str = ""
    telegram: str = ""
    webhook: str = ""
    results: str = ""
    webhook_secret: str = field(default="", repr=False)


class LocalSystem:
    """Start with ``start()``, stop with ``stop()`` (every thread joined, every port closed)."""

    def __init__(self, options: LocalOptions | None = None) -> None:
        self.options = options or LocalOptions()
        self.aws = EmbeddedAws(port=self.options.port)
        self.endpoint: LocalLambdaEndpoint | None = None
        self.api: ApiFront | None = None
        self.clock: RuleClock | None = None
        self.telegram: FakeTelegram | None = None
        self.poller: TelegramPoller | None = None
        self.clients: AwsClients | None = None
        self.urls = Endpoints()
        self._saved_env: dict[str, str | None] = {}
        self._stops: list[Callable[[], None]] = []

    # ---- lifecycle ---------------------------------------------------------------------------------

    def start(self) -> None:
        say = self.options.say
        try:
            self._start_aws()
            say(f"embedded AWS (moto server) on {self.aws.endpoint_url}")
            self._deploy()
            self._apply_what_moto_leaves_undone()
            self._load_config()
            self._prepare_samples()
            self._start_fronts()
            self._configure_bot()
            self._start_clock()
            self._start_fleets()
            LocalState(self.urls.aws, self.urls.lambda_, self.urls.api, self.urls.telegram, os.getpid()).write()
        except BaseException:
            self.stop()
            raise

    def stop(self) -> None:
        """Stop in reverse order of start; safe to call twice."""
        while self._stops:
            stop = self._stops.pop()
            try:
                stop()
            except Exception:  # a failing stop must not keep the others running
                logger.exception("stopping a local component failed")
        for name, value in self._saved_env.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
        self._saved_env.clear()

    def _setenv(self, name: str, value: str) -> None:
        self._saved_env.setdefault(name, os.environ.get(name))
        os.environ[name] = value

    def _start_aws(self) -> None:
        # moto copies whole tables on every TransactWriteItems, sorts a whole table for every Query and
        # walks every AttributeValue's shape to write a response; these keep its answers, not its cost.
        speed = contextlib.ExitStack()
        speed.enter_context(fast_moto())
        if self.options.contention:
            from ganger.local.contention import ContentionModel
            from ganger.local.moto_contention import contending

            speed.enter_context(contending(ContentionModel({}), time.time))
            self.options.say("DynamoDB contention model on: transactions hold their items 15 ms, conflicting "
                             "ones are cancelled, a key takes at most 1,000 write units a second")  # fmt: skip
        self._stops.append(speed.close)
        logging.getLogger("werkzeug").setLevel(logging.WARNING)  # no line per request on the console
        self.aws.start()
        self._stops.append(self.aws.stop)
        self.urls.aws = self.aws.endpoint_url
        # Lambda's retries of a failed Event invocation (1 and 2 minutes later) follow the rule clock's speed.
        retry_delays = tuple(d / max(self.options.speed, 0.001) for d in LAMBDA_RETRY_DELAYS)
        self.endpoint = LocalLambdaEndpoint(
            self.aws.client("lambda"),
            max_concurrency=self.options.concurrency,
            retry_delays=retry_delays,
            send_to_destination=sqs_destination(self.aws.client("sqs")),
        )
        self.endpoint.start()
        self.options.say(
            f"Lambda's async retries emulated: a failed Event invocation runs again after {retry_delays[0]:g} s and "
            f"{retry_delays[1]:g} s (MaximumRetryAttempts from each function's EventInvokeConfig), then goes to "
            "its on-failure queue"
        )
        self._stops.append(self.endpoint.stop)
        self.urls.lambda_ = self.endpoint.url
        # Handlers run in this process and build their clients from the environment, as on Lambda.
        for name, value in {
            "AWS_ENDPOINT_URL": self.aws.endpoint_url,
            "AWS_ENDPOINT_URL_LAMBDA": self.endpoint.url,
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_DEFAULT_REGION": "us-east-1",
            "AWS_REGION": "us-east-1",
            "AWS_ACCOUNT_ID_ENDPOINT_MODE": "disabled",
            "POWERTOOLS_METRICS_DISABLED": "true",
        }.items():
            self._setenv(name, value)
        for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN"):
            self._saved_env.setdefault(name, os.environ.pop(name, None))
        services = ("dynamodb", "cloudformation", "s3", "events", "apigateway", "secretsmanager", "sns", "sqs",
                    "cloudwatch", "autoscaling", "ec2")  # fmt: skip
        made = {service: self.aws.client(service) for service in services}
        made["lambda"] = self.aws.client("lambda", endpoint_url=self.endpoint.url)
        self.clients = AwsClients(**made)

    def _deploy(self) -> None:
        assert self.clients is not None
        code = build_code_zip()
        key = package_key(code)
        s3 = self.clients.get("s3")
        s3.create_bucket(Bucket=CODE_BUCKET)
        s3.put_object(Bucket=CODE_BUCKET, Key=key, Body=code)
        cfn = self.clients.get("cloudformation")
        # Handlers run in this process; every function's Code points at the one code zip.
        keys = {package.code_parameter: key for package in PACKAGES}
        for spec in default_stacks("ganger", CODE_BUCKET, keys):
            change = plan(cfn, spec, LOCAL_PARAMETERS.get(spec.template.stem))
            if change is None:
                continue
            execute(cfn, change, progress=lambda line: logger.info("%s", line))
            self.options.say(f"deployed {spec.name} from yaml/{spec.template.name} ({len(change.changes)} resources)")
            self._pending_ttl = getattr(self, "_pending_ttl", []) + ttl_specifications(spec)
        assert self.endpoint is not None
        self.endpoint.refresh()

    def _apply_what_moto_leaves_undone(self) -> None:
        assert self.clients is not None
        ddb = self.clients.dynamodb
        for table, attribute in getattr(self, "_pending_ttl", []):
            ddb.update_time_to_live(
                TableName=table, TimeToLiveSpecification={"Enabled": True, "AttributeName": attribute}
            )
            self.options.say(
                f"moto ignores TimeToLiveSpecification: enabled TTL on {table}.{attribute} through the API"
            )
        token = self.options.telegram_token or FAKE_TOKEN
        self.urls.webhook_secret = secrets.token_urlsafe(24)
        value = json.dumps({"token": token, "webhook_secret": self.urls.webhook_secret})
        sm = self.clients.get("secretsmanager")
        try:
            sm.create_secret(Name=BOT_SECRET, SecretString=value)
        except ClientError:
            sm.put_secret_value(SecretId=BOT_SECRET, SecretString=value)
        self.options.say(f"moto's CloudFormation makes no SecretsManager::Secret: created {BOT_SECRET} through the API")

    def _load_config(self) -> None:
        assert self.clients is not None
        store = ConfigStore(self.clients.dynamodb)
        names = load_folder(store, self.options.config_dir, validate)
        self.options.say(f"loaded {len(names)} config documents from {self.options.config_dir}")
        if self.options.speed > 1:  # the Scavenger's minute comes sooner: it waits for due tasks no longer than that
            stored = store.get("sosw_scavenger_config")
            value = stored.value if stored is not None and isinstance(stored.value, dict) else {}
            store.put("sosw_scavenger_config", {**value, "wake_ahead_seconds": 62.0 / self.options.speed})

    def _prepare_samples(self) -> None:
        """What the sample config needs in the embedded AWS (the dev boxes), from other packages' hooks."""
        assert self.clients is not None
        run_local_setup(self.clients, ConfigStore(self.clients.dynamodb), self.options.say)

    def _start_fronts(self) -> None:
        assert self.clients is not None
        self.api = ApiFront(self.clients.get("apigateway"), self.clients.lambda_)
        self.api.start()
        self._stops.append(self.api.stop)
        self.urls.api = self.api.url
        routes = self.api.refresh()
        paths = {r.resource_path: r for r in routes}
        if "/webhook" in paths:
            stage = (paths["/webhook"].stages or ("",))[0] or None
            self.urls.webhook = self.api.url_for("/webhook", stage=stage)
            self.urls.results = self.api.url_for("/results", stage=stage)
        if self.options.telegram_token is None:
            self.telegram = FakeTelegram(FAKE_TOKEN)
            self.telegram.start()
            self._stops.append(self.telegram.stop)
            self.urls.telegram = self.telegram.base_url
            self._setenv("GANGER_TELEGRAM_BASE_URL", self.telegram.base_url)
            self._setenv("GANGER_TELEGRAM_BASE_FILE_URL", self.telegram.base_file_url)

    def _configure_bot(self) -> None:
        assert self.clients is not None
        store = ConfigStore(self.clients.dynamodb)
        if self.urls.results:
            stored = store.get("image_worker_config")
            store.put("image_worker_config", {**(stored.value if stored else {}), "results_url": self.urls.results})
            bot = store.get("telegram_bot_config")  # the local front names callers by access key, not by role
            store.put("telegram_bot_config", {**(bot.value if bot else {}), "results_callers": [LOCAL_CALLERS]})
        if not self.urls.webhook:
            return
        if self.telegram is not None:
            set_webhook(self.telegram.base_url, FAKE_TOKEN, self.urls.webhook, self.urls.webhook_secret)
            if allow_chat_user(store):
                self.options.say(f"fake Telegram: chat user {LOCAL_CHAT_USER} (`ganger chat`) added to allowed_users")
        elif self.options.telegram_token:
            self.poller = TelegramPoller(
                self.options.telegram_token, self.urls.webhook, secret_token=self.urls.webhook_secret
            )
            self.poller.start()
            self._stops.append(self.poller.stop)
            self.options.say("real Telegram: long polling getUpdates and forwarding to the local webhook")

    def _start_clock(self) -> None:
        assert self.clients is not None
        self.clock = RuleClock(self.clients.get("events"), self.clients.lambda_, speed=self.options.speed)
        self.clock.start()
        self._stops.append(self.clock.stop)
        rules = self.clock.refresh()
        self.options.say(f"rule clock: {len(rules)} rules at speed x{self.options.speed:g}")

    def _start_fleets(self) -> None:
        """Worker threads for every fleet labourer in the config, following its group; a local step applies
        the target-tracking policy to BacklogPerInstance every (compressed) minute, as moto never does."""
        assert self.clients is not None
        from ganger.local.fleet import fleet_labourers, local_fleet

        fleets = []
        for labourer_id in fleet_labourers(self.labourers()):
            try:
                fleet = local_fleet(self.clients, labourer_id)
                fleet.start()
            except Exception as exc:  # a fleet without its group or settings: say so, run the rest
                self.options.say(f"fleet {labourer_id} not started locally: {exc}")
                continue
            fleets.append(fleet)
            self._stops.append(fleet.stop)
            self.options.say(f"fleet {labourer_id}: worker threads follow group {fleet.group}")
        if not fleets:
            return
        stop = threading.Event()
        period = 60.0 / max(self.options.speed, 0.001)

        def step_every_minute() -> None:
            while not stop.wait(period):
                for fleet in fleets:
                    try:
                        fleet.step()
                    except Exception:
                        logger.exception("local target-tracking step of fleet %s failed", fleet.labourer.id)

        thread = threading.Thread(target=step_every_minute, name="ganger-fleet-steps", daemon=True)
        thread.start()

        def stop_steps() -> None:
            stop.set()
            thread.join(timeout=10)

        self._stops.append(stop_steps)

    # ---- observing -----------------------------------------------------------------------------------

    def describe(self) -> list[str]:
        lines = [
            f"AWS endpoint (moto)     {self.urls.aws}",
            f"Lambda endpoint         {self.urls.lambda_}",
            f"API front               {self.urls.api}",
        ]
        if self.urls.webhook:
            lines.append(f"Telegram webhook        {self.urls.webhook}")
        if self.urls.telegram:
            lines.append(f"fake Telegram Bot API   {self.urls.telegram}")
        lines.append(f"state file              {state_file()} (other ganger commands find this system)")
        lines.append("local mode emulates what moto does not run:")
        lines += [f"  - {line}" for line in EMULATED]
        return lines

    def labourers(self) -> dict[str, Labourer]:
        assert self.clients is not None
        return read_labourers(ConfigStore(self.clients.dynamodb))

    def counts(self, closed: bool = True) -> dict[str, dict[str, int]]:
        """Queued, invoked (running or expired), retrying and, with ``closed``, closed tasks per labourer."""
        assert self.clients is not None
        return activity_counts(Ops(self.clients), time.time(), closed)

    def settle(self, timeout: float = 120.0, poll: float = 1.0) -> bool:
        """Wait until no task is queued, running or waiting for retry, and no invocation is in flight."""
        deadline = time.monotonic() + timeout
        assert self.endpoint is not None
        while time.monotonic() < deadline:
            if self.endpoint.wait_idle(timeout=poll):
                counts = self.counts(closed=False)
                if not any(any(row.values()) for row in counts.values()):
                    return True
                time.sleep(poll)
        return False


def allow_chat_user(store: ConfigStore, user_id: int = LOCAL_CHAT_USER) -> bool:
    """Allow `ganger chat`'s user, with the fake Bot API only: config/ ships no allowed user, and with a real
    bot the developer allows their own account. True when it was added."""
    stored = store.get(BOT_CONFIG)
    value = stored.value if stored else {}
    users = list(value.get("allowed_users") or [])
    if user_id in users:
        return False
    store.put(
        BOT_CONFIG, {**value, "allowed_users": [*users, user_id]}, expected_version=stored.version if stored else None
    )
    return True


def set_webhook(base_url: str, token: str, url: str, secret: str) -> None:
    """Register the webhook with its secret, as `ganger bot set-webhook` does on real Telegram."""
    body = json.dumps({"url": url, "secret_token": secret, "allowed_updates": ["message", "callback_query"]})
    request = urllib.request.Request(
        f"{base_url}{token}/setWebhook", data=body.encode(), headers={"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(request, timeout=10) as response:  # loopback: the fake Bot API
        response.read()
