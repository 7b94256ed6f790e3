"""Stack parameters: checked against the template before any change set is made, so a typo fails fast,
names the parameter and leaves no stack behind; and parsed from ``--parameter`` arguments."""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from ganger.errors import GangerError


class ParameterError(GangerError):
    """A ``--parameter`` argument is malformed."""


def check_parameters(template: dict[str, Any], given: dict[str, str]) -> list[str]:
    """Every problem with ``given`` for ``template``'s Parameters section (empty when all is well)."""
    declared: dict[str, Any] = template.get("Parameters") or {}
    problems = [f"takes no parameter {name!r}" for name in sorted(set(given) - set(declared))]
    for name, spec in declared.items():
        if name in given:
            problems.extend(f"parameter {name}: {p}" for p in _value_problems(spec or {}, given[name]))
        elif "Default" not in (spec or {}):
            problems.append(f"parameter {name} is required (no default)")
    return problems


def _value_problems(spec: dict[str, Any], value: str) -> list[str]:
    problems = []
    allowed = spec.get("AllowedValues")
    if allowed is not None and value not in [str(v) for v in allowed]:
        problems.append(f"{value!r} is not one of {', '.join(str(v) for v in allowed)}")
    pattern = spec.get("AllowedPattern")
    if pattern is not None and re.fullmatch(str(pattern), value) is None:
        problems.append(f"{value!r} does not match {pattern}")
    if "MinLength" in spec and len(value) < int(spec["MinLength"]):
        problems.append(f"shorter than {spec['MinLength']} characters")
    if "MaxLength" in spec and len(value) > int(spec["MaxLength"]):
        problems.append(f"longer than {spec['MaxLength']} characters")
    if spec.get("Type") == "Number":
        problems.extend(_number_problems(spec, value))
    return problems


def _number_problems(spec: dict[str, Any], value: str) -> list[str]:
    try:
        number = float(value)
    except ValueError:
        return [f"{value!r} is not a number"]
    if "MinValue" in spec and number < float(spec["MinValue"]):
        return [f"{value} is below the minimum {spec['MinValue']}"]
    if "MaxValue" in spec and number > float(spec["MaxValue"]):
        return [f"{value} is above the maximum {spec['MaxValue']}"]
    return []


def parse_assignments(arguments: Iterable[str]) -> dict[str, dict[str, str]]:
    """``KEY=VALUE`` (every stack that declares KEY) or ``STACK:KEY=VALUE`` (one stack, by its template's
    name such as ``processors``) into ``{stack or "": {key: value}}``."""
    parsed: dict[str, dict[str, str]] = {}
    for argument in arguments:
        target, equals, value = argument.partition("=")
        if not equals or not target:
            raise ParameterError(f"--parameter {argument!r}: expected KEY=VALUE or STACK:KEY=VALUE")
        stack, _, key = target.rpartition(":")
        if not re.fullmatch(r"[A-Za-z0-9]+", key):
            raise ParameterError(f"--parameter {argument!r}: {key!r} is not a parameter name")
        parsed.setdefault(stack, {})[key] = value
    return parsed
