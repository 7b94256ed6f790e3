"""API faults: a share of the DynamoDB, SQS and Lambda calls made anywhere in the process raise a throttle
or a timeout, above botocore's retry handler, so every injected fault reaches ganger's code."""

from __future__ import annotations

import contextlib
import random
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import botocore.client
from botocore.exceptions import ClientError, ReadTimeoutError

FAULTED_SERVICES = ("dynamodb", "sqs", "lambda")
THROTTLES = {
    "dynamodb": ("ThrottlingException", "ProvisionedThroughputExceededException"),
    "sqs": ("ThrottlingException",),
    "lambda": ("TooManyRequestsException", "ThrottlingException"),
}


@dataclass
class ApiFaults:
    """The outermost wrapper of ``_make_api_call``: raises a share of calls before they are sent."""

    rate: float
    rng: random.Random
    active: bool = False
    calls: int = 0
    lost_response_share: float = 0.0  # of the timeouts: raised after the call was done (its response lost)
    injected: Counter[str] = field(default_factory=Counter)
    by_service: Counter[str] = field(default_factory=Counter)
    resends: int = 0
    resent: int = 0

    def fault(self, service: str, operation: str) -> Exception:
        if self.rng.random() < 0.3:
            return ReadTimeoutError(endpoint_url=f"https://{service}.us-east-1.amazonaws.com/")
        code = self.rng.choice(THROTTLES[service])
        return ClientError({"Error": {"Code": code, "Message": "Rate exceeded (chaos)"}}, operation)

    def count(self, service: str, exc: Exception, after: bool) -> None:
        kind = exc.response["Error"]["Code"] if isinstance(exc, ClientError) else type(exc).__name__
        self.injected[f"{kind}{' (response lost)' if after else ''}"] += 1
        self.by_service[service] += 1

    @contextlib.contextmanager
    def installed(self) -> Iterator[ApiFaults]:
        original = botocore.client.BaseClient._make_api_call
        faults = self

        def _make_api_call(client: Any, operation_name: str, api_params: dict[str, Any]) -> Any:
            service = client.meta.service_model.service_name
            if not (faults.active and service in FAULTED_SERVICES):
                return original(client, operation_name, api_params)
            for attempt in range(faults.resends + 1):  # standard retry mode sends a faulted call again
                faults.calls += 1
                if faults.rng.random() >= faults.rate:
                    return original(client, operation_name, api_params)
                exc = faults.fault(service, operation_name)
                after = isinstance(exc, ReadTimeoutError) and faults.rng.random() < faults.lost_response_share
                faults.count(service, exc, after)
                if after:
                    original(client, operation_name, api_params)
                if attempt < faults.resends:
                    faults.resent += 1
            raise exc

        botocore.client.BaseClient._make_api_call = _make_api_call  # type: ignore[method-assign]
        try:
            yield self
        finally:
            botocore.client.BaseClient._make_api_call = original  # type: ignore[method-assign]

    @contextlib.contextmanager
    def paused(self) -> Iterator[None]:
        was, self.active = self.active, False
        try:
            yield
        finally:
            self.active = was
