"""Every template in yaml/ passes cfn-lint with no finding, grants least privilege, and holds no secret."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from cfnlint.api import lint_file

from ganger.deploy.stacks import TEMPLATES, load_template

ROOT = TEMPLATES.parent
TEMPLATE_PATHS = sorted(TEMPLATES.glob("*.yaml"))
# Actions AWS does not let a policy scope to a resource; only these may have Resource "*".
UNSCOPABLE = re.compile(
    r"^(cloudwatch:(GetMetricStatistics|GetMetricData|PutMetricData|ListMetrics)"
    r"|ec2:Describe\w+|autoscaling:Describe\w+|xray:Put\w+)$"
)


def _statements(template: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    """(where, statement) of every identity policy in the template (roles' inline policies, IAM::Policy)."""
    found = []
    for logical_id, resource in (template.get("Resources") or {}).items():
        props = resource.get("Properties") or {}
        documents = []
        if resource.get("Type") == "AWS::IAM::Role":
            documents = [p["PolicyDocument"] for p in props.get("Policies") or []]
        elif resource.get("Type") in ("AWS::IAM::Policy", "AWS::IAM::ManagedPolicy"):
            documents = [props["PolicyDocument"]]
        for document in documents:
            statements = document.get("Statement") or []
            for statement in statements if isinstance(statements, list) else [statements]:
                found.append((logical_id, statement))
    return found


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def test_there_are_templates() -> None:
    assert {p.stem for p in TEMPLATE_PATHS} >= {"tables", "essentials", "examples", "processors"}


def test_cfn_lint_reports_nothing_on_any_template() -> None:
    """Errors and warnings both fail (cfn-lint's default levels); informational findings are not reported."""
    findings = [
        f"{path.name}:{match.linenumber} {match.rule.id} {match.message}"
        for path in TEMPLATE_PATHS
        for match in lint_file(path)
    ]
    assert findings == []


@pytest.mark.parametrize("path", TEMPLATE_PATHS, ids=lambda p: p.stem)
def test_no_policy_grants_a_wildcard_action(path: Path) -> None:
    wild = [
        f"{where}: {action}"
        for where, statement in _statements(load_template(path))
        for action in _as_list(statement.get("Action", []))
        if isinstance(action, str) and (action == "*" or action.endswith(":*"))
    ]
    assert wild == []


@pytest.mark.parametrize("path", TEMPLATE_PATHS, ids=lambda p: p.stem)
def test_resource_star_only_for_actions_aws_cannot_scope(path: Path) -> None:
    unscoped = [
        f"{where}: {action}"
        for where, statement in _statements(load_template(path))
        if "*" in _as_list(statement.get("Resource", []))
        for action in _as_list(statement.get("Action", []))
        if not UNSCOPABLE.match(str(action))
    ]
    assert unscoped == []


@pytest.mark.parametrize("path", TEMPLATE_PATHS, ids=lambda p: p.stem)
def test_no_managed_policy_beyond_lambda_logging(path: Path) -> None:
    """ganger's roles get log permissions inline, scoped to their own log group; AWS's basic execution
    role (logs only) is tolerated, any other managed policy is not."""
    template = load_template(path)
    managed = [
        f"{logical_id}: {arn}"
        for logical_id, resource in (template.get("Resources") or {}).items()
        if resource.get("Type") == "AWS::IAM::Role"
        for arn in (resource.get("Properties") or {}).get("ManagedPolicyArns") or []
        if not str(arn.get("Fn::Sub", arn) if isinstance(arn, dict) else arn).endswith(
            ":iam::aws:policy/service-role/AWSLambdaBasicExecutionRole"
        )
    ]
    assert managed == []


SECRET_PATTERNS = {
    "Telegram bot token": re.compile(r"\b\d{8,10}:[A-Za-z0-9_-]{35}\b"),
    "AWS access key id": re.compile(r"\b(AKIA|ASIA)[A-Z0-9]{16}\b"),
    "AWS secret access key": re.compile(r"(?i)aws_secret_access_key\W+[A-Za-z0-9/+=]{40}"),
    "private key": re.compile(r"-----BEGIN [A-Z ]*PRIVATE KEY-----"),
}


@pytest.mark.parametrize("folder", ["config", "yaml"])
def test_no_secret_in_config_or_templates(folder: str) -> None:
    found = [
        f"{path.relative_to(ROOT)}: {kind}"
        for path in sorted((ROOT / folder).rglob("*"))
        if path.is_file()
        for kind, pattern in SECRET_PATTERNS.items()
        if pattern.search(path.read_text(errors="replace"))
    ]
    assert found == []


def test_the_bot_token_is_a_secrets_manager_reference_not_a_value() -> None:
    template = load_template(TEMPLATES / "processors.yaml")
    parameter = template["Parameters"]["TokenSecretName"]
    assert parameter["Default"] == "ganger/telegram-bot"
    assert not any(
        "token" in name.lower() and "secret" not in name.lower() for name in template["Parameters"]
    )  # no parameter carries the token itself


def _strings(value: Any) -> list[str]:
    """Every string inside a resource value (plain, or inside !Sub / !Join / !If)."""
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for v in value.values() for s in _strings(v)]
    if isinstance(value, list):
        return [s for v in value for s in _strings(v)]
    return []


