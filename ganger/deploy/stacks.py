"""The stacks of a deployment, in dependency order, and how one is created or updated through a change set."""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from botocore.exceptions import BotoCoreError, ClientError
from botocore.parsers import ResponseParserError

import yaml as _yaml  # PyYAML, a dependency of moto and cfn-lint
from ganger.deploy.parameters import check_parameters
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


class _CfnLoader(_yaml.SafeLoader):  # type: ignore[misc,unused-ignore]  # untyped under --strict
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
    return dict(_yaml.load(path.read_text(), Loader=_CfnLoader))


def default_stacks(
    prefix: str = "ganger",
    code_bucket: str = "",
    code_keys: Mapping[str, str] | None = None,
    region: str = "us-east-1",
) -> list[StackSpec]:
    """Every stack in yaml/, in dependency order: tables, essentials, then the rest alphabetically.
    ``code_keys`` maps each template parameter that takes a package's S3 key (``OrchestratorCodeKey``)
    to its key."""
    first = ["tables", "essentials"]
    names = first + sorted(p.stem for p in TEMPLATES.glob("*.yaml") if p.stem not in first)
    shared = {
        "CodeBucket": code_bucket,
        **(code_keys or {}),
        "TablesStack": f"{prefix}-tables",
        "EssentialsStack": f"{prefix}-essentials",
        "DispatcherRoleNames": ",".join(dispatcher_role_names(prefix, region)),
    }
    specs = []
    for name in names:
        template = TEMPLATES / f"{name}.yaml"
        declared = set((load_template(template).get("Parameters") or {}).keys())
        params = {k: v for k, v in shared.items() if k in declared and v}
        specs.append(StackSpec(f"{prefix}-{name}", template, params))
    return specs


ESSENTIAL_ROLES = ("scheduler", "orchestrator", "worker-assistant", "scavenger")


def dispatcher_role_names(prefix: str = "ganger", region: str = "us-east-1") -> list[str]:
    """The essentials' IAM roles (essentials.yaml names them ``<stack>-<region>-<role>``; IAM names are
    global). Each of them dispatches tasks, so every labourer stack grants them invoke or send on its own
    functions or queue."""
    return [f"{prefix}-essentials-{region}-{role}" for role in ESSENTIAL_ROLES]


def _stack_status(cfn: Any, name: str) -> str | None:
    try:
        return str(cfn.describe_stacks(StackName=name)["Stacks"][0]["StackStatus"])
    except ClientError as exc:
        if "does not exist" in str(exc):
            return None
        raise


def _failure_reason(cfn: Any, name: str) -> str:
    """The first failures CloudFormation recorded for a stack, oldest first (the root cause comes first)."""
    try:
        events = cfn.describe_stack_events(StackName=name)["StackEvents"]
    except ClientError:
        return "no events"
    failed = [e for e in reversed(events) if str(e.get("ResourceStatus", "")).endswith("FAILED")]
    if not failed:
        return "unknown"
    return "; ".join(f"{e['LogicalResourceId']}: {e.get('ResourceStatusReason', '')}" for e in failed[:3])


def _error_message(exc: Exception) -> str:
    if isinstance(exc, ClientError):
        error = exc.response.get("Error", {})
        return f"{error.get('Code', 'Error')}: {error.get('Message', str(exc))}"
    # moto answers some failures with JSON that botocore cannot parse; its message is still the cause
    found = re.search(r'"__type": "([^"]+)", "message": "([^"]+)"', str(exc))
    return f"{found.group(1)}: {found.group(2)}" if found else f"{type(exc).__name__}: {exc}"


@dataclass
class ChangeSetPlan:
    """A change set waiting to be executed, with what it would change and how it was made."""

    stack: str
    change_set_id: str
    kind: str  # CREATE or UPDATE
    changes: list[str]
    template_body: str = ""
    parameters: dict[str, str] = field(default_factory=dict)


