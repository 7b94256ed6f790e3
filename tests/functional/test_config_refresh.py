"""A failed config read never fails a run that has a cached config: the run goes on with it, logged."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from typing import Any

import botocore.client
import pytest
from botocore.exceptions import ClientError, ReadTimeoutError

from benchmarks.harness import InProcessSystem
from ganger import constants
from tests.functional.conftest import EXAMPLE_LABOURER

THROTTLED = ClientError({"Error": {"Code": "ThrottlingException", "Message": "Rate exceeded"}}, "BatchGetItem")


def job(n: int, name: str = "first") -> dict[str, Any]:
    payload = {"sections": [f"{name}{i}" for i in range(n)], "isolate_sections": True}
    return {"job": {"lambda_name": "example_worker", "job_id": name, "payload": payload}}


def _reads_config(operation: str, params: dict[str, Any]) -> bool:
    if operation == "GetItem":
        return params.get("TableName") == constants.DEFAULT_CONFIG_TABLE
    return operation == "BatchGetItem" and constants.DEFAULT_CONFIG_TABLE in params.get("RequestItems", {})


@pytest.fixture
def config_reads_fail() -> Iterator[Callable[[Exception], None]]:
    """Call it with an error: from then on every read of the config table raises that error."""
    original = botocore.client.BaseClient._make_api_call
    failing: list[Exception] = []

    def make_api_call(client: Any, operation: str, params: dict[str, Any]) -> Any:
        if failing and _reads_config(operation, params):
            raise failing[0]
        return original(client, operation, params)

    botocore.client.BaseClient._make_api_call = make_api_call  # type: ignore[method-assign]
    try:
        yield failing.append
    finally:
        botocore.client.BaseClient._make_api_call = original  # type: ignore[method-assign]


@pytest.mark.parametrize(
    "error",
    [THROTTLED, ReadTimeoutError(endpoint_url="https://dynamodb"), RuntimeError("malformed response")],
    ids=["throttled", "timeout", "anything"],
)
def test_runs_go_on_with_the_cached_config_when_the_read_fails(
    system: InProcessSystem,
    config_reads_fail: Callable[[Exception], None],
    caplog: pytest.LogCaptureFixture,
    error: Exception,
) -> None:
    # the Orchestrator alone dispatches (the minute tick), so this run shows what a failed config read does to it
    system.set_labourers({"example_worker": {**EXAMPLE_LABOURER["example_worker"], "dispatch": "tick"}})
    system.schedule(job(1))
    system.tick()  # every essential has run once and cached its config and the labourers
    for processor in system.essentials.values():
        for cached in (processor._config, processor._labourers):
            if cached is not None:
                cached.invalidate()  # the TTL passing: the next run re-reads
    system.schedule(job(7, "second"))
    config_reads_fail(error)
    with caplog.at_level(logging.WARNING, logger="ganger.config"):
        orchestrated, scavenged = system.tick()
    assert orchestrated["labourers"]["example_worker"]["dispatched"] == 7
    assert scavenged is not None
    assert len(system.scan("sosw_closed_tasks")) == 8  # the workers ran and their reports were archived
    assert "keeping the cached config" in caplog.text and type(error).__name__ in caplog.text


def test_without_a_cached_config_the_read_error_is_the_run_error(
    system: InProcessSystem, config_reads_fail: Callable[[Exception], None]
) -> None:
    config_reads_fail(THROTTLED)
    with pytest.raises(ClientError, match="ThrottlingException"):
        system.run("sosw_orchestrator")
