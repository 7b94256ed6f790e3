"""EC2 dev boxes per user (the ec2-dev-bot): start, stop, status and the auto-shutdown sweep.

The webhook answers ``/status``, ``/shutdown`` (the question) and ``Cancel`` itself; starting and
stopping wait on the instance (``poll_seconds``, injectable ``sleep``), so they run here as a
labourer (``devbox_worker``). The cron rule sends ``{"action": "auto_shutdown"}`` jobs: an instance
running ``auto_shutdown_soft_minutes`` after its last ``/up`` gets a warning, and after
``auto_shutdown_hard_minutes`` it is stopped. The last ``/up`` and the warning are tags on the
instance, so no table is needed and a manual start counts from its launch time.
"""

from __future__ import annotations

import datetime
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import ClientError

from ganger.errors import GangerError, InvalidEvent
from ganger.processor import handler_for
from ganger.telegram import CredentialsSource, TelegramApi
from processors.configured_worker import ConfiguredWorker
from processors.devbox.config import DevboxConfig, Target, all_targets, domain_urls, effective, resolve

logger = logging.getLogger(__name__)
UP_AT_TAG = "ganger:devbox-up-at"
WARNED_AT_TAG = "ganger:devbox-warned-at"


class DevboxTimeout(GangerError):
    """The instance did not reach the state in time."""

    def __init__(self, instance_id: str, state: str, waited: float) -> None:
        self.instance_id = instance_id
        self.state = state
        self.waited = waited
        super().__init__(f"instance {instance_id} not {state} after {waited:.0f}s")


@dataclass(frozen=True)
class InstanceInfo:
    instance_id: str
    state: str
    public_ip: str = ""
    public_dns: str = ""
    up_at: float | None = None
    warned_at: float | None = None

    @classmethod
    def from_description(cls, doc: dict[str, Any]) -> InstanceInfo:
        tags = {t["Key"]: t["Value"] for t in doc.get("Tags", [])}
        launched = doc.get("LaunchTime")
        launch = launched.timestamp() if isinstance(launched, datetime.datetime) else None
        return cls(
            doc["InstanceId"],
            doc["State"]["Name"],
            doc.get("PublicIpAddress", ""),
            doc.get("PublicDnsName", ""),
            _number(tags.get(UP_AT_TAG)) or launch,
            _number(tags.get(WARNED_AT_TAG)),
        )


def _number(value: str | None) -> float | None:
    try:
        return float(value) if value else None
    except ValueError:
        return None


# ---- decisions (pure) -------------------------------------------------------------------------


def auto_shutdown_action(info: InstanceInfo, now: float, soft_minutes: int, hard_minutes: int) -> str | None:
    """``"stop"``, ``"warn"`` or None for a running instance last started at ``info.up_at``."""
    if info.state != "running" or info.up_at is None:
        return None
    elapsed = now - info.up_at
    if elapsed >= hard_minutes * 60:
        return "stop"
    if elapsed >= soft_minutes * 60 and (info.warned_at is None or info.warned_at < info.up_at):
        return "warn"
    return None