def plan(cfn: Any, spec: StackSpec, extra_parameters: dict[str, str] | None = None) -> ChangeSetPlan | None:
    """Create a change set and describe it; None when the stack is up to date.

    A change set that cannot be made leaves nothing behind: for a new stack, the empty
    REVIEW_IN_PROGRESS stack CloudFormation made for it is deleted too.
    """
    status = _stack_status(cfn, spec.name)
    if status is not None and status.endswith("_IN_PROGRESS") and status != "REVIEW_IN_PROGRESS":
        raise DeployError(spec.name, f"the stack is busy ({status}); wait for it and deploy again")
    if status in ("ROLLBACK_COMPLETE", "ROLLBACK_FAILED"):
        raise DeployError(spec.name, f"the stack is {status} from an earlier failed create; delete it first")
    kind = "CREATE" if status in (None, "REVIEW_IN_PROGRESS") else "UPDATE"
    parameters = {**spec.parameters, **(extra_parameters or {})}
    problems = check_parameters(load_template(spec.template), parameters)
    if problems:
        raise DeployError(spec.name, f"template {spec.template.name}: " + "; ".join(problems))
    body = spec.template_body()
    try:
        response = cfn.create_change_set(
            StackName=spec.name,
            ChangeSetName=f"ganger-{int(time.time() * 1000)}",
            ChangeSetType=kind,
            TemplateBody=body,
            Parameters=[{"ParameterKey": k, "ParameterValue": v} for k, v in parameters.items()],
            Capabilities=CAPABILITIES,
        )
    except ClientError as exc:
        if kind == "CREATE":
            _delete_review_stack(cfn, spec.name)
        raise DeployError(spec.name, f"change set refused: {_error_message(exc)}") from exc
    described = _wait_change_set(cfn, response["Id"])
    change = ChangeSetPlan(spec.name, response["Id"], kind, _describe_changes(described), body, parameters)
    if described["Status"] == "FAILED":
        reason = str(described.get("StatusReason", ""))
        discard(cfn, change)
        if "didn't contain changes" in reason or "No updates" in reason:
            return None
        raise DeployError(spec.name, f"change set failed: {reason}")
    return change  # an UPDATE with no resource changes still changes parameters or outputs


def _describe_changes(described: dict[str, Any]) -> list[str]:
    lines = []
    for change in described.get("Changes", []):
        rc = change["ResourceChange"]
        replacement = " (replacement)" if rc.get("Replacement") == "True" else ""
        lines.append(f"{rc['Action']} {rc['LogicalResourceId']} ({rc['ResourceType']}){replacement}")
    return lines


def discard(cfn: Any, change: ChangeSetPlan) -> None:
    """Delete a change set that will not be executed; for a new stack, the empty stack too."""
    try:
        cfn.delete_change_set(ChangeSetName=change.change_set_id)
    except ClientError as exc:
        logger.debug("change set %s already gone: %s", change.change_set_id, exc)
    if change.kind == "CREATE":
        _delete_review_stack(cfn, change.stack)


def _delete_review_stack(cfn: Any, name: str) -> None:
    if _stack_status(cfn, name) == "REVIEW_IN_PROGRESS":
        cfn.delete_stack(StackName=name)


def _wait_change_set(cfn: Any, change_set_id: str, timeout: float = 300) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        described: dict[str, Any] = cfn.describe_change_set(ChangeSetName=change_set_id)
        if described["Status"] in ("CREATE_COMPLETE", "FAILED") or time.monotonic() > deadline:
            return described
        time.sleep(1)


def native_change_sets(cfn: Any) -> bool:
    """Whether executing a change set behaves as on AWS. moto's change sets register no outputs or
    exports, so against any other endpoint a plan is applied with CreateStack/UpdateStack instead."""
    host = urlsplit(str(cfn.meta.endpoint_url)).hostname or ""
    return host.endswith(".amazonaws.com") or host.endswith(".amazonaws.com.cn")


