"""The JSON summary of a chaos run: what was injected, what the system did, and the invariants broken."""

from __future__ import annotations

from collections import Counter
from typing import TYPE_CHECKING, Any

from benchmarks.chaos.invariants import attempts_without_run, most_at_once, peaks_per_key
from benchmarks.chaos.settings import FAULT_FATES, FLOW_MAX_PER_KEY, FLOW_PRIORITIES, FLOW_RATE, START, STAT_MOVES

if TYPE_CHECKING:
    from benchmarks.chaos.run import ChaosRun


def _claimer(chaos: ChaosRun, task_id: str, attempt: int) -> str:
    """The essential whose claim made this attempt (claims not given back, in order)."""
    claims = chaos.moves.claims.get(task_id, [])
    return claims[attempt - 1] if attempt <= len(claims) else "unknown"


def _dispatch_outcome(chaos: ChaosRun, task_id: str, attempt: int) -> str:
    """What became of this attempt's Invoke: it timed out, it failed and the task was not released, or there
    was none (the claiming run stopped before dispatching)."""
    if (task_id, attempt) in chaos.moves.invoke_timeouts:
        return "invoke_timed_out"
    if (task_id, attempt) in chaos.moves.invoke_failures:
        return "invoke_failed_not_released"
    return "never_invoked"


def by_invariant(violations: list[str]) -> dict[str, int]:
    """The lifecycle invariants (lost, run twice, overlapping, left over) apart from the two about waste."""
    counts = Counter(
        "attempts_without_run" if "without a worker run" in line else "stats_equal_moves" if " stat " in line
        else "lifecycle"
        for line in violations
    )  # fmt: skip
    return {key: counts[key] for key in ("lifecycle", "attempts_without_run", "stats_equal_moves")}


def summary(chaos: ChaosRun, steps: int, violations: list[str], seconds: float) -> dict[str, Any]:
    closed = chaos.system.scan("sosw_closed_tasks")
    without_run = attempts_without_run(chaos, closed)
    counters = chaos.counters
    dead = sum(1 for r in closed if r["labourer_id_task_status"].endswith("_0"))
    runs = sum(len(r) for r in chaos.workers.runs.values())
    fates = chaos.workers.fates
    worker_faults = sum(fates[f] for f in FAULT_FATES)
    api = chaos.faults.injected
    api_total = sum(chaos.faults.by_service.values())
    return {
        "tasks": chaos.settings.tasks,
        "labourers": chaos.settings.labourers,
        "completed": len(closed) - dead,
        "dead": dead,
        "retries": sum(int(r.get("attempts", 1)) - 1 for r in closed),
        "worker_runs": runs,
        "worker_faults": {f: fates[f] for f in FAULT_FATES},
        "worker_fault_share": round(worker_faults / max(runs, 1), 4),
        "worker_failure_reports": fates["fail"],
        "api_calls": chaos.faults.calls,
        "api_faults": dict(sorted(api.items())),
        "api_faults_by_service": dict(sorted(chaos.faults.by_service.items())),
        "api_fault_share": round(api_total / max(chaos.faults.calls, 1), 4),
        "faults_retried_by_botocore": chaos.faults.resends > 0,
        "faulted_calls_sent_again": chaos.faults.resent,
        "worker_reruns_caused_by_report_failures": counters["worker_reruns_caused_by_report_failures"],
        "worker_report_raises": counters["worker_report_raises"],
        "attempts_without_run": len(without_run),
        "attempts_without_run_after_invoke_timeout": sum(1 for *_, timed in without_run if timed),
        "attempts_without_run_by_claimer": dict(
            sorted(Counter(_claimer(chaos, task, attempt) for task, attempt, _ in without_run).items())
        ),
        "attempts_without_run_by_dispatch": dict(
            sorted(Counter(_dispatch_outcome(chaos, task, attempt) for task, attempt, _ in without_run).items())
        ),
        "attempts_given_back": {
            role: chaos.stats[(role, "given_back")] for role in STAT_MOVES if chaos.stats[(role, "given_back")]
        },
        "deliveries_not_run_after_start_mark": fates["not_run_start_marked"],
        "reports_lost": counters["reports_lost_by_worker"] + counters["reports_lost_by_assistant"],
        "reports_lost_by": {
            "worker": counters["reports_lost_by_worker"],
            "assistant": counters["reports_lost_by_assistant"],
        },
        "lambda_async_retries": {
            "maximum_retry_attempts": chaos.settings.lambda_retries,
            "retried": dict(sorted(chaos.retries.retried.items())),
            "to_on_failure_destination": dict(sorted(chaos.retries.to_destination.items())),
        },
        "stats_against_moves": {
            f"{role}.{'+'.join(stats)}": {
                "stat": sum(chaos.stats[(role, stat)] for stat in stats),
                "moves": chaos.moves.moves[(role, move)],
            }
            for role, moves in STAT_MOVES.items()
            for move, stats in moves.items()
        },
        "events": dict(sorted(chaos.counters.items())),
        "steps": steps,
        "simulated_seconds": round(chaos.clock() - START),
        "most_workers_at_once": {k: most_at_once(v) for k, v in sorted(chaos.workers.by_labourer.items())},
        "cap": chaos.settings.concurrency,
        **(
            {
                "flow": {
                    "chaos_0_most_per_tenant_at_once": peaks_per_key(chaos),
                    "max_per_key": FLOW_MAX_PER_KEY,
                    "chaos_1_rate": FLOW_RATE,
                    "priorities": list(FLOW_PRIORITIES),
                }
            }
            if chaos.settings.flow
            else {}
        ),
        "violations": len(violations),
        "violations_by_invariant": by_invariant(violations),
        "violation_examples": violations[:20],
        "seconds": round(seconds, 1),
    }
