"""What the templates' roles and resource policies let a caller do, decided by the IAM evaluator (iam_sim).

Each request is the one the code makes (the start mark as ``StartMarks`` writes it, the tags the dev-box
worker sets) or the one an attacker holding that role would make instead.
"""

from __future__ import annotations

from typing import Any

import pytest

from ganger.deploy.stacks import TEMPLATES
from ganger.tasks.start_marks import Start, StartMarks
from processors.devbox.worker import UP_AT_TAG, WARNED_AT_TAG
from tests.security.iam_sim import ACCOUNT, REGION, Request, Statement, Template, allowed, api_gateway_allows

PROCESSORS = Template(TEMPLATES / "processors.yaml")
FLEET = Template(TEMPLATES / "fleet.yaml", {"CodeBucket": "ganger-code", "CodeKey": "fleet/pkg.zip"})
TASKS_TABLE = f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/sosw_tasks"
START_MARKING_ROLES = ["VideoWorkerRole", "ImageWorkerRole", "DevboxWorkerRole"]
TELEGRAM = ["149.154.160.1", "149.154.175.254", "91.108.4.1", "91.108.7.254"]
ELSEWHERE = ["149.154.176.1", "91.108.8.1", "203.0.113.7", "127.0.0.1"]


class RecordingDynamoDB:
    def __init__(self) -> None:
        self.puts: list[dict[str, Any]] = []

    def put_item(self, **params: Any) -> dict[str, Any]:
        self.puts.append(params)
        return {}


def put_request(params: dict[str, Any]) -> Request:
    """The IAM request context of a PutItem: its partition key and its item's attribute names."""
    context: dict[str, Any] = {
        "dynamodb:LeadingKeys": [params["Item"]["task_id"]["S"]],
        "dynamodb:Attributes": sorted(params["Item"]),
    }
    for parameter, key in (("ReturnValues", "dynamodb:ReturnValues"), ("Select", "dynamodb:Select")):
        if parameter in params:
            context[key] = params[parameter]
    return Request("dynamodb:PutItem", TASKS_TABLE, context)


def the_start_mark() -> dict[str, Any]:
    dynamodb = RecordingDynamoDB()
    assert StartMarks(dynamodb, "sosw_tasks", clock=lambda: 1_700_000_000.0).start("t1", "tok") is Start.RUN
    (params,) = dynamodb.puts
    return params


# ---- 1: a worker's start-mark grant writes start marks, and nothing that lands in the greenfield index ---------


@pytest.mark.parametrize("role", START_MARKING_ROLES)
def test_a_worker_role_may_write_its_start_mark(role: str) -> None:
    assert allowed(PROCESSORS.role_statements(role), put_request(the_start_mark()))


@pytest.mark.parametrize("role", START_MARKING_ROLES)
@pytest.mark.parametrize(
    "extra",
    [
        {"labourer_id": {"S": "devbox_worker"}, "greenfield": {"N": "1"}, "payload": {"S": '{"action": "up"}'}},
        {"labourer_id": {"S": "devbox_worker"}},
        {"greenfield": {"N": "1"}},
        {"payload": {"S": "{}"}},
    ],
    ids=["queued-task", "labourer_id", "greenfield", "payload"],
)
def test_a_worker_role_may_not_write_a_row_the_greenfield_index_or_a_worker_would_read(
    role: str, extra: dict[str, Any]
) -> None:
    params = the_start_mark()
    forged = {**params, "Item": {**params["Item"], **extra}}
    assert not allowed(PROCESSORS.role_statements(role), put_request(forged))


@pytest.mark.parametrize("role", START_MARKING_ROLES)
def test_a_worker_role_may_write_no_other_row_of_the_tasks_table(role: str) -> None:
    params = the_start_mark()
    other = {**params, "Item": {**params["Item"], "task_id": {"S": "job-1-0"}}}
    assert not allowed(PROCESSORS.role_statements(role), put_request(other))


# ---- 6: only the image worker's role may call POST /results -----------------------------------------------

RESULTS = f"arn:aws:execute-api:{REGION}:{ACCOUNT}:apiwebhookapi/prod/POST/results"
WEBHOOK = f"arn:aws:execute-api:{REGION}:{ACCOUNT}:apiwebhookapi/prod/POST/webhook"
ADMIN = [Statement.parse({"Effect": "Allow", "Action": "execute-api:Invoke", "Resource": "*"})]


def test_the_image_worker_may_call_results() -> None:
    role = PROCESSORS.role_arn("ImageWorkerRole")
    request = Request("execute-api:Invoke", RESULTS, principal=role)
    policy = PROCESSORS.resource_policy("WebhookApi")
    assert api_gateway_allows(policy, request, iam_auth=True, identity=PROCESSORS.role_statements("ImageWorkerRole"))


@pytest.mark.parametrize("caller", ["TelegramBotRole", "VideoWorkerRole", "an admin of the account"])
def test_no_other_caller_of_the_account_may_call_results(caller: str) -> None:
    """Even a role whose own policy allows every execute-api:Invoke (an admin) is refused by the API."""
    if caller in PROCESSORS.resources:
        principal, identity = PROCESSORS.role_arn(caller), PROCESSORS.role_statements(caller) + ADMIN
    else:
        principal, identity = f"arn:aws:iam::{ACCOUNT}:role/Admin", ADMIN
    request = Request("execute-api:Invoke", RESULTS, {"aws:SourceIp": TELEGRAM[0]}, principal=principal)
    assert not api_gateway_allows(PROCESSORS.resource_policy("WebhookApi"), request, iam_auth=True, identity=identity)


