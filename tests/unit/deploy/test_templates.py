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
