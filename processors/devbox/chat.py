"""The dev-box feature's chat handlers: ``/up``, ``/status``, ``/shutdown`` (inline buttons), the
plain ``Shutdown [code]`` and the buttons' presses. Settings: the ``devbox_worker_config`` document."""

from __future__ import annotations

import functools
from collections.abc import Callable

from botocore.exceptions import ClientError

from ganger.telegram import InlineKeyboard, Keyboard
from processors.devbox import config as devbox_config
from processors.devbox.worker import DevboxService, status_message
from processors.telegram.incoming import Incoming
from processors.telegram.jobs import schedule_job
from processors.telegram.router import ACCESS_DENIED, ChatBot, ChatHandler, Reply
from processors.telegram.routes import CANCEL_PRESS, SHUTDOWN_PRESS, Kind, PressDataTooLong, Route, press_data

Handler = Callable[[ChatBot, Incoming, Route], Reply]


def _config(bot: ChatBot) -> devbox_config.DevboxConfig:
    return devbox_config.effective(bot.sibling_config(devbox_config.CONFIG_DOCUMENT, devbox_config.DevboxConfig))


def _refusal(exc: devbox_config.DevboxAccessError) -> Reply:
    if not exc.known:
        return Reply(ACCESS_DENIED)
    codes = ", ".join("(default)" if c == devbox_config.DEFAULT_CODE else c for c in exc.known)
    return Reply(f"You have no instance {exc.code!r}. Your instances: {codes}.")


def _guarded(action: Handler) -> Handler:
    """A user without that instance is told which ones they have; a configured instance that does not exist is
    named as such."""

    @functools.wraps(action)
    def run(bot: ChatBot, incoming: Incoming, target: Route) -> Reply:
        try:
            return action(bot, incoming, target)
        except devbox_config.DevboxAccessError as exc:
            return _refusal(exc)
        except ClientError as exc:  # the configured instance is not in this account: say so, not "went wrong"
            if not str(exc.response.get("Error", {}).get("Code", "")).startswith("InvalidInstanceID"):
                raise
            message = exc.response["Error"].get("Message", "")
            return Reply(f"Your dev box is not in this AWS account ({message}). Ask an admin to check the "
                         f"`{devbox_config.CONFIG_DOCUMENT}` config document.")  # fmt: skip

    return run


@ChatHandler.on(Kind.DEVBOX_STATUS)
@_guarded
def status(bot: ChatBot, incoming: Incoming, target: Route) -> Reply:
    config = _config(bot)
    box = devbox_config.resolve(config, incoming.user_id, target.argument)
    info = DevboxService(bot.clients.get("ec2"), config).describe(box)
    return Reply(status_message(config, box, info, bot.clock()))


@ChatHandler.on(Kind.DEVBOX_UP)
@_guarded
def up(bot: ChatBot, incoming: Incoming, target: Route) -> Reply:
    box = devbox_config.resolve(_config(bot), incoming.user_id, target.argument)
    payload = {"action": "up", "user_id": incoming.user_id, "code": box.code}
    schedule_job(bot, incoming, bot.config.labourers.devbox, "devbox", f"up {box.code}".strip(), payload)
    return Reply(f"Starting {box.label.lower()}... I will message you when it is running.")


@ChatHandler.on(Kind.DEVBOX_CONFIRM_SHUTDOWN)
@_guarded
def confirm(bot: ChatBot, incoming: Incoming, target: Route) -> Reply:
    box = devbox_config.resolve(_config(bot), incoming.user_id, target.argument)
    button = f"Shutdown {box.code.capitalize()}".strip()
    try:  # bound to the asker: in a group, another user's press changes nothing
        shutdown = press_data(SHUTDOWN_PRESS, incoming.user_id, box.code)
    except PressDataTooLong:
        return Reply(f"The instance code {box.code!r} is too long for a button; send `Shutdown {box.code}` instead.")
    buttons = ((button, shutdown), ("Cancel", press_data(CANCEL_PRESS, incoming.user_id)))
    return Reply(f"Stop {box.label.lower()}? Are you sure?", InlineKeyboard((buttons,)))


@ChatHandler.on(Kind.DEVBOX_SHUTDOWN)
@_guarded
def shutdown(bot: ChatBot, incoming: Incoming, target: Route) -> Reply:
    box = devbox_config.resolve(_config(bot), incoming.user_id, target.argument)
    payload = {"action": "shutdown", "user_id": incoming.user_id, "code": box.code}
    schedule_job(bot, incoming, bot.config.labourers.devbox, "devbox", f"shutdown {box.code}".strip(), payload)
    return Reply(f"Stopping {box.label.lower()}... I will message you when it is stopped.", Keyboard(remove=True))


@ChatHandler.on(Kind.CANCEL)
def cancel(bot: ChatBot, incoming: Incoming, target: Route) -> Reply:
    return Reply("Canceled", Keyboard(remove=True))


HANDLERS = (status, up, confirm, shutdown, cancel)
