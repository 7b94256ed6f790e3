"""`ganger deploy --endpoint-url` into a moto server: every stack, config pushed, a job run through the
deployed functions (their Handlers run in-process by the local Lambda endpoint) to the closed table."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from examples import sosw_protocol_worker
from ganger.cli.main import main
from ganger.deploy.functions import PACKAGES
from ganger.deploy.stacks import TEMPLATES
from ganger.local.lambda_endpoint import LocalLambdaEndpoint
from ganger.local.moto_server import EmbeddedAws
from tests.functional.deploy.conftest import stack_statuses

# moto warns (from its server thread) about resource types it only pretends to create.
pytestmark = pytest.mark.filterwarnings("ignore::UserWarning:moto.*")

ROOT = Path(__file__).resolve().parents[3]


def deploy(aws: EmbeddedAws, *extra: str) -> int:
    return main(["deploy", "--endpoint-url", aws.endpoint_url, "--code-only", *extra])


@pytest.fixture
def lambda_endpoint(aws: EmbeddedAws, monkeypatch: pytest.MonkeyPatch) -> Iterator[LocalLambdaEndpoint]:
    """Deployed functions run in this process; their AWS calls go to moto, their invocations here."""
    endpoint = LocalLambdaEndpoint(aws.client("lambda"), max_concurrency=4)
    endpoint.start()
    monkeypatch.setenv("AWS_ENDPOINT_URL", aws.endpoint_url)
    monkeypatch.setenv("AWS_ENDPOINT_URL_LAMBDA", endpoint.url)
    monkeypatch.setattr(sosw_protocol_worker, "_lambda", None)
    yield endpoint
    endpoint.stop()


def test_deploy_every_stack_push_config_and_run_a_job_to_the_closed_table(
    aws: EmbeddedAws, lambda_endpoint: LocalLambdaEndpoint, capsys: pytest.CaptureFixture[str]
) -> None:
    assert deploy(aws, "--yes") == 0
    deployed = capsys.readouterr().out
    assert main(["config", "push", str(ROOT / "config"), "--endpoint-url", aws.endpoint_url]) == 0
    pushed = capsys.readouterr().out
    lam = aws.client("lambda", endpoint_url=lambda_endpoint.url)
    job = (ROOT / "examples" / "job.json").read_bytes()
    scheduled = lam.invoke(FunctionName="sosw_scheduler", Payload=job)
    assert "FunctionError" not in scheduled, scheduled["Payload"].read()
    lam.invoke(FunctionName="sosw_orchestrator", Payload=b"{}")
    assert lambda_endpoint.wait_idle(timeout=60)

    closed = aws.client("dynamodb").scan(TableName="sosw_closed_tasks")["Items"]
    statuses = {s: "CREATE_COMPLETE" for s in (f"ganger-{p.stem}" for p in TEMPLATES.glob("*.yaml"))}
    assert stack_statuses(aws) == statuses
    assert "Change set for ganger-essentials (CREATE):" in deployed
    assert "ganger-essentials: created" in deployed
    assert "WorkerAssistantArn = arn:aws:lambda:us-east-1:123456789012:function:sosw_worker_assistant" in deployed
    assert "create    ganger_labourers" in pushed
    assert len(closed) == 3  # sections isolated: north's 4 stores in batches of 2, south's 3 stores in one
    assert {item["labourer_id_task_status"]["S"] for item in closed} == {"example_worker_1"}
    assert lambda_endpoint.stats().errors == {}


def test_second_deploy_finds_every_stack_up_to_date(aws: EmbeddedAws, capsys: pytest.CaptureFixture[str]) -> None:
    assert deploy(aws, "--yes", "--stack", "tables", "--stack", "essentials") == 0
    capsys.readouterr()

    assert deploy(aws, "--yes", "--stack", "tables", "--stack", "essentials") == 0

    out = capsys.readouterr().out
    assert "ganger-tables: unchanged" in out
    assert "ganger-essentials: unchanged" in out
    assert "Change set" not in out
    assert "TasksTable = sosw_tasks" in out


def test_a_changed_parameter_updates_the_stack_through_a_change_set(
    aws: EmbeddedAws, capsys: pytest.CaptureFixture[str]
) -> None:
    assert deploy(aws, "--yes", "--stack", "tables", "--stack", "essentials") == 0
    capsys.readouterr()

    assert deploy(aws, "--yes", "--stack", "tables", "--stack", "essentials", "-p", "RuleState=DISABLED") == 0

    out = capsys.readouterr().out
    rule = aws.client("events").describe_rule(Name="ganger-orchestrator-every-minute")
    assert "Change set for ganger-essentials (UPDATE):" in out
    assert "ganger-essentials: updated" in out
    assert rule["State"] == "DISABLED"


def test_dry_run_shows_the_change_sets_and_leaves_nothing(aws: EmbeddedAws, capsys: pytest.CaptureFixture[str]) -> None:
    assert deploy(aws, "--dry-run") == 0

    out = capsys.readouterr().out
    assert "Change set for ganger-tables (CREATE):" in out
    assert "Add TasksTable (AWS::DynamoDB::Table)" in out
    assert "ganger-tables: planned" in out
    assert stack_statuses(aws) == {}
    assert aws.client("s3").list_buckets()["Buckets"] == []


def test_the_default_artifacts_bucket_is_made_and_holds_the_package(
    aws: EmbeddedAws, capsys: pytest.CaptureFixture[str]
) -> None:
    assert deploy(aws, "--yes", "--stack", "tables") == 0

    listed = aws.client("s3").list_objects_v2(Bucket="ganger-artifacts-123456789012-us-east-1")
    keys = sorted(o["Key"].rsplit("-", 1)[0] for o in listed["Contents"])
    assert keys == sorted(f"ganger/{spec.name}" for spec in PACKAGES)  # one package per function
    assert "s3://ganger-artifacts-123456789012-us-east-1/ (12 uploaded" in capsys.readouterr().out


def test_without_yes_and_without_a_terminal_nothing_is_executed(
    aws: EmbeddedAws, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("sys.stdin.isatty", lambda: False)

    assert deploy(aws, "--stack", "tables") == 2

    assert "pass --yes" in capsys.readouterr().err
    assert stack_statuses(aws) == {}
