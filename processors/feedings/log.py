"""Feedings log (the milk bot): "12pm 120ml milk" is recorded; ``today`` / ``yesterday`` list the day.

Table ``feedings``: HASH ``date`` (YYYY-MM-DD in the family's time zone), RANGE ``timestamp``
(local ISO time plus the message, so a redelivered message overwrites itself instead of counting
twice). Every answer ends with the day's ``Total drank = N ml``. The Telegram webhook calls
``FeedingsLog`` inline (it is fast); ``lambda_handler`` serves direct invocations (CLI, demos).
"""

from __future__ import annotations

import datetime
import logging
import zoneinfo
from dataclasses import dataclass, field
from typing import Any

from ganger.processor import Processor, handler_for
from processors.feedings.parser import FeedingEntry, feeding_time, parse_feeding

logger = logging.getLogger(__name__)
CONFIG_DOCUMENT = "feedings_config"
PAGE_LIMIT = 100


@dataclass(frozen=True)
class FeedingsConfig:
    table: str = "feedings"
    time_zone: str = "Asia/Singapore"
    default_category: str = "milk"
    writers: list[int] = field(default_factory=list)  # empty: every allowed bot user may write

    def __post_init__(self) -> None:
        try:
            zoneinfo.ZoneInfo(self.time_zone)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown time_zone {self.time_zone!r}") from exc

    @property
    def zone(self) -> zoneinfo.ZoneInfo:
        return zoneinfo.ZoneInfo(self.time_zone)


@dataclass(frozen=True)
class FeedingRecord:
    date: str
    timestamp: str
    time: str
    amount_ml: int
    category: str
    text: str = ""
    author: str = ""

    @classmethod
    def from_item(cls, item: dict[str, Any]) -> FeedingRecord:
        def s(name: str) -> str:
            return str(item.get(name, {}).get("S", ""))

        amount = int(float(item.get("amount", {}).get("N", "0")))
        return cls(s("date"), s("timestamp"), s("time"), amount, s("category"), s("text"), s("author"))


@dataclass(frozen=True)
class Author:
    name: str
    user_id: int
    chat_id: int
    message_id: int


class FeedingsLog:
    """Every access to the feedings table, and the answers built from it."""

    def __init__(self, dynamodb: Any, config: FeedingsConfig) -> None:
        self._ddb = dynamodb
        self.config = config

    def local(self, moment: datetime.datetime) -> datetime.datetime:
        return moment.astimezone(self.config.zone)

    def may_write(self, user_id: int) -> bool:
        return not self.config.writers or user_id in self.config.writers

    def parse(self, text: str) -> FeedingEntry | None:
        return parse_feeding(text, self.config.default_category)

    def record(self, entry: FeedingEntry, text: str, sent_at: datetime.datetime, author: Author) -> FeedingRecord:
        at = feeding_time(entry, self.local(sent_at))
        record = FeedingRecord(
            date=at.date().isoformat(),
            timestamp=f"{at.isoformat()}#{author.chat_id}:{author.message_id}",
            time=at.strftime("%H:%M"),
            amount_ml=entry.amount_ml,
            category=entry.category,
            text=text[:500],
            author=author.name,
        )
        self._ddb.put_item(
            TableName=self.config.table,
            Item={
                "date": {"S": record.date},
                "timestamp": {"S": record.timestamp},
                "time": {"S": record.time},
                "amount": {"N": str(record.amount_ml)},
                "category": {"S": record.category},
                "text": {"S": record.text},
                "author": {"S": record.author},
                "author_id": {"N": str(author.user_id)},
                "chat_id": {"N": str(author.chat_id)},
            },
        )
        return record

    def day(self, date: datetime.date) -> list[FeedingRecord]:
        """The day's records, oldest first (paginated)."""
        records: list[FeedingRecord] = []
        kwargs: dict[str, Any] = {
            "TableName": self.config.table,
            "KeyConditionExpression": "#d = :d",
            "ExpressionAttributeNames": {"#d": "date"},
            "ExpressionAttributeValues": {":d": {"S": date.isoformat()}},
            "Limit": PAGE_LIMIT,
        }
        while True:
            page = self._ddb.query(**kwargs)
            records.extend(FeedingRecord.from_item(item) for item in page.get("Items", []))
            if "LastEvaluatedKey" not in page:
                return records
            kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]

    def day_of(self, which: str, sent_at: datetime.datetime) -> datetime.date:
        today = self.local(sent_at).date()
        return today - datetime.timedelta(days=1) if which.lower() == "yesterday" else today


def total_ml(records: list[FeedingRecord]) -> int:
    return sum(r.amount_ml for r in records)


def format_day(date: datetime.date, records: list[FeedingRecord]) -> str:
    if not records:
        return f"No feedings recorded on {date.isoformat()}.\nTotal drank = 0 ml"
    lines = [f"Feedings on {date.isoformat()}:"]
    lines += [f"{r.time} {r.category} {r.amount_ml} ml" for r in records]
    lines.append(f"Total drank = {total_ml(records)} ml")
    return "\n".join(lines)


def format_recorded(record: FeedingRecord, day_records: list[FeedingRecord], ounces: float | None = None) -> str:
    """The confirmation; an amount typed in ounces is shown converted (``59 ml (2 oz)``)."""
    typed = f" ({ounces:g} oz)" if ounces is not None else ""
    return (
        f"Recorded {record.amount_ml} ml{typed} {record.category} at {record.time} on {record.date}.\n"
        f"Total drank = {total_ml(day_records)} ml"
    )


class Feedings(Processor[FeedingsConfig]):
    """Direct invocations: ``{"day": "today" | "yesterday" | "YYYY-MM-DD"}`` lists a day."""

    config_class = FeedingsConfig
    default_function_name = "feedings"

    def handle(self, event: Any) -> dict[str, Any]:
        log = FeedingsLog(self.clients.dynamodb, self.config)
        day = str((event or {}).get("day", "today"))
        now = datetime.datetime.fromtimestamp(self.clock(), datetime.UTC)
        date = log.day_of(day, now) if day in ("today", "yesterday") else datetime.date.fromisoformat(day)
        records = log.day(date)
        return {
            "date": date.isoformat(),
            "total_ml": total_ml(records),
            "text": format_day(date, records),
            "records": [r.__dict__ for r in records],
        }


lambda_handler = handler_for(Feedings)
