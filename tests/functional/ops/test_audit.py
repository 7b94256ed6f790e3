"""The optional audit trail: nothing without the table and the flag; one row per report with a TTL when on."""

from __future__ import annotations

import boto3
import pytest

from benchmarks.harness import ROOT, Clock, InProcessSystem, deploy_tables
from ganger import audit
from tests.functional.ops.conftest import job


@pytest.fixture
def audit_table(system: InProcessSystem, monkeypatch: pytest.MonkeyPatch) -> str:
    deploy_tables(boto3.client("cloudformation"), "ganger-audit", ROOT / "yaml" / "audit.yaml")
    monkeypatch.setenv(audit.ENV_AUDIT_TABLE, "ganger_task_audit")
    return "ganger_task_audit"


def test_audit_is_off_by_default(system: InProcessSystem, audit_table: str) -> None:
    system.schedule(job(2))
    system.tick()
    assert len(system.scan("sosw_closed_tasks")) == 2
    assert system.scan(audit_table) == []


def test_enabled_audit_records_each_report_with_a_ttl(system: InProcessSystem, clock: Clock, audit_table: str) -> None:
    system.config.put(audit.AUDIT_DOCUMENT, {"enabled": True, "ttl_days": 7})
    system.schedule(job(2, fail_attempts=1))
    system.tick()  # both fail their first attempt
    clock.advance(11)
    system.tick()  # requeued
    system.tick()  # and completed

    rows = system.scan(audit_table)
    assert sorted(r["event"] for r in rows) == ["completed", "completed", "failed_retried", "failed_retried"]
    assert all(r["expires_at"] == int(r["at"]) + 7 * 86400 for r in rows)
    task_id = system.scan("sosw_closed_tasks")[0]["task_id"]
    trail = audit.trail(system.clients.dynamodb, system.config, audit_table)
    assert [(e.event, e.details) for e in trail.events(task_id)] == [
        ("failed_retried", {"attempt": 1}), ("completed", {"attempt": 2})
    ]  # fmt: skip


def test_an_invalid_audit_document_is_refused_naming_the_field() -> None:
    from ganger.documents import validate
    from ganger.errors import ConfigError

    with pytest.raises(ConfigError, match="`ganger_audit`: field `ttl_days`"):
        validate(audit.AUDIT_DOCUMENT, {"enabled": True, "ttl_days": "week"})