DISPATCH_ACTIONS = {"lambda:InvokeFunction", "sqs:SendMessage"}


@pytest.mark.parametrize("path", TEMPLATE_PATHS, ids=lambda p: p.stem)
def test_nothing_may_invoke_any_function_or_send_to_any_queue(path: Path) -> None:
    """Whoever writes the config table names the labourers: a wildcard would let it invoke anything."""
    wild = [
        f"{where}: {resource}"
        for where, statement in _statements(load_template(path))
        if DISPATCH_ACTIONS & set(_as_list(statement.get("Action", [])))
        for resource in _strings(statement.get("Resource", []))
        if "*" in resource
    ]
    assert wild == []


def test_every_essential_may_dispatch_and_nudge_the_orchestrator() -> None:
    template = load_template(TEMPLATES / "essentials.yaml")
    policy = template["Resources"]["DispatchPolicy"]["Properties"]
    roles = {role["Ref"] for role in policy["Roles"]}
    statements = policy["PolicyDocument"]["Statement"]
    invoke = [s for s in statements if isinstance(s, dict) and s.get("Action") == ["lambda:InvokeFunction"]]
    assert roles == {"SchedulerRole", "OrchestratorRole", "WorkerAssistantRole", "ScavengerRole"}
    assert invoke and invoke[0]["Resource"]["Fn::Sub"].endswith(":function:sosw_orchestrator")


@pytest.mark.parametrize("stem", ["processors", "examples", "fleet"])
def test_each_labourer_stack_grants_the_essentials_dispatch_on_its_own_resources(stem: str) -> None:
    template = load_template(TEMPLATES / f"{stem}.yaml")
    policy = template["Resources"]["DispatchPolicy"]["Properties"]
    resources = [r for s in policy["PolicyDocument"]["Statement"] for r in _as_list(s["Resource"])]
    assert policy["Roles"] == {"Ref": "DispatcherRoleNames"}
    assert resources and all(set(r) == {"Fn::GetAtt"} for r in resources)  # this stack's functions or queue


def test_only_the_telegram_webhook_is_public() -> None:
    methods = [
        (logical_id, resource["Properties"])
        for path in TEMPLATE_PATHS
        for logical_id, resource in (load_template(path).get("Resources") or {}).items()
        if resource.get("Type") == "AWS::ApiGateway::Method"
    ]
    public = [logical_id for logical_id, props in methods if props.get("AuthorizationType", "NONE") == "NONE"]
    assert methods and public == ["WebhookMethod"]


def test_the_public_webhook_is_throttled_logged_and_its_function_capped() -> None:
    resources = load_template(TEMPLATES / "processors.yaml")["Resources"]
    stage = resources["WebhookDeployment"]["Properties"]["StageDescription"]
    bot = resources["TelegramBotFunction"]["Properties"]
    assert stage["ThrottlingRateLimit"] == {"Ref": "WebhookRateLimit"}
    assert stage["MethodSettings"][0]["ThrottlingBurstLimit"] == {"Ref": "WebhookBurstLimit"}
    assert stage["AccessLogSetting"]["DestinationArn"] == {"Fn::GetAtt": "ApiAccessLogGroup.Arn"}
    assert "ReservedConcurrentExecutions" in bot


@pytest.mark.parametrize("path", TEMPLATE_PATHS, ids=lambda p: p.stem)
def test_every_function_has_its_own_log_group_with_a_retention(path: Path) -> None:
    resources = load_template(path).get("Resources") or {}
    groups = [
        str(r["Properties"]["LogGroupName"].get("Fn::Sub", r["Properties"]["LogGroupName"]))
        if isinstance(r["Properties"]["LogGroupName"], dict)
        else r["Properties"]["LogGroupName"]
        for r in resources.values()
        if r["Type"] == "AWS::Logs::LogGroup" and "RetentionInDays" in r["Properties"]
    ]
    for resource in resources.values():
        if resource["Type"] == "AWS::Lambda::Function":
            name = resource["Properties"]["FunctionName"]
            name = name.get("Fn::Sub", name) if isinstance(name, dict) else name
            assert f"/aws/lambda/{name}" in groups, f"{name} has no log group of its own"


@pytest.mark.parametrize("path", TEMPLATE_PATHS, ids=lambda p: p.stem)
def test_secret_arns_match_only_the_secret_and_its_random_suffix(path: Path) -> None:
    loose = [
        f"{where}: {resource}"
        for where, statement in _statements(load_template(path))
        for resource in _strings(statement.get("Resource", []))
        if ":secret:" in resource and not resource.endswith("-??????")
    ]
    assert loose == []


def test_the_fleet_instances_reach_only_their_media_prefix() -> None:
    template = load_template(TEMPLATES / "fleet.yaml")
    statements = template["Resources"]["InstanceRole"]["Properties"]["Policies"][0]["PolicyDocument"]["Statement"]
    media = [r for s in statements for r in _strings(s.get("Resource", [])) if "MediaBucketName" in r]
    assert media == ["arn:${AWS::Partition}:s3:::${MediaBucketName}/${MediaPrefix}*"]


def test_predictions_expire() -> None:
    table = load_template(TEMPLATES / "processors.yaml")["Resources"]["PredictionsTable"]["Properties"]
    assert table["TimeToLiveSpecification"] == {"AttributeName": "expires_at", "Enabled": True}