def test_the_results_route_requires_a_signature() -> None:
    resources = PROCESSORS.resources
    assert resources["ResultsMethod"]["Properties"]["AuthorizationType"] == "AWS_IAM"
    request = Request("execute-api:Invoke", RESULTS, {"aws:SourceIp": TELEGRAM[0]})
    assert not api_gateway_allows(PROCESSORS.resource_policy("WebhookApi"), request, iam_auth=True)


# ---- 9: /webhook answers Telegram's published address ranges only -----------------------------------------


@pytest.mark.parametrize("ip", TELEGRAM)
def test_telegram_may_post_to_the_webhook(ip: str) -> None:
    request = Request("execute-api:Invoke", WEBHOOK, {"aws:SourceIp": ip})
    assert api_gateway_allows(PROCESSORS.resource_policy("WebhookApi"), request, iam_auth=False)


@pytest.mark.parametrize("ip", ELSEWHERE)
def test_nobody_else_may_post_to_the_webhook(ip: str) -> None:
    request = Request("execute-api:Invoke", WEBHOOK, {"aws:SourceIp": ip})
    assert not api_gateway_allows(PROCESSORS.resource_policy("WebhookApi"), request, iam_auth=False)


def test_the_webhook_policy_is_on_the_deployed_api() -> None:
    """The policy must be the API's own (a policy not attached to it would decide nothing)."""
    api = PROCESSORS.resources["WebhookApi"]["Properties"]
    assert api["Policy"]["Statement"]


# ---- 8: fleet instances fetch their code from this account's bucket only ----------------------------------

CODE = "arn:aws:s3:::ganger-code/fleet/pkg.zip"


def test_a_fleet_instance_may_fetch_its_code_from_its_own_account() -> None:
    request = Request("s3:GetObject", CODE, {"s3:ResourceAccount": ACCOUNT})
    assert allowed(FLEET.role_statements("InstanceRole"), request)


@pytest.mark.parametrize(
    "action,resource", [("s3:GetObject", CODE), ("s3:PutObject", "arn:aws:s3:::ganger-media/videos/x")]
)
def test_a_fleet_instance_may_not_use_a_bucket_of_that_name_in_another_account(action: str, resource: str) -> None:
    request = Request(action, resource, {"s3:ResourceAccount": "999999999999"})
    assert not allowed(FLEET.role_statements("InstanceRole"), request)


def test_the_instances_fetch_their_code_naming_the_expected_bucket_owner() -> None:
    user_data = FLEET.resolve(FLEET.resources["LaunchTemplate"]["Properties"])["LaunchTemplateData"]["UserData"]
    copies = [line for line in user_data.splitlines() if line.strip().startswith("aws s3 cp")]
    assert copies and all(f"--expected-bucket-owner {ACCOUNT}" in line for line in copies)


# ---- 11: the dev-box worker sets only its own tags ----------------------------------------------------------

INSTANCE = f"arn:aws:ec2:{REGION}:{ACCOUNT}:instance/i-0123456789abcdef0"
DEVBOX = {"aws:ResourceTag/GangerDevbox": "true"}


@pytest.mark.parametrize(
    "action,keys",
    [("ec2:CreateTags", [UP_AT_TAG]), ("ec2:CreateTags", [WARNED_AT_TAG]), ("ec2:DeleteTags", [WARNED_AT_TAG])],
)
def test_the_devbox_worker_may_set_its_own_tags(action: str, keys: list[str]) -> None:
    request = Request(action, INSTANCE, {**DEVBOX, "aws:TagKeys": keys})
    assert allowed(PROCESSORS.role_statements("DevboxWorkerRole"), request)


@pytest.mark.parametrize("action", ["ec2:CreateTags", "ec2:DeleteTags"])
@pytest.mark.parametrize("keys", [["GangerDevbox"], ["Owner"], [UP_AT_TAG, "Name"], None], ids=str)
def test_the_devbox_worker_may_not_touch_other_tags(action: str, keys: list[str] | None) -> None:
    """``None``: DeleteTags without Tags deletes every tag; IAM then sees no aws:TagKeys at all."""
    context: dict[str, Any] = {**DEVBOX} if keys is None else {**DEVBOX, "aws:TagKeys": keys}
    assert not allowed(PROCESSORS.role_statements("DevboxWorkerRole"), Request(action, INSTANCE, context))


@pytest.mark.parametrize("action", ["ec2:StartInstances", "ec2:StopInstances"])
def test_the_devbox_worker_still_starts_and_stops_dev_boxes_only(action: str) -> None:
    statements = PROCESSORS.role_statements("DevboxWorkerRole")
    assert allowed(statements, Request(action, INSTANCE, DEVBOX))
    assert not allowed(statements, Request(action, INSTANCE, {"aws:ResourceTag/GangerDevbox": "false"}))
