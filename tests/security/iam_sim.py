"""A small IAM policy evaluator, for the grants and resource policies in the project's own templates.

It reads the statements out of a template in yaml/ (intrinsics resolved to placeholder names and ARNs, as
CloudFormation would resolve them in account 123456789012, us-east-1) and decides concrete requests the way
IAM does for the parts the templates use: explicit Deny over Allow over the implicit deny, Action and
Resource wildcards (``*``, ``?``), NotAction/NotResource, Principal, and the condition operators below, with
IAM's rules for a key absent from the request (``...IfExists``, ``ForAllValues`` true on no values,
``ForAnyValue`` false, a negated operator true, ``Null``). Anything else (another operator, a policy variable,
a single-valued operator given several values) raises instead of guessing: an evaluator that silently allowed
or denied what it does not understand would prove nothing. It is not AWS: SCPs, boundaries, sessions and
service-specific key derivation are out of scope; each test states the request context it means.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ganger.deploy.stacks import load_template

ACCOUNT, REGION, PARTITION = "123456789012", "us-east-1", "aws"
ALLOW, DENY, IMPLICIT = "Allow", "Deny", "ImplicitDeny"
Context = Mapping[str, str | Sequence[str]]
_NO_VALUE = object()


@dataclass(frozen=True)
class Request:
    """One API call: ``principal`` is the caller's ARN (a role's ARN), "" for an anonymous caller."""

    action: str
    resource: str
    context: Context = field(default_factory=dict)
    principal: str = ""

    def values(self, key: str) -> list[str] | None:
        wanted = key.lower()
        if wanted == "aws:principalarn" and self.principal:
            return [self.principal]
        for name, value in self.context.items():
            if name.lower() == wanted:
                return [value] if isinstance(value, str) else list(value)
        return None


@dataclass(frozen=True)
class Statement:
    effect: str
    actions: tuple[str, ...] = ()
    not_actions: tuple[str, ...] = ()
    resources: tuple[str, ...] = ()
    not_resources: tuple[str, ...] = ()
    principals: tuple[str, ...] | None = None  # None: an identity policy's statement
    conditions: Mapping[str, Mapping[str, Sequence[str]]] = field(default_factory=dict)

    @classmethod
    def parse(cls, doc: Mapping[str, Any]) -> Statement:
        principals = None
        if "Principal" in doc:
            principal = doc["Principal"]
            principals = ("*",) if principal == "*" else tuple(_strings(principal.get("AWS", [])))
        conditions = {
            op: {k: _strings(v) for k, v in keys.items()} for op, keys in (doc.get("Condition") or {}).items()
        }
        return cls(
            doc["Effect"],
            tuple(_strings(doc.get("Action", []))),
            tuple(_strings(doc.get("NotAction", []))),
            tuple(_strings(doc.get("Resource", []))),
            tuple(_strings(doc.get("NotResource", []))),
            principals,
            conditions,
        )

    def applies(self, request: Request) -> bool:
        if self.principals is not None and not (
            "*" in self.principals or (request.principal and request.principal in self.principals)
        ):
            return False
        if self.actions and not any(_like(a, request.action, fold=True) for a in self.actions):
            return False
        if self.not_actions and any(_like(a, request.action, fold=True) for a in self.not_actions):
            return False
        if self.resources and not any(_like(r, request.resource) for r in self.resources):
            return False
        if self.not_resources and any(_like(r, request.resource) for r in self.not_resources):
            return False
        return all(
            condition(op, key, values, request) for op, keys in self.conditions.items() for key, values in keys.items()
        )


def evaluate(statements: Sequence[Statement], request: Request) -> str:
    """ALLOW, DENY (an explicit Deny applies) or IMPLICIT (no statement allows)."""
    effects = {s.effect for s in statements if s.applies(request)}
    return DENY if DENY in effects else ALLOW if ALLOW in effects else IMPLICIT


def allowed(identity: Sequence[Statement], request: Request, resource_policy: Sequence[Statement] = ()) -> bool:
    """A same-account request: allowed by the identity or the resource policy, and denied by neither."""
    decisions = {evaluate(identity, request), evaluate(resource_policy, request)}
    return DENY not in decisions and ALLOW in decisions


def api_gateway_allows(
    resource_policy: Sequence[Statement], request: Request, iam_auth: bool, identity: Sequence[Statement] = ()
) -> bool:
    """API Gateway's rule for a REST API method: with AWS_IAM, as ``allowed`` (same account); without (NONE),
    open when the API has no resource policy, else only what the resource policy allows and does not deny."""
    if iam_auth:
        return bool(request.principal) and allowed(identity, request, resource_policy)
    if not resource_policy:
        return True
    return evaluate(resource_policy, request) == ALLOW


# ---- conditions -------------------------------------------------------------------------------------

_NEGATED = {"StringNotEquals", "StringNotLike", "ArnNotEquals", "ArnNotLike", "NotIpAddress"}


def condition(operator: str, key: str, policy_values: Sequence[str], request: Request) -> bool:
    qualifier, _, base = operator.rpartition(":")
    if_exists = base.endswith("IfExists")
    base = base.removesuffix("IfExists")
    values = request.values(key)
    if base == "Null":
        return (values is None) == (policy_values == ["true"])
    if qualifier not in ("", "ForAllValues", "ForAnyValue") or (qualifier and base in _NEGATED):
        raise ValueError(f"operator {operator} is not modelled")
    if values is None:
        return if_exists or qualifier == "ForAllValues" or (not qualifier and base in _NEGATED)
    match = _matcher(base)
    if qualifier == "ForAllValues":
        return all(any(match(p, v) for p in policy_values) for v in values)
    if qualifier == "ForAnyValue":
        return any(match(p, v) for p in policy_values for v in values)
    if len(values) != 1:
        raise ValueError(f"{operator} on {key} with several values {values}: use ForAllValues/ForAnyValue")
    hit = any(match(p, values[0]) for p in policy_values)
    return not hit if base in _NEGATED else hit


def _matcher(base: str) -> Any:
    if base in ("StringEquals", "StringNotEquals"):
        return lambda p, v: p == v
    if base == "StringEqualsIgnoreCase":
        return lambda p, v: p.lower() == v.lower()
    if base in ("StringLike", "StringNotLike", "ArnLike", "ArnNotLike", "ArnEquals", "ArnNotEquals"):
        return _like
    if base in ("IpAddress", "NotIpAddress"):
        return lambda p, v: ipaddress.ip_address(v) in ipaddress.ip_network(p, strict=False)
    if base == "Bool":
        return lambda p, v: p.lower() == v.lower()
    raise ValueError(f"operator {base} is not modelled")


def _like(pattern: str, value: str, fold: bool = False) -> bool:
    if "${" in pattern:
        raise ValueError(f"policy variables are not modelled: {pattern}")
    regex = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)
    return re.fullmatch(regex, value, re.IGNORECASE if fold else 0) is not None


def _strings(value: Any) -> list[str]:
    if isinstance(value, (list, tuple)):
        return [str(v) for v in value]
    return [str(value)]


# ---- templates ----------------------------------------------------------------------------------------

_ARNS = {
    "AWS::IAM::Role": "arn:aws:iam::{account}:role/{name}",
    "AWS::DynamoDB::Table": "arn:aws:dynamodb:{region}:{account}:table/{name}",
    "AWS::S3::Bucket": "arn:aws:s3:::{name}",
    "AWS::Logs::LogGroup": "arn:aws:logs:{region}:{account}:log-group:{name}:*",
    "AWS::Lambda::Function": "arn:aws:lambda:{region}:{account}:function:{name}",
    "AWS::SQS::Queue": "arn:aws:sqs:{region}:{account}:{name}",
    "AWS::Events::Rule": "arn:aws:events:{region}:{account}:rule/{name}",
}
_NAME_PROPERTIES = ("RoleName", "TableName", "BucketName", "LogGroupName", "FunctionName", "QueueName", "Name")


class Template:
    """One template's resources with intrinsics resolved (parameters at their defaults unless given)."""

    def __init__(self, path: Path, parameters: Mapping[str, str] | None = None, stack: str = "ganger") -> None:
        self.doc = load_template(path)
        declared = self.doc.get("Parameters") or {}
        self.parameters: dict[str, Any] = {k: str(v.get("Default", "")) for k, v in declared.items()}
        self.parameters.update(parameters or {})
        for name, spec in declared.items():
            if spec.get("Type") == "CommaDelimitedList":
                text = self.parameters[name]
                self.parameters[name] = [s for s in text.split(",") if s] if isinstance(text, str) else text
        self.pseudo = {
            "AWS::Partition": PARTITION, "AWS::Region": REGION, "AWS::AccountId": ACCOUNT,
            "AWS::StackName": stack, "AWS::URLSuffix": "amazonaws.com",
        }  # fmt: skip
        self.resources: dict[str, Any] = self.doc.get("Resources") or {}

    def role_arn(self, logical_id: str) -> str:
        return str(self.resolve({"Fn::GetAtt": [logical_id, "Arn"]}))

    def role_statements(self, logical_id: str) -> list[Statement]:
        """The role's inline policies and every AWS::IAM::Policy of the template attached to it (when its
        Condition holds)."""
        role = self.resources[logical_id]
        documents = [p["PolicyDocument"] for p in role["Properties"].get("Policies") or []]
        for resource in self.resources.values():
            if resource["Type"] == "AWS::IAM::Policy" and self._holds(resource.get("Condition")):
                roles = self.resolve(resource["Properties"]["Roles"])
                if self.resolve({"Ref": logical_id}) in _strings(roles):
                    documents.append(resource["Properties"]["PolicyDocument"])
        return [Statement.parse(s) for d in documents for s in self._statements(d)]

    def resource_policy(self, logical_id: str) -> list[Statement]:
        """A REST API's resource policy, its ``execute-api:/...`` shorthand expanded to the API's ARN."""
        policy = self.resources[logical_id]["Properties"].get("Policy")
        if not policy:
            return []
        prefix = f"arn:aws:execute-api:{REGION}:{ACCOUNT}:{self.resolve({'Ref': logical_id})}/"
        statements = []
        for doc in self._statements(policy):
            doc = dict(doc)
            for key in ("Resource", "NotResource"):
                if key in doc:
                    doc[key] = [r.replace("execute-api:/", prefix, 1) for r in _strings(doc[key])]
            statements.append(Statement.parse(doc))
        return statements

    def _statements(self, document: Any) -> list[dict[str, Any]]:
        resolved = self.resolve(document)
        found = resolved["Statement"]
        return list(found) if isinstance(found, list) else [found]

    # -- intrinsics

    def resolve(self, value: Any) -> Any:
        if isinstance(value, list):
            return [v for v in (self.resolve(v) for v in value) if v is not _NO_VALUE]
        if not isinstance(value, dict):
            return value
        if len(value) == 1:
            ((name, arg),) = value.items()
            if name == "Ref":
                return self._ref(arg)
            if name.startswith("Fn::") or name == "Condition":
                return self._function(name, arg)
        return {k: r for k, r in ((k, self.resolve(v)) for k, v in value.items()) if r is not _NO_VALUE}

    def _function(self, name: str, arg: Any) -> Any:
        if name == "Fn::Sub":
            text, extra = (arg, {}) if isinstance(arg, str) else (arg[0], self.resolve(arg[1]))
            return self._sub(text, extra)
        if name == "Fn::GetAtt":
            logical_id, attribute = arg.split(".", 1) if isinstance(arg, str) else arg
            return self._attribute(logical_id, attribute)
        if name == "Fn::Join":
            return str(arg[0]).join(_strings(self.resolve(arg[1])))
        if name == "Fn::Select":
            return self.resolve(arg[1])[int(self.resolve(arg[0]))]
        if name == "Fn::Split":
            return str(self.resolve(arg[1])).split(arg[0])
        if name == "Fn::If":
            return self.resolve(arg[1] if self._holds(arg[0]) else arg[2])
        if name == "Fn::Base64":
            return self.resolve(arg)  # kept readable: rules read the user data's text
        if name == "Fn::GetAZs":
            return [f"{REGION}a", f"{REGION}b"]
        if name in ("Fn::Equals", "Fn::Not", "Fn::And", "Fn::Or", "Condition"):
            return self._truth(name, arg)
        raise ValueError(f"intrinsic {name} is not modelled")

    def _truth(self, name: str, arg: Any) -> bool:
        if name == "Condition":
            return self._holds(arg)
        if name == "Fn::Equals":
            left, right = (self.resolve(a) for a in arg)
            return bool(left == right)
        if name == "Fn::Not":
            return not self.resolve(arg[0])
        items = [self.resolve(a) for a in arg]
        return all(items) if name == "Fn::And" else any(items)

    def _holds(self, condition_name: str | None) -> bool:
        if condition_name is None:
            return True
        return bool(self.resolve(self.doc["Conditions"][condition_name]))

    def _ref(self, name: str) -> Any:
        if name == "AWS::NoValue":
            return _NO_VALUE
        if name in self.pseudo:
            return self.pseudo[name]
        if name in self.parameters:
            return self.parameters[name]
        return self._physical_name(name)

    def _physical_name(self, logical_id: str) -> str:
        props = self.resources[logical_id].get("Properties") or {}
        if self.resources[logical_id]["Type"] == "AWS::ApiGateway::RestApi":
            return f"api{logical_id.lower()}"
        for prop in _NAME_PROPERTIES:
            if prop in props:
                return str(self.resolve(props[prop]))
        return logical_id

    def _attribute(self, logical_id: str, attribute: str) -> str:
        kind = self.resources[logical_id]["Type"]
        if attribute == "Arn" and kind in _ARNS:
            return _ARNS[kind].format(region=REGION, account=ACCOUNT, name=self._physical_name(logical_id))
        return f"{logical_id}.{attribute}"

    def _sub(self, text: str, extra: Mapping[str, Any]) -> str:
        def one(found: re.Match[str]) -> str:
            name = found.group(1)
            if name.startswith("!"):
                return "${" + name[1:] + "}"
            if name in extra:
                return str(extra[name])
            if "." in name and name.split(".", 1)[0] in self.resources:
                return self._attribute(*name.split(".", 1))
            value = self._ref(name)
            return ",".join(value) if isinstance(value, list) else str(value)

        return re.sub(r"\$\{([^}]+)\}", one, text)
