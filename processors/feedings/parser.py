"""Parsing the feeding messages people type: ``12pm 120ml milk``, ``120ml``, ``7:30 90 ml formula``,
``bottle 2 oz at 5pm``.

Pure functions, no AWS. The amount may come first (the original bot parsed ``120ml milk`` as 0).
Ounces are recorded in ml (1 oz = 29.57 ml, rounded); the entry keeps what was typed.
"""

from __future__ import annotations

import datetime
import re
from dataclasses import dataclass

_AMOUNT = re.compile(r"(?<![\d:.,])(\d{1,4}(?:[.,]\d+)?)\s*(?P<unit>ml|fl\.?\s*oz|oz|ounces?)(?![a-z])", re.IGNORECASE)
ML_PER_OUNCE = 29.57
_TIME_12H = re.compile(r"(?<![\d:])(\d{1,2})(?:[:.](\d{2}))?\s*([ap])\.?m\.?(?![a-z])", re.IGNORECASE)
_TIME_24H = re.compile(r"(?<![\d:])(\d{1,2}):(\d{2})(?![\d])")
_FILLER = {"at", "@", "of", "-", "ml", "oz", "fl"}
MAX_AMOUNT_ML = 2000
FUTURE_GRACE = datetime.timedelta(hours=1)


@dataclass(frozen=True)
class FeedingEntry:
    """What a message says: an amount, a category and, optionally, a time of day."""

    amount_ml: int
    category: str
    at: datetime.time | None = None
    ounces: float | None = None  # what was typed, when the amount was in ounces


def parse_feeding(text: str, default_category: str = "milk") -> FeedingEntry | None:
    """The entry a message describes, or None when it names no amount in ml or ounces."""
    amount_match = _AMOUNT.search(text)
    if amount_match is None:
        return None
    number = float(amount_match.group(1).replace(",", "."))
    ounces = None if amount_match.group("unit").lower() == "ml" else number
    amount = round(number * ML_PER_OUNCE) if ounces is not None else round(number)
    if not 0 < amount <= MAX_AMOUNT_ML:
        return None
    rest = text[: amount_match.start()] + " " + text[amount_match.end() :]
    at, rest = _take_time(rest)
    words = [w for w in re.findall(r"[^\W\d_]+", rest) if w.lower() not in _FILLER]
    category = " ".join(words).lower() or default_category
    return FeedingEntry(amount, category, at, ounces)


def _take_time(text: str) -> tuple[datetime.time | None, str]:
    match = _TIME_12H.search(text)
    if match:
        hour, minute = int(match.group(1)), int(match.group(2) or 0)
        if 1 <= hour <= 12 and minute < 60:
            hour = hour % 12 + (12 if match.group(3).lower() == "p" else 0)
            return datetime.time(hour, minute), text[: match.start()] + " " + text[match.end() :]
    match = _TIME_24H.search(text)
    if match:
        hour, minute = int(match.group(1)), int(match.group(2))
        if hour < 24 and minute < 60:
            return datetime.time(hour, minute), text[: match.start()] + " " + text[match.end() :]
    return None, text


def feeding_time(entry: FeedingEntry, sent_at: datetime.datetime) -> datetime.datetime:
    """When the feeding happened, in ``sent_at``'s time zone.

    A time of day later than the message (beyond a small grace) means the day before: "11pm 90ml"
    sent at 00:30 is last night's feeding.
    """
    if entry.at is None:
        return sent_at.replace(second=0, microsecond=0)
    at = sent_at.replace(hour=entry.at.hour, minute=entry.at.minute, second=0, microsecond=0)
    if at - sent_at > FUTURE_GRACE:
        at -= datetime.timedelta(days=1)
    return at
