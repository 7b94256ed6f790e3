"""Fixtures that start the local runtime's servers on 127.0.0.1 and stop them after each test."""

from __future__ import annotations

import io
import zipfile
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from ganger.local.lambda_endpoint import LocalLambdaEndpoint
from ganger.local.moto_server import EmbeddedAws

ROLE_POLICY = '{"Version": "2012-10-17", "Statement": []}'


@pytest.fixture(scope="session")
def aws() -> Iterator[EmbeddedAws]:
    """One moto server for the session; every test that uses it starts from an empty account."""
    server = EmbeddedAws()
    server.start()
    yield server
    server.stop()


@pytest.fixture
def fresh_aws(aws: EmbeddedAws) -> Iterator[EmbeddedAws]:
    aws.reset()
    yield aws
    aws.reset()


@pytest.fixture
def endpoint(fresh_aws: EmbeddedAws) -> Iterator[LocalLambdaEndpoint]:
    server = LocalLambdaEndpoint(fresh_aws.client("lambda"), max_concurrency=2)
    server.start()
    yield server
    server.stop()


def _zip() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("handler.py", "def handler(event, context):\n    return event\n")
    return buffer.getvalue()


@pytest.fixture
def create_function(fresh_aws: EmbeddedAws) -> Callable[..., dict[str, Any]]:
    """Deploy a function into moto whose Handler names a module in this test package."""
    iam = fresh_aws.client("iam")
    role = iam.create_role(RoleName="local-test", AssumeRolePolicyDocument=ROLE_POLICY)["Role"]["Arn"]
    lam = fresh_aws.client("lambda")

    def create(name: str, handler: str, env: dict[str, str] | None = None, timeout: int = 30) -> dict[str, Any]:
        result: dict[str, Any] = lam.create_function(
            FunctionName=name,
            Runtime="python3.11",
            Role=role,
            Handler=handler,
            Code={"ZipFile": _zip()},
            Timeout=timeout,
            MemorySize=256,
            Environment={"Variables": env or {}},
        )
        return result

    return create
