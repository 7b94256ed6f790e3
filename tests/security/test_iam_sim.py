"""The IAM evaluator itself: it must allow what IAM allows and deny what IAM denies, or its verdicts on the
templates (test_iam_grants.py) prove nothing."""

from __future__ import annotations

from typing import Any

import pytest

from ganger.deploy.stacks import TEMPLATES
from tests.security.iam_sim import ALLOW, DENY, IMPLICIT, Request, Statement, Template, allowed, evaluate

BUCKET_READ = {
    "Effect": "Allow",
    "Action": "s3:Get*",
    "Resource": "arn:aws:s3:::code/*",
    "Condition": {"StringEquals": {"s3:ResourceAccount": "123456789012"}},
}


def one(doc: dict[str, Any], request: Request) -> str:
    return evaluate([Statement.parse(doc)], request)


def test_an_allow_with_its_condition_met_allows_and_unmet_denies() -> None:
    get = Request("s3:GetObject", "arn:aws:s3:::code/pkg.zip", {"s3:ResourceAccount": "123456789012"})
    assert one(BUCKET_READ, get) == ALLOW
    assert one(BUCKET_READ, Request(get.action, get.resource, {"s3:ResourceAccount": "999999999999"})) == IMPLICIT
    assert one(BUCKET_READ, Request(get.action, get.resource)) == IMPLICIT  # key absent: condition false
    assert one(BUCKET_READ, Request("s3:PutObject", get.resource, get.context)) == IMPLICIT
    assert one(BUCKET_READ, Request(get.action, "arn:aws:s3:::other/pkg.zip", get.context)) == IMPLICIT


def test_an_explicit_deny_beats_an_allow() -> None:
    deny = {"Effect": "Deny", "Action": "s3:GetObject", "Resource": "*"}
    get = Request("s3:GetObject", "arn:aws:s3:::code/pkg.zip", {"s3:ResourceAccount": "123456789012"})
    assert evaluate([Statement.parse(BUCKET_READ), Statement.parse(deny)], get) == DENY
    assert not allowed([Statement.parse(BUCKET_READ)], get, [Statement.parse({**deny, "Principal": "*"})])


def test_for_all_values_holds_on_no_values_and_fails_on_one_stranger() -> None:
    doc = {
        "Effect": "Allow",
        "Action": "dynamodb:PutItem",
        "Resource": "*",
        "Condition": {"ForAllValues:StringEquals": {"dynamodb:Attributes": ["a", "b"]}},
    }
    assert one(doc, Request("dynamodb:PutItem", "t", {"dynamodb:Attributes": ["a"]})) == ALLOW
    assert one(doc, Request("dynamodb:PutItem", "t", {"dynamodb:Attributes": ["a", "c"]})) == IMPLICIT
    assert one(doc, Request("dynamodb:PutItem", "t")) == ALLOW  # IAM's known gotcha: no values -> true


def test_if_exists_null_negation_and_ip_ranges() -> None:
    doc: dict[str, Any] = {"Effect": "Allow", "Action": "x:Y", "Resource": "*"}
    if_exists = {**doc, "Condition": {"StringEqualsIfExists": {"k:Select": "SPECIFIC_ATTRIBUTES"}}}
    assert one(if_exists, Request("x:Y", "r")) == ALLOW
    assert one(if_exists, Request("x:Y", "r", {"k:Select": "ALL_ATTRIBUTES"})) == IMPLICIT
    present = {**doc, "Condition": {"Null": {"aws:TagKeys": "false"}}}
    assert one(present, Request("x:Y", "r")) == IMPLICIT
    assert one(present, Request("x:Y", "r", {"aws:TagKeys": ["a"]})) == ALLOW
    not_equals = {**doc, "Condition": {"ArnNotEquals": {"aws:PrincipalArn": "arn:aws:iam::1:role/a"}}}
    assert one(not_equals, Request("x:Y", "r", principal="arn:aws:iam::1:role/a")) == IMPLICIT
    assert one(not_equals, Request("x:Y", "r", principal="arn:aws:iam::1:role/b")) == ALLOW
    ips = {**doc, "Condition": {"IpAddress": {"aws:SourceIp": ["149.154.160.0/20"]}}}
    assert one(ips, Request("x:Y", "r", {"aws:SourceIp": "149.154.175.1"})) == ALLOW
    assert one(ips, Request("x:Y", "r", {"aws:SourceIp": "149.154.176.1"})) == IMPLICIT


def test_a_principal_limits_a_resource_policy_statement() -> None:
    doc = {"Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::1:role/a"}, "Action": "x:Y", "Resource": "*"}
    assert one(doc, Request("x:Y", "r", principal="arn:aws:iam::1:role/a")) == ALLOW
    assert one(doc, Request("x:Y", "r", principal="arn:aws:iam::1:role/b")) == IMPLICIT
    assert one(doc, Request("x:Y", "r")) == IMPLICIT


def test_what_it_does_not_model_raises_instead_of_guessing() -> None:
    doc = {"Effect": "Allow", "Action": "x:Y", "Resource": "*", "Condition": {"DateGreaterThan": {"k": "1"}}}
    with pytest.raises(ValueError, match="not modelled"):
        one(doc, Request("x:Y", "r", {"k": "2"}))
    several = {"Effect": "Allow", "Action": "x:Y", "Resource": "*", "Condition": {"StringEquals": {"k": "a"}}}
    with pytest.raises(ValueError, match="ForAllValues"):
        one(several, Request("x:Y", "r", {"k": ["a", "b"]}))


def test_templates_resolve_to_arns_in_the_placeholder_account() -> None:
    template = Template(TEMPLATES / "processors.yaml")
    assert template.role_arn("VideoWorkerRole") == "arn:aws:iam::123456789012:role/VideoWorkerRole"
    resources = {r for s in template.role_statements("VideoWorkerRole") for r in s.resources}
    assert "arn:aws:dynamodb:us-east-1:123456789012:table/sosw_tasks" in resources
    assert "arn:aws:s3:::ganger-media/videos/*" in resources
