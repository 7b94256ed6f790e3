"""The stacks of a deployment, in dependency order, and how one is created or updated through a change set."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml as _yaml  # PyYAML, a dependency of moto and cfn-lint
from botocore.exceptions import ClientError

from ganger.errors import GangerError

logger = logging.getLogger(__name__)
ROOT = Path(__file__).resolve().parents[2]
TEMPLATES = ROOT / "yaml"
CAPABILITIES = ["CAPABILITY_IAM", "CAPABILITY_NAMED_IAM"]


class DeployError(GangerError):
    """A stack could not be created or updated; ``reason`` says why (from CloudFormation's events)."""

    def __init__(self, stack: str, reason: str) -> None:
        self.stack = stack
        self.reason = reason
        super().__init__(f"stack {stack}: {reason}")


@dataclass(frozen=True)
class StackSpec:
    """One stack: its template and the parameters it takes from the deployment."""

    name: str
    template: Path
    parameters: dict[str, str] = field(default_factory=dict)

    def template_body(self) -> str:
        return self.template.read_text()

    def declared_parameters(self) -> set[str]:
        return set((load_template(self.template).get("Parameters") or {}).keys())


class _CfnLoader(_yaml.SafeLoader):
    """Reads CloudFormation YAML: short-form intrinsics (!Ref, !Sub, ...) become plain mappings."""


def _intrinsic(loader: _yaml.SafeLoader, suffix: str, node: _yaml.Node) -> Any:
    name = "Ref" if suffix == "Ref" else f"Fn::{suffix}"
    if isinstance(node, _yaml.ScalarNode):
        value: Any = loader.construct_scalar(node)
    elif isinstance(node, _yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(node, deep=True)
    return {name: value}


_CfnLoader.add_multi_constructor("!", _intrinsic)


def load_template(path: Path) -> dict[str, Any]:
    return dict(_yaml.load(path.read_text(), Loader=_CfnLoader))  # noqa: S506 - SafeLoader subclass


def default_stacks(prefix: str = "ganger", code_bucket: str = "", code_key: str = "") -> list[StackSpec]:
    """Every stack in yaml/, in dependency order: tables, essentials, then the rest alphabetically."""
    first = ["tables", "essentials"]
    names = first + sorted(p.stem for p in TEMPLATES.glob("*.yaml") if p.stem not in first)
    shared = {
        "CodeBucket": code_bucket,
        "CodeKey": code_key,
        "TablesStack": f"{prefix}-tables",
        "EssentialsStack": f"{prefix}-essentials",
    }
    specs = []
    for name in names:
        template = TEMPLATES / f"{name}.yaml"
        declared = set((load_template(template).get("Parameters") or {}).keys())
        params = {k: v for k, v in shared.items() if k in declared and v}
        specs.append(StackSpec(f"{prefix}-{name}", template, params))
    return specs


def _stack_status(cfn: Any, name: str) -> str | None:
    try:
        return str(cfn.describe_stacks(StackName=name)["Stacks"][0]["StackStatus"])
    except ClientError as exc:
        if "does not exist" in str(exc):
            return None
        raise


def _failure_reason(cfn: Any, name: str) -> str:
    try:
        events = cfn.describe_stack_events(StackName=name)["StackEvents"]
    except ClientError:
        return "no events"
    failed = [e for e in events if str(e.get("ResourceStatus", "")).endswith("FAILED")]
    if not failed:
        return "unknown"
    return "; ".join(f"{e['LogicalResourceId']}: {e.get('ResourceStatusReason', '')}" for e in failed[:3])


@dataclass
class ChangeSetPlan:
    stack: str
    change_set_id: str
    kind: str  # CREATE or UPDATE
    changes: list[str]


def plan(cfn: Any, spec: StackSpec, extra_parameters: dict[str, str] | None = None) -> ChangeSetPlan | None:
    """Create a change set and describe it; None when the stack is up to date."""
    status = _stack_status(cfn, spec.name)
    kind = "CREATE" if status in (None, "REVIEW_IN_PROGRESS") else "UPDATE"
    parameters = {**spec.parameters, **(extra_parameters or {})}
    declared = spec.declared_parameters()
    unknown = sorted(set(parameters) - declared)
    if unknown:
        raise DeployError(spec.name, f"template {spec.template.name} takes no parameter {unknown[0]!r}")
    response = cfn.create_change_set(
        StackName=spec.name,
        ChangeSetName=f"ganger-{int(time.time() * 1000)}",
        ChangeSetType=kind,
        TemplateBody=spec.template_body(),
        Parameters=[{"ParameterKey": k, "ParameterValue": v} for k, v in parameters.items()],
        Capabilities=CAPABILITIES,
    )
    described = _wait_change_set(cfn, response["Id"])
    if described["Status"] == "FAILED":
        reason = str(described.get("StatusReason", ""))
        if "didn't contain changes" in reason or "No updates" in reason:
            cfn.delete_change_set(ChangeSetName=response["Id"])
            return None
        raise DeployError(spec.name, f"change set failed: {reason}")
    changes = [
        f"{c['ResourceChange']['Action']} {c['ResourceChange']['LogicalResourceId']} ({c['ResourceChange']['ResourceType']})"
        for c in described.get("Changes", [])
    ]
    if kind == "UPDATE" and not changes:
        cfn.delete_change_set(ChangeSetName=response["Id"])
        return None
    return ChangeSetPlan(spec.name, response["Id"], kind, changes)


def _wait_change_set(cfn: Any, change_set_id: str, timeout: float = 300) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        described: dict[str, Any] = cfn.describe_change_set(ChangeSetName=change_set_id)
        if described["Status"] in ("CREATE_COMPLETE", "FAILED") or time.monotonic() > deadline:
            return described
        time.sleep(1)


def execute(cfn: Any, change: ChangeSetPlan, progress: Callable[[str], None] = logger.info) -> dict[str, str]:
    """Execute a change set, wait, and return the stack's outputs. On failure, roll back and raise."""
    cfn.execute_change_set(ChangeSetName=change.change_set_id)
    status = _wait_stack(cfn, change.stack, progress)
    if status not in ("CREATE_COMPLETE", "UPDATE_COMPLETE"):
        reason = _failure_reason(cfn, change.stack)
        if change.kind == "CREATE":
            cfn.delete_stack(StackName=change.stack)  # leave no half-made stack behind
        raise DeployError(change.stack, f"{status}: {reason}")
    return outputs(cfn, change.stack)


def _wait_stack(cfn: Any, name: str, progress: Callable[[str], None], timeout: float = 1800) -> str:
    deadline = time.monotonic() + timeout
    last = ""
    while time.monotonic() < deadline:
        status = _stack_status(cfn, name) or "DELETED"
        if status != last:
            progress(f"{name}: {status}")
            last = status
        if not status.endswith("_IN_PROGRESS"):
            return status
        time.sleep(1)
    return last


def outputs(cfn: Any, name: str) -> dict[str, str]:
    stack = cfn.describe_stacks(StackName=name)["Stacks"][0]
    return {o["OutputKey"]: o["OutputValue"] for o in stack.get("Outputs", [])}


def ttl_specifications(spec: StackSpec) -> list[tuple[str, str]]:
    """(table name, attribute) of every enabled TimeToLiveSpecification whose TableName is literal or a
    parameter default; moto's CloudFormation ignores these, so local mode applies them through the API."""
    template = load_template(spec.template)
    parameters = {k: v.get("Default") for k, v in (template.get("Parameters") or {}).items()}
    parameters.update(spec.parameters)
    found = []
    for resource in (template.get("Resources") or {}).values():
        if resource.get("Type") != "AWS::DynamoDB::Table":
            continue
        props = resource.get("Properties") or {}
        ttl = props.get("TimeToLiveSpecification") or {}
        name = props.get("TableName")
        if isinstance(name, dict) and "Ref" in name:
            name = parameters.get(name["Ref"])
        if ttl.get("Enabled") and isinstance(name, str):
            found.append((name, str(ttl["AttributeName"])))
    return found
