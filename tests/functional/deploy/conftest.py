"""A moto server on 127.0.0.1 for `ganger deploy --endpoint-url`, reset before each test."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import pytest

from ganger.local.moto_server import EmbeddedAws


@pytest.fixture(scope="module")
def moto_server() -> Iterator[EmbeddedAws]:
    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # one line per request otherwise
    server = EmbeddedAws()
    server.start()
    yield server
    server.stop()


@pytest.fixture
def aws(moto_server: EmbeddedAws, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[EmbeddedAws]:
    """An empty account, and no `ganger local` state file to be found."""
    monkeypatch.setenv("GANGER_HOME", str(tmp_path / "ganger-home"))
    moto_server.reset()
    yield moto_server
    moto_server.reset()


def stack_statuses(aws: EmbeddedAws) -> dict[str, str]:
    """Every stack that is not deleted, by name."""
    summaries = aws.client("cloudformation").list_stacks()["StackSummaries"]
    return {s["StackName"]: s["StackStatus"] for s in summaries if s["StackStatus"] != "DELETE_COMPLETE"}