def time_left(info: InstanceInfo, now: float, hard_minutes: int) -> str:
    started = info.up_at if info.up_at is not None else now
    seconds = max(0, int(started + hard_minutes * 60 - now))
    hours, minutes = divmod(-(-seconds // 60), 60)  # whole minutes, rounded up
    return f"{hours}h {minutes:02d}m" if hours else f"{minutes} min"


# ---- messages (pure) --------------------------------------------------------------------------


def up_message(config: DevboxConfig, target: Target, info: InstanceInfo, now: float) -> str:
    lines = [f"{target.label} is running.", f"IP: {info.public_ip or '-'}", f"DNS: {info.public_dns or '-'}"]
    lines += [f"Domain: {url}" for url in domain_urls(config, target)]
    left = time_left(info, now, config.auto_shutdown_hard_minutes)
    lines.append(f"Time left until automatic shutdown: {left} (send /up{target.suffix} to extend).")
    return "\n".join(lines)


def status_message(config: DevboxConfig, target: Target, info: InstanceInfo, now: float) -> str:
    lines = [f"{target.label} is {info.state}.", f"DNS: {info.public_dns or '-'}"]
    if info.state == "running":
        lines += [f"Domain: {url}" for url in domain_urls(config, target)]
        lines.append(f"Time left until automatic shutdown: {time_left(info, now, config.auto_shutdown_hard_minutes)}.")
        stop_text = f"Shutdown {target.code.capitalize()}".strip()
        lines.append(f'To stop instance click /shutdown{target.suffix} or schedule message "{stop_text}"')
    return "\n".join(lines)


def stopped_message(target: Target) -> str:
    return f"{target.label} is stopped. Send /up{target.suffix} to start it again."


def warning_message(config: DevboxConfig, target: Target, info: InstanceInfo, now: float) -> str:
    left = time_left(info, now, config.auto_shutdown_hard_minutes)
    return (
        f"{target.label} will be stopped automatically in {left}.\n"
        f"Send /up{target.suffix} to keep it running, or /shutdown{target.suffix} to stop it now."
    )


def auto_stopped_message(config: DevboxConfig, target: Target) -> str:
    return (
        f"{target.label} was stopped automatically {config.auto_shutdown_hard_minutes} min after the last "
        f"/up{target.suffix}. Send /up{target.suffix} to start it again."
    )


# ---- EC2 --------------------------------------------------------------------------------------


class DevboxService:
    """Every EC2 call of the dev-box feature."""

    def __init__(
        self,
        ec2: Any,
        config: DevboxConfig,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._ec2 = ec2
        self.config = config
        self._sleep = sleep
        self._clock = clock

    def describe(self, target: Target) -> InstanceInfo:
        reservations = self._ec2.describe_instances(InstanceIds=[target.instance_id])["Reservations"]
        return InstanceInfo.from_description(reservations[0]["Instances"][0])

    def wait_for(self, target: Target, state: str) -> InstanceInfo:
        started = self._clock()
        while True:
            info = self.describe(target)
            waited = self._clock() - started
            if info.state == state:
                return info
            if waited >= self.config.wait_timeout_seconds:
                raise DevboxTimeout(target.instance_id, state, waited)
            self._sleep(self.config.poll_seconds)

    def up(self, target: Target) -> InstanceInfo:
        """Start (or keep) the instance running and restart its auto-shutdown time."""
        info = self.describe(target)
        if info.state == "stopping":
            info = self.wait_for(target, "stopped")
        if info.state == "stopped":
            self._ec2.start_instances(InstanceIds=[target.instance_id])
        self._tag(target, {UP_AT_TAG: str(int(self._clock()))})
        self._ec2.delete_tags(Resources=[target.instance_id], Tags=[{"Key": WARNED_AT_TAG}])
        return self.wait_for(target, "running")

    def shutdown(self, target: Target) -> InstanceInfo:
        info = self.describe(target)
        if info.state in ("pending", "running"):
            self._ec2.stop_instances(InstanceIds=[target.instance_id])
        return self.wait_for(target, "stopped")

    def mark_warned(self, target: Target) -> None:
        self._tag(target, {WARNED_AT_TAG: str(int(self._clock()))})

    def _tag(self, target: Target, tags: dict[str, str]) -> None:
        self._ec2.create_tags(Resources=[target.instance_id], Tags=[{"Key": k, "Value": v} for k, v in tags.items()])


# ---- the worker -------------------------------------------------------------------------------


class DevboxWorker(ConfiguredWorker[DevboxConfig]):
    """Events: ``{"action": "up" | "shutdown", "user_id", "code", "chat_id"}`` or ``{"action": "auto_shutdown"}``."""

    config_class = DevboxConfig
    default_function_name = "devbox_worker"

    def __init__(self, *args: Any, sleep: Callable[[float], None] = time.sleep, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.sleep = sleep
        self._credentials = CredentialsSource(self.clients)

    @property
    def telegram(self) -> TelegramApi:
        return TelegramApi(lambda: self.config.telegram, self._credentials)

    def service(self) -> DevboxService:
        return DevboxService(self.clients.get("ec2"), effective(self.config), self.sleep, self.clock)

    def process(self, event: dict[str, Any]) -> dict[str, Any] | None:
        action = event.get("action")
        if action == "auto_shutdown":
            return self.sweep()
        if action not in ("up", "shutdown"):
            raise InvalidEvent("action", f"expected up, shutdown or auto_shutdown, got {action!r}")
        service = self.service()
        target = resolve(service.config, event.get("user_id", ""), str(event.get("code", "")))
        chat_id = event.get("chat_id") or target.chat_id
        if action == "up":
            info = service.up(target)
            self.telegram.send_message(chat_id, up_message(service.config, target, info, self.clock()))
        else:
            info = service.shutdown(target)
            self.telegram.send_message(chat_id, stopped_message(target))
        return {"instance_id": target.instance_id, "state": info.state}

    def sweep(self) -> dict[str, Any]:
        """Warn or stop every instance past its auto-shutdown times."""
        service = self.service()
        config = service.config
        done: dict[str, list[str]] = {"warned": [], "stopped": [], "missing": []}
        for target in all_targets(config):
            try:
                info = service.describe(target)
            except ClientError as exc:  # one misconfigured instance must not stop the sweep of the others
                if "NotFound" not in exc.response["Error"]["Code"]:
                    raise
                logger.warning("auto-shutdown: instance %s of user %s not found; check devbox_worker_config",
                               target.instance_id, target.user_id)  # fmt: skip
                done["missing"].append(target.instance_id)
                continue
            now = self.clock()
            action = auto_shutdown_action(
                info, now, config.auto_shutdown_soft_minutes, config.auto_shutdown_hard_minutes
            )
            if action == "warn":
                self.telegram.send_message(target.chat_id, warning_message(config, target, info, now))
                service.mark_warned(target)
                done["warned"].append(target.instance_id)
            elif action == "stop":
                service.shutdown(target)
                self.telegram.send_message(target.chat_id, auto_stopped_message(config, target))
                done["stopped"].append(target.instance_id)
        logger.info("auto-shutdown sweep: %d warned, %d stopped", len(done["warned"]), len(done["stopped"]))
        return done


lambda_handler = handler_for(DevboxWorker)
