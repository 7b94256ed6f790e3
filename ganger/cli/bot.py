"""`ganger bot set-webhook`: point Telegram at the deployed webhook, with its secret token.

The token and the webhook secret are read as the telegram_bot Lambda reads them (Secrets Manager or
SSM, see ganger.telegram), so the secret Telegram sends is the one the Lambda checks.
"""

from __future__ import annotations

import argparse
import asyncio
from dataclasses import dataclass
from typing import Any

import telegram
from telegram.error import TelegramError

from ganger.cli.endpoints import service_client
from ganger.cli.target import Target, add_target_options, resolve_target
from ganger.clients import AwsClients
from ganger.deploy.stacks import DeployError, outputs
from ganger.errors import GangerError
from ganger.telegram import (
    DEFAULT_TOKEN_SECRET,
    BotCredentials,
    CredentialsSource,
    TelegramFailure,
    TelegramSettings,
    scrub,
)

# The update types processors/telegram/webhook.py acts on; Telegram sends nothing else.
DEFAULT_ALLOWED_UPDATES = ("message", "callback_query")


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser("bot", help="the Telegram bot", description=__doc__)
    commands = parser.add_subparsers(title="bot commands", metavar="SUBCOMMAND")
    hook = commands.add_parser(
        "set-webhook",
        help="register the webhook URL with Telegram",
        description="Call the Bot API's setWebhook with the webhook URL (default: the WebhookUrl output of the "
        "processors stack), the webhook secret token and the allowed update types.",
    )
    hook.add_argument("url", nargs="?", help="webhook URL (default: output WebhookUrl of PREFIX-processors)")
    hook.add_argument("--prefix", default="ganger", help="stack name prefix used by `ganger deploy`")
    hook.add_argument("--secret-id", default=DEFAULT_TOKEN_SECRET, help="Secrets Manager secret with the token")
    hook.add_argument("--token-parameter", default="", help="SSM SecureString with the token (instead of a secret)")
    hook.add_argument("--telegram-url", default="", help="Bot API base URL, e.g. a fake's http://127.0.0.1:PORT/bot")
    hook.add_argument(
        "--allowed-updates", default=",".join(DEFAULT_ALLOWED_UPDATES), help="comma-separated update types"
    )
    hook.add_argument("--drop-pending-updates", action="store_true", help="discard updates Telegram holds")
    add_target_options(hook)
    hook.set_defaults(func=run_set_webhook)
    parser.set_defaults(func=lambda args: parser.print_help() or 2)


@dataclass(frozen=True)
class WebhookRequest:
    url: str
    allowed_updates: tuple[str, ...]
    drop_pending_updates: bool = False


def webhook_url(target: Target, given: str | None, prefix: str) -> str:
    """The URL given, else the processors stack's WebhookUrl output."""
    if given:
        if not given.startswith(("https://", "http://")):
            raise GangerError(f"webhook URL {given!r} is not an http(s) URL")
        return given
    stack = f"{prefix}-processors"
    found = outputs(service_client(target, "cloudformation"), stack).get("WebhookUrl")
    if not found:
        raise DeployError(stack, "has no WebhookUrl output; deploy it first or give the URL")
    return found


def set_webhook(credentials: BotCredentials, settings: TelegramSettings, request: WebhookRequest) -> str:
    """Register the webhook and return the URL Telegram now reports."""
    try:
        return asyncio.run(_set_webhook(credentials, settings, request))
    except TelegramError as exc:
        problem = scrub(f"{type(exc).__name__}: {exc}", credentials.token)
        raise TelegramFailure("setWebhook", problem) from None


async def _set_webhook(credentials: BotCredentials, settings: TelegramSettings, request: WebhookRequest) -> str:
    async with telegram.Bot(credentials.token, base_url=settings.api_url()) as bot:
        await bot.set_webhook(
            url=request.url,
            secret_token=credentials.webhook_secret,
            allowed_updates=list(request.allowed_updates),
            drop_pending_updates=request.drop_pending_updates,
        )
        info = await bot.get_webhook_info()
    return str(info.url)


def parse_allowed(value: str) -> tuple[str, ...]:
    return tuple(part.strip() for part in value.split(",") if part.strip())


def run_set_webhook(args: argparse.Namespace) -> int:
    target = resolve_target(args)
    clients = AwsClients(secretsmanager=service_client(target, "secretsmanager"), ssm=service_client(target, "ssm"))
    settings = TelegramSettings(
        token_secret_id="" if args.token_parameter else args.secret_id,
        token_parameter=args.token_parameter,
        base_url=args.telegram_url,
    )
    credentials = CredentialsSource(clients).get(settings)
    request = WebhookRequest(
        webhook_url(target, args.url, args.prefix), parse_allowed(args.allowed_updates), args.drop_pending_updates
    )
    registered = set_webhook(credentials, settings, request)
    print(f"webhook set: {registered} (secret token set, allowed updates: {', '.join(request.allowed_updates)})")
    return 0
