"""AwsClients: boto3 clients created lazily, once, or injected (tests, the local runtime)."""

from __future__ import annotations

import threading
from typing import Any

import boto3
from botocore.config import Config

from ganger import constants

# Standard retry mode retries throttling (ThrottlingException, ProvisionedThroughputExceeded,
# TooManyRequests) and timeouts with backoff, so callers see only errors worth reporting.
CLIENT_CONFIG = Config(retries={"mode": "standard", "max_attempts": 5}, connect_timeout=5, read_timeout=60)


class AwsClients:
    """A bag of clients: pass some in, the rest are made on first use with the default session."""

    def __init__(self, session: Any = None, region: str | None = None, **clients: Any) -> None:
        self._session = session
        self._region = region
        self._clients: dict[str, Any] = dict(clients)
        self._lock = threading.Lock()

    def get(self, service: str) -> Any:
        client = self._clients.get(service)
        if client is None:
            with self._lock:
                client = self._clients.get(service)
                if client is None:
                    session = self._session or boto3.session.Session()
                    region = self._region or constants.getenv(constants.ENV_REGION) or session.region_name
                    client = session.client(
                        service, region_name=region or constants.DEFAULT_REGION, config=CLIENT_CONFIG
                    )
                    self._clients[service] = client
        return client

    @property
    def dynamodb(self) -> Any:
        return self.get("dynamodb")

    @property
    def lambda_(self) -> Any:
        return self.get("lambda")

    @property
    def cloudwatch(self) -> Any:
        return self.get("cloudwatch")

    @property
    def sns(self) -> Any:
        return self.get("sns")

    @property
    def sqs(self) -> Any:
        return self.get("sqs")
