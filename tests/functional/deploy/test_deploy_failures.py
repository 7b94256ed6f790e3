"""A deploy that fails says why and leaves no half-made stack behind."""

from __future__ import annotations

import pytest

from ganger.cli.main import main
from ganger.local.moto_server import EmbeddedAws
from tests.functional.deploy.conftest import stack_statuses

# moto warns (from its server thread) about resource types it only pretends to create.
pytestmark = pytest.mark.filterwarnings("ignore::UserWarning:moto.*")


def deploy(aws: EmbeddedAws, *extra: str) -> int:
    return main(["deploy", "--endpoint-url", aws.endpoint_url, "--code-only", "--yes", *extra])


def test_a_bad_parameter_value_stops_before_any_stack_is_touched(
    aws: EmbeddedAws, capsys: pytest.CaptureFixture[str]
) -> None:
    assert deploy(aws, "--stack", "tables", "--stack", "essentials", "-p", "essentials:RuleState=SOMETIMES") == 2

    err = capsys.readouterr().err
    assert "stack ganger-essentials" in err
    assert "parameter RuleState: 'SOMETIMES' is not one of ENABLED, DISABLED" in err
    assert stack_statuses(aws) == {"ganger-tables": "CREATE_COMPLETE"}


def test_an_unknown_parameter_fails_before_anything_is_deployed(
    aws: EmbeddedAws, capsys: pytest.CaptureFixture[str]
) -> None:
    assert deploy(aws, "-p", "NoSuchThing=1") == 2

    assert "no stack takes a parameter 'NoSuchThing'" in capsys.readouterr().err
    assert stack_statuses(aws) == {}


def test_a_resource_that_cannot_be_made_rolls_the_new_stack_back_and_deletes_it(
    aws: EmbeddedAws, capsys: pytest.CaptureFixture[str]
) -> None:
    # Someone made the Scheduler's log group by hand: the essentials stack cannot create it.
    aws.client("logs").create_log_group(logGroupName="/aws/lambda/sosw_scheduler")

    assert deploy(aws, "--stack", "tables", "--stack", "essentials") == 2

    captured = capsys.readouterr()
    assert "stack ganger-essentials: ResourceAlreadyExistsException: The specified log group already exists" in (
        captured.err
    )
    assert "ganger-essentials: deleting the failed stack" in captured.out
    assert stack_statuses(aws) == {"ganger-tables": "CREATE_COMPLETE"}
    assert "sosw_scheduler" not in [f["FunctionName"] for f in aws.client("lambda").list_functions()["Functions"]]
