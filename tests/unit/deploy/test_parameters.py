from __future__ import annotations

import pytest

from ganger.deploy.parameters import ParameterError, check_parameters, parse_assignments

TEMPLATE = {
    "Parameters": {
        "CodeKey": {"Type": "String"},
        "RuleState": {"Type": "String", "Default": "ENABLED", "AllowedValues": ["ENABLED", "DISABLED"]},
        "Memory": {"Type": "Number", "Default": 512, "MinValue": 128, "MaxValue": 10240},
        "Name": {"Type": "String", "Default": "x", "AllowedPattern": "[a-z]+", "MaxLength": 5},
    }
}


def test_good_values_have_no_problem() -> None:
    assert check_parameters(TEMPLATE, {"CodeKey": "k", "RuleState": "DISABLED", "Memory": "1024"}) == []


@pytest.mark.parametrize(
    ("given", "problem"),
    [
        ({}, "parameter CodeKey is required (no default)"),
        ({"CodeKey": "k", "Bogus": "1"}, "takes no parameter 'Bogus'"),
        ({"CodeKey": "k", "RuleState": "ON"}, "parameter RuleState: 'ON' is not one of ENABLED, DISABLED"),
        ({"CodeKey": "k", "Memory": "lots"}, "parameter Memory: 'lots' is not a number"),
        ({"CodeKey": "k", "Memory": "64"}, "parameter Memory: 64 is below the minimum 128"),
        ({"CodeKey": "k", "Name": "ABC"}, "parameter Name: 'ABC' does not match [a-z]+"),
        ({"CodeKey": "k", "Name": "abcdefg"}, "parameter Name: longer than 5 characters"),
    ],
)
def test_each_problem_names_the_parameter(given: dict[str, str], problem: str) -> None:
    assert check_parameters(TEMPLATE, given) == [problem]


def test_assignments_for_every_stack_or_one() -> None:
    parsed = parse_assignments(["RuleState=DISABLED", "processors:StageName=dev", "Url=a=b"])

    assert parsed == {"": {"RuleState": "DISABLED", "Url": "a=b"}, "processors": {"StageName": "dev"}}


@pytest.mark.parametrize("bad", ["RuleState", "=x", "stack:=x", "a-b=1"])
def test_malformed_assignments_are_refused(bad: str) -> None:
    with pytest.raises(ParameterError, match="--parameter"):
        parse_assignments([bad])
