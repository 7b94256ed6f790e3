"""The feedings feature's chat handlers: ``12pm 120ml milk`` / ``bottle 2 oz at 5pm`` is recorded;
``today`` / ``yesterday`` give the day's total. Settings: the ``feedings_config`` document."""

from __future__ import annotations

import datetime

from processors.feedings.log import CONFIG_DOCUMENT, Author, FeedingsConfig, FeedingsLog, format_day, format_recorded
from processors.telegram.incoming import Incoming
from processors.telegram.router import NOT_UNDERSTOOD, ChatBot, ChatHandler, Reply
from processors.telegram.routes import Kind, Route


def _log(bot: ChatBot) -> FeedingsLog:
    return FeedingsLog(bot.clients.dynamodb, bot.sibling_config(CONFIG_DOCUMENT, FeedingsConfig))


@ChatHandler.on(Kind.FEEDING)
def feeding(bot: ChatBot, incoming: Incoming, target: Route) -> Reply | None:
    log = _log(bot)
    entry = log.parse(incoming.text)
    if entry is None:
        return Reply(NOT_UNDERSTOOD)
    if not log.may_write(incoming.user_id):
        return None
    author = Author(incoming.author, incoming.user_id, incoming.chat_id, incoming.message_id)
    record = log.record(entry, incoming.text, incoming.sent_at, author)
    day = log.day(datetime.date.fromisoformat(record.date))
    return Reply(format_recorded(record, day, entry.ounces))


@ChatHandler.on(Kind.FEEDINGS_DAY)
def feedings_day(bot: ChatBot, incoming: Incoming, target: Route) -> Reply:
    log = _log(bot)
    date = log.day_of(target.argument, incoming.sent_at)
    return Reply(format_day(date, log.day(date)))


HANDLERS = (feeding, feedings_day)