def execute(
    cfn: Any,
    change: ChangeSetPlan,
    progress: Callable[[str], None] = logger.info,
    use_change_set: bool | None = None,
) -> dict[str, str]:
    """Execute a change set, wait, and return the stack's outputs.

    On failure CloudFormation rolls the stack back; a failed CREATE is then deleted, so no
    half-made stack is left. Raises DeployError with the first failure events as the reason.
    """
    if use_change_set is None:
        use_change_set = native_change_sets(cfn)
    try:
        if use_change_set:
            cfn.execute_change_set(ChangeSetName=change.change_set_id)
        else:
            _apply_directly(cfn, change)
    except (ClientError, BotoCoreError, ResponseParserError) as exc:
        reason = _error_message(exc)
        if change.kind == "CREATE":
            _remove(cfn, change.stack, progress)
        raise DeployError(change.stack, reason) from exc
    status = _wait_stack(cfn, change.stack, progress)
    if status not in ("CREATE_COMPLETE", "UPDATE_COMPLETE"):
        reason = _failure_reason(cfn, change.stack)
        if change.kind == "CREATE":
            _remove(cfn, change.stack, progress)
        raise DeployError(change.stack, f"{status}: {reason}")
    return outputs(cfn, change.stack)


def _apply_directly(cfn: Any, change: ChangeSetPlan) -> None:
    discard(cfn, change)
    kwargs: dict[str, Any] = {
        "StackName": change.stack,
        "TemplateBody": change.template_body,
        "Parameters": [{"ParameterKey": k, "ParameterValue": v} for k, v in change.parameters.items()],
        "Capabilities": CAPABILITIES,
    }
    if change.kind == "CREATE":
        cfn.create_stack(OnFailure="DELETE", **kwargs)
    else:
        cfn.update_stack(**kwargs)


def _remove(cfn: Any, name: str, progress: Callable[[str], None], timeout: float = 1800) -> None:
    """Delete a stack whose creation failed and wait until it is gone."""
    if _cleanup_status(cfn, name) is None:
        return
    progress(f"{name}: deleting the failed stack")
    try:
        cfn.delete_stack(StackName=name)
    except (ClientError, BotoCoreError, ResponseParserError) as exc:
        logger.warning("deleting %s: %s", name, _error_message(exc))
    deadline = time.monotonic() + timeout
    while (status := _cleanup_status(cfn, name)) is not None and time.monotonic() < deadline:
        if not status.endswith("_IN_PROGRESS"):
            raise DeployError(name, f"the failed stack could not be deleted ({status}): {_failure_reason(cfn, name)}")
        time.sleep(1)
    progress(f"{name}: deleted")


def _cleanup_status(cfn: Any, name: str) -> str | None:
    """A stack's status, also when moto cannot describe a stack whose create failed (then it is listed)."""
    try:
        return _stack_status(cfn, name)
    except ResponseParserError:
        for page in cfn.get_paginator("list_stacks").paginate():
            for summary in page["StackSummaries"]:
                if summary["StackName"] == name and summary["StackStatus"] != "DELETE_COMPLETE":
                    return str(summary["StackStatus"])
        return None


def _wait_stack(cfn: Any, name: str, progress: Callable[[str], None], timeout: float = 1800) -> str:
    deadline = time.monotonic() + timeout
    last = ""
    seen: set[str] = set()
    while time.monotonic() < deadline:
        status = _stack_status(cfn, name) or "DELETED"
        _report_events(cfn, name, seen, progress)
        if status != last:
            progress(f"{name}: {status}")
            last = status
        if not status.endswith("_IN_PROGRESS"):
            return status
        time.sleep(1)
    return last


def _report_events(cfn: Any, name: str, seen: set[str], progress: Callable[[str], None]) -> None:
    """Report resource events not seen yet (progress of a long create), oldest first."""
    try:
        events = cfn.describe_stack_events(StackName=name)["StackEvents"]
    except ClientError:
        return
    for event in reversed(events):
        event_id = str(event.get("EventId", ""))
        if event_id in seen:
            continue
        seen.add(event_id)
        if event.get("LogicalResourceId") == name:
            continue  # the stack's own events are reported as its status
        reason = f" {event['ResourceStatusReason']}" if event.get("ResourceStatusReason") else ""
        progress(f"{name}: {event.get('LogicalResourceId')} {event.get('ResourceStatus')}{reason}")


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
