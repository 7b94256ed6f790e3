"""Dev-box settings: users, their instances by code, domains and auto-shutdown times.

The config document (``devbox_worker_config``) is the source; the original bot's environment
variables are also accepted and fill in what the document leaves out: ``USER_<telegram id>_INSTANCE``
(the default instance), ``USER_<id>_INSTANCE_<CODE>``, ``USER_<id>_CODE`` (replaces ``USERCODE`` in
the domain templates), ``DOMAIN`` / ``DOMAIN_NO_SSL`` (``USERCODE.INSTANCECODE.example.com``) and
``AUTO_SHUTDOWN_SOFT`` / ``AUTO_SHUTDOWN_HARD`` (minutes after the last ``/up``).
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace

from ganger.errors import GangerError
from ganger.telegram import TelegramSettings

CONFIG_DOCUMENT = "devbox_worker_config"
DEFAULT_CODE = "default"
DEFAULT_SOFT_MINUTES = 120
DEFAULT_HARD_MINUTES = 180
_USER_VAR = re.compile(r"^USER_(?P<id>-?\d+)_(?P<what>INSTANCE|CODE)(?:_(?P<code>[A-Za-z0-9-]+))?$")


@dataclass(frozen=True)
class DevboxUser:
    code: str = ""  # the user's code in domain templates
    instances: dict[str, str] = field(default_factory=dict)  # instance code ("default") -> EC2 instance id
    chat_id: int = 0  # where warnings go; 0: the user's private chat


@dataclass(frozen=True)
class DevboxConfig:
    users: dict[str, DevboxUser] = field(default_factory=dict)  # Telegram user id -> settings
    domain: str = ""
    domain_no_ssl: str = ""
    auto_shutdown_soft_minutes: int = 0  # 0: from AUTO_SHUTDOWN_SOFT, else 120
    auto_shutdown_hard_minutes: int = 0  # 0: from AUTO_SHUTDOWN_HARD, else 180
    poll_seconds: float = 15.0
    wait_timeout_seconds: float = 600.0
    read_environment: bool = True
    telegram: TelegramSettings = field(default_factory=TelegramSettings)

    def __post_init__(self) -> None:
        if self.auto_shutdown_soft_minutes < 0 or self.auto_shutdown_hard_minutes < 0:
            raise ValueError("auto-shutdown minutes must be >= 0")


class DevboxAccessError(GangerError):
    """The user has no dev box, or none with that code. ``known`` lists the user's codes."""

    def __init__(self, user_id: str, code: str, known: list[str]) -> None:
        self.user_id = user_id
        self.code = code
        self.known = known
        super().__init__(f"user {user_id} has no instance {code or DEFAULT_CODE!r}")


@dataclass(frozen=True)
class Target:
    """One instance of one user, resolved from a command."""

    user_id: str
    code: str  # "" for the default instance
    instance_id: str
    user_code: str
    chat_id: int

    @property
    def suffix(self) -> str:
        """What follows a command for this instance: ``_windows`` or nothing."""
        return f"_{self.code}" if self.code else ""

    @property
    def label(self) -> str:
        return f"Instance {self.code}" if self.code else "Your instance"


def users_from_environ(environ: Mapping[str, str]) -> dict[str, DevboxUser]:
    """Users described by the original bot's environment variables."""
    codes: dict[str, str] = {}
    instances: dict[str, dict[str, str]] = {}
    for name, value in environ.items():
        match = _USER_VAR.match(name)
        if match is None or not value:
            continue
        user = match.group("id")
        if match.group("what") == "CODE" and not match.group("code"):
            codes[user] = value
        elif match.group("what") == "INSTANCE":
            instances.setdefault(user, {})[(match.group("code") or DEFAULT_CODE).lower()] = value
    return {u: DevboxUser(code=codes.get(u, ""), instances=i) for u, i in instances.items()}


def effective(config: DevboxConfig, environ: Mapping[str, str] | None = None) -> DevboxConfig:
    """The document with the environment filling its gaps (the document wins)."""
    env = dict(os.environ if environ is None else environ) if config.read_environment else {}
    users = {**users_from_environ(env), **config.users}
    soft = config.auto_shutdown_soft_minutes or int(env.get("AUTO_SHUTDOWN_SOFT") or DEFAULT_SOFT_MINUTES)
    hard = config.auto_shutdown_hard_minutes or int(env.get("AUTO_SHUTDOWN_HARD") or DEFAULT_HARD_MINUTES)
    return replace(
        config,
        users=users,
        domain=config.domain or env.get("DOMAIN", ""),
        domain_no_ssl=config.domain_no_ssl or env.get("DOMAIN_NO_SSL", ""),
        auto_shutdown_soft_minutes=soft,
        auto_shutdown_hard_minutes=max(hard, soft),
    )


def resolve(config: DevboxConfig, user_id: int | str, code: str = "") -> Target:
    """The instance a user means; DevboxAccessError when there is none."""
    user = config.users.get(str(user_id))
    known = sorted(user.instances) if user else []
    instance = user.instances.get((code or DEFAULT_CODE).lower()) if user else None
    if user is None or not instance:
        raise DevboxAccessError(str(user_id), code, known)
    key = "" if (code or DEFAULT_CODE).lower() == DEFAULT_CODE else code.lower()
    return Target(str(user_id), key, instance, user.code, user.chat_id or int(user_id))


def all_targets(config: DevboxConfig) -> list[Target]:
    """Every configured instance (for the auto-shutdown sweep)."""
    return [
        resolve(config, user_id, "" if code == DEFAULT_CODE else code)
        for user_id, user in sorted(config.users.items())
        for code in sorted(user.instances)
    ]


def domain_urls(config: DevboxConfig, target: Target) -> list[str]:
    """The instance's URLs from the domain templates."""
    urls = []
    for template, scheme in ((config.domain, "https"), (config.domain_no_ssl, "http")):
        if template:
            host = template.replace("USERCODE", target.user_code or target.user_id)
            host = host.replace("INSTANCECODE.", f"{target.code}." if target.code else "")
            host = host.replace("INSTANCECODE", target.code)
            urls.append(f"{scheme}://{host}")
    return urls
