from __future__ import annotations

import datetime
import zoneinfo

from ganger.local.telegram_updates import UpdateBuilder
from tests.functional.processors.conftest import USER, Bot

SG = zoneinfo.ZoneInfo("Asia/Singapore")
AFTERNOON = datetime.datetime(2024, 5, 1, 15, 0, tzinfo=SG).timestamp()


def test_a_feeding_then_today_answers_the_total(bot: Bot) -> None:
    updates = UpdateBuilder(now=lambda: AFTERNOON)
    assert bot.send(updates.text("12pm 120ml milk", chat_id=USER))[0] == 200
    assert bot.send(updates.text("today", chat_id=USER))[0] == 200

    recorded, listed = bot.texts_to(USER)
    assert recorded.startswith("Recorded 120 ml milk at 12:00 on 2024-05-01")
    assert listed == "Feedings on 2024-05-01:\n12:00 milk 120 ml\nTotal drank = 120 ml"
    (row,) = bot.system.scan("feedings")
    assert (row["date"], row["amount"], row["category"], row["time"]) == ("2024-05-01", 120, "milk", "12:00")
    assert row["timestamp"].startswith("2024-05-01T12:00:00+08:00")


def test_yesterday_and_an_amount_first(bot: Bot) -> None:
    day_before = UpdateBuilder(first_update_id=1, now=lambda: AFTERNOON - 86400)
    today = UpdateBuilder(first_update_id=100, now=lambda: AFTERNOON)
    bot.send(day_before.text("120ml milk", chat_id=USER))
    bot.send(day_before.text("7:30 90 ml formula", chat_id=USER))
    bot.send(today.text("Yesterday", chat_id=USER))

    answer = bot.texts_to(USER)[-1]
    assert answer.splitlines() == [
        "Feedings on 2024-04-30:",
        "07:30 formula 90 ml",
        "15:00 milk 120 ml",
        "Total drank = 210 ml",
    ]
