"""What every part of the task store shares: the client, the tables, the sleep and jitter between retries."""

from __future__ import annotations

import logging
import random
from collections.abc import Callable
from typing import Any

from botocore.exceptions import ClientError

from ganger.backoff import real_sleep
from ganger.keys import KeyCounter
from ganger.rates import RateBuckets
from ganger.slots import SlotCounter
from ganger.tasks.records import TableNames

logger = logging.getLogger("ganger.tasks")


def error_code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))


class StoreBase:
    """The injected DynamoDB client and settings; no I/O here."""

    def __init__(
        self,
        dynamodb: Any,
        tables: TableNames | None = None,
        sleep: Callable[[float], None] = real_sleep,
        page_size: int = 100,
        rand: random.Random | None = None,
    ) -> None:
        self._ddb = dynamodb
        self.tables = tables or TableNames.from_env()
        self._sleep = sleep
        self._rand = rand or random.Random()
        self.page_size = page_size
        self.slots = SlotCounter(dynamodb, self.tables.tasks, sleep, self._rand)
        self.rates = RateBuckets(dynamodb, self.tables.tasks)
        self.keys = KeyCounter(dynamodb, self.tables.tasks, sleep, self._rand)

    @property
    def sleep(self) -> Callable[[float], None]:
        """The injected sleep between retries (a simulator's clock, or time.sleep)."""
        return self._sleep

    @property
    def rand(self) -> random.Random:
        """The injected random source of the retries' jitter."""
        return self._rand
