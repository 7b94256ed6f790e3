"""`ganger deploy` without the command line: publish the package, then plan, show, confirm and execute
each stack's change set in dependency order. A stack is executed before the next is planned, because
later stacks import the outputs of earlier ones."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from ganger.deploy import artifacts
from ganger.deploy.build import BuiltPackage
from ganger.deploy.stacks import ChangeSetPlan, DeployError, StackSpec, discard, execute, outputs, plan

Assignments = dict[str, dict[str, str]]  # template name ("" for every stack) -> parameter -> value


class DeployUi(Protocol):
    """How the deployer talks to its user (the CLI prints; tests record)."""

    def progress(self, message: str) -> None: ...

    def show(self, change: ChangeSetPlan) -> None: ...

    def confirm(self, change: ChangeSetPlan) -> bool: ...


@dataclass(frozen=True)
class Artifacts:
    """Where the packages went: the bucket, each package's key by the template parameter that takes it."""

    bucket: str
    keys: dict[str, str]
    uploaded: tuple[str, ...] = ()
    bucket_created: bool = False


@dataclass(frozen=True)
class StackResult:
    """What happened to one stack: created, updated, unchanged, planned (dry run), declined, not planned."""

    stack: str
    outcome: str
    outputs: dict[str, str] = field(default_factory=dict)
    changes: tuple[str, ...] = ()
    note: str = ""


def publish(
    s3: Any, sts: Any, region: str, packages: Sequence[BuiltPackage], bucket: str | None, dry_run: bool = False
) -> Artifacts:
    """Put the packages in the artifacts bucket (made when it is the default one and missing); every call
    on the bucket checks that this account owns it."""
    owner = artifacts.account_id(sts)
    name = bucket or artifacts.default_bucket_name(owner, region)
    keys = {p.spec.code_parameter: p.key for p in packages}
    if dry_run:
        return Artifacts(name, keys)
    if bucket is None:
        created = artifacts.ensure_bucket(s3, name, region, owner)
    elif not artifacts.bucket_exists(s3, name, owner):
        raise DeployError("-", f"the artifacts bucket {name} does not exist (leave out --bucket to have one made)")
    else:
        created = False
    uploaded = tuple(p.key for p in packages if artifacts.upload(s3, name, p.key, p.data, owner))
    return Artifacts(name, keys, uploaded, created)


def select(specs: Sequence[StackSpec], names: Sequence[str]) -> list[StackSpec]:
    """The stacks named by their template (``essentials``), in dependency order; all when none is named."""
    if not names:
        return list(specs)
    known = {spec.template.stem for spec in specs}
    unknown = sorted(set(names) - known)
    if unknown:
        raise DeployError(unknown[0], f"no template yaml/{unknown[0]}.yaml (stacks: {', '.join(sorted(known))})")
    return [spec for spec in specs if spec.template.stem in names]


def parameters_for(spec: StackSpec, assignments: Assignments) -> dict[str, str]:
    """The ``--parameter`` values for one stack: shared ones it declares, and its own."""
    declared = spec.declared_parameters()
    shared = {k: v for k, v in assignments.get("", {}).items() if k in declared}
    return {**shared, **assignments.get(spec.template.stem, {})}


def check_assignments(specs: Sequence[StackSpec], assignments: Assignments) -> None:
    """Fail before touching anything when a parameter fits no stack being deployed."""
    stems = {spec.template.stem for spec in specs}
    for stem in assignments:
        if stem and stem not in stems:
            raise DeployError(stem, f"--parameter names stack {stem!r}, which is not being deployed")
    declared = set().union(*(spec.declared_parameters() for spec in specs)) if specs else set()
    for key in sorted(set(assignments.get("", {})) - declared):
        raise DeployError("-", f"no stack takes a parameter {key!r}")


def deploy_stacks(
    cfn: Any,
    specs: Sequence[StackSpec],
    assignments: Assignments,
    ui: DeployUi,
    dry_run: bool = False,
    use_change_set: bool | None = None,
) -> list[StackResult]:
    """Plan, show, confirm and execute each stack in order; stop at the first one declined or failed."""
    check_assignments(specs, assignments)
    results: list[StackResult] = []
    pending: list[str] = []  # stacks with changes not executed (dry run)
    for spec in specs:
        ui.progress(f"{spec.name}: planning")
        try:
            change = plan(cfn, spec, parameters_for(spec, assignments))
        except DeployError as exc:
            if not pending:
                raise
            note = f"planned after {', '.join(pending)} (it may need their changes): {exc.reason}"
            results.append(StackResult(spec.name, "not planned", note=note))
            continue
        if change is None:
            ui.progress(f"{spec.name}: up to date")
            results.append(StackResult(spec.name, "unchanged", outputs(cfn, spec.name)))
            continue
        ui.show(change)
        if dry_run:
            discard(cfn, change)
            pending.append(spec.name)
            results.append(StackResult(spec.name, "planned", changes=tuple(change.changes)))
            continue
        if not _confirmed(cfn, change, ui):
            results.append(StackResult(spec.name, "declined", changes=tuple(change.changes)))
            return results
        done = execute(cfn, change, ui.progress, use_change_set)
        outcome = "created" if change.kind == "CREATE" else "updated"
        results.append(StackResult(spec.name, outcome, done, tuple(change.changes)))
    return results


def _confirmed(cfn: Any, change: ChangeSetPlan, ui: DeployUi) -> bool:
    """Ask; a change set not confirmed (or whose question failed) is discarded."""
    try:
        confirmed = ui.confirm(change)
    except BaseException:
        discard(cfn, change)
        raise
    if not confirmed:
        discard(cfn, change)
    return confirmed
