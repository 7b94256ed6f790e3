"""The invariants that say nothing was lost or run twice, checked once the run is quiet."""

from __future__ import annotations

import itertools
from collections import Counter
from typing import TYPE_CHECKING, Any

from benchmarks.chaos.lambdas import Run
from benchmarks.chaos.settings import FLOW_MAX_PER_KEY, STAT_MOVES, tenant_of

if TYPE_CHECKING:
    from benchmarks.chaos.run import ChaosRun


def overlapping(runs: list[Run]) -> list[tuple[Run, Run]]:
    """Pairs of runs of different attempts where one started before the other had ended."""
    ordered = sorted(runs, key=lambda r: (r.start, r.end))
    pairs = []
    for earlier, later in itertools.pairwise(ordered):
        if later.start < earlier.end:
            pairs.append((earlier, later))
    return pairs


def most_at_once(runs: list[Run]) -> int:
    """The most runs in progress at any moment (a run ending when another starts is not overlapping)."""
    edges = sorted([(r.start, 1) for r in runs] + [(r.end, -1) for r in runs])
    running = peak = 0
    for _, step in edges:
        running += step
        peak = max(peak, running)
    return peak


def invariants(chaos: ChaosRun, task_ids: list[str]) -> list[str]:
    """Every broken invariant, one line each (empty when the run was sound)."""
    from ganger.tasks import STATUS_COMPLETED, STATUS_DEAD

    system, s = chaos.system, chaos.settings
    violations: list[str] = []
    closed = system.scan("sosw_closed_tasks")
    by_id = Counter(r["task_id"] for r in closed)
    rows = {r["task_id"]: r for r in closed}
    for task_id in task_ids:
        if by_id[task_id] != 1:
            violations.append(f"{task_id}: in the closed table {by_id[task_id]} times")
            continue
        row = rows[task_id]
        status = row["labourer_id_task_status"].rsplit("_", 1)[-1]
        if status not in (STATUS_COMPLETED, STATUS_DEAD):
            violations.append(f"{task_id}: closed with status {status!r}")
        if row.get("attempts", 0) > s.max_attempts:
            violations.append(f"{task_id}: closed after {row['attempts']} attempts (max {s.max_attempts})")
        if chaos.completions[task_id] > 1:  # 0 is possible: a completion whose response was lost
            violations.append(f"{task_id}: completed {chaos.completions[task_id]} times")
        if status == STATUS_DEAD and chaos.completions[task_id]:
            violations.append(f"{task_id}: dead, yet a report completed it")
    unknown = set(by_id) - set(task_ids)
    violations += [f"{t}: closed but never scheduled" for t in sorted(unknown)]
    for task_id, runs in chaos.workers.runs.items():
        if max(r.attempt for r in runs) > s.max_attempts:
            violations.append(f"{task_id}: a worker ran attempt {max(r.attempt for r in runs)}")
        for a, b in overlapping(runs):
            violations.append(f"{task_id}: attempt {b.attempt} started at {b.start:.0f} while attempt "
                              f"{a.attempt} ran until {a.end:.0f}")  # fmt: skip
    for labourer, runs in chaos.workers.by_labourer.items():
        peak = most_at_once(runs)
        if peak > s.concurrency:
            violations.append(f"{labourer}: {peak} workers ran at once, above its cap of {s.concurrency}")
    if s.flow:  # the keyed labourer: no tenant ever ran more than max_per_key at once
        for tenant, peak in peaks_per_key(chaos).items():
            if peak > FLOW_MAX_PER_KEY:
                violations.append(f"chaos_0 tenant {tenant}: {peak} workers ran at once, above max_per_key "
                                  f"{FLOW_MAX_PER_KEY}")  # fmt: skip
    for table in ("sosw_tasks", "sosw_retry_tasks"):
        left = system.scan(table)
        violations += [f"{r['task_id']}: left in {table}" for r in left]
    if system.lam.queue:
        violations.append(f"{len(system.lam.queue)} invocations left in the Lambda queue")
    violations += [f"{p.event['task_id']}: its worker never ended" for *_, p in chaos.workers.pending]
    violations += [f"{t}: attempt {a} was consumed without a worker run" + (" (its Invoke timed out)" if timed else "")
                   for t, a, timed in attempts_without_run(chaos, closed)]  # fmt: skip
    violations += stat_mismatches(chaos)
    return violations


def attempts_without_run(chaos: ChaosRun, closed: list[dict[str, Any]]) -> list[tuple[str, int, bool]]:
    """(task, attempt, its dispatch timed out) for each attempt a closed task used that no worker ran."""
    missing = []
    for row in closed:
        task_id = row["task_id"]
        ran = {r.attempt for r in chaos.workers.runs.get(task_id, [])}
        for attempt in range(1, int(row.get("attempts", 0)) + 1):
            if attempt not in ran:
                missing.append((task_id, attempt, (task_id, attempt) in chaos.moves.invoke_timeouts))
    return missing


def stat_mismatches(chaos: ChaosRun) -> list[str]:
    """Each stat (summed over every run of the essential, failed runs included) against the moves it counts."""
    lines = []
    for role, moves in STAT_MOVES.items():
        for move, stats in moves.items():
            counted, moved = sum(chaos.stats[(role, stat)] for stat in stats), chaos.moves.moves[(role, move)]
            if counted != moved:
                lines.append(f"{role} stat {' + '.join(stats)} = {counted}, but it made {moved} such moves ({move})")
    return lines


def peaks_per_key(chaos: ChaosRun) -> dict[str, int]:
    """The most runs of chaos_0 (the keyed labourer with ``flow``) at once per tenant (task ids chaos-<job>-<i>)."""
    by_tenant: dict[str, list[Run]] = {}
    for task_id, runs in chaos.workers.runs.items():
        job = int(task_id.split("-")[1])
        if job % chaos.settings.labourers == 0:
            by_tenant.setdefault(tenant_of(job // chaos.settings.labourers), []).extend(runs)
    return {tenant: most_at_once(runs) for tenant, runs in sorted(by_tenant.items())}
