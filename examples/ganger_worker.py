"""The example worker on ganger's own Worker base: its reports carry the invocation token and the task,
so the WorkerAssistant archives a completion with one call and only this attempt can close the task.

Same behaviour as sosw_protocol_worker: ``"fail_attempts": N`` fails the first N attempts, ``"sleep": s``
works for s seconds, the result is the sum and count of ``numbers``."""

from __future__ import annotations

import time
from typing import Any

from ganger.processor import handler_for
from ganger.worker import Worker


class ExampleWorker(Worker):
    def process(self, event: dict[str, Any]) -> dict[str, Any]:
        if event.get("sleep"):
            time.sleep(float(event["sleep"]))
        if int(event.get("attempts", 1)) <= int(event.get("fail_attempts", 0)):
            raise RuntimeError(f"failing attempt {event.get('attempts')} on purpose")
        numbers = [n for n in event.get("numbers") or [] if isinstance(n, (int, float))]
        self.stats["numbers"] += len(numbers)
        return {"sum": sum(numbers), "count": len(numbers)}


lambda_handler = handler_for(ExampleWorker)  # type: ignore[arg-type]
