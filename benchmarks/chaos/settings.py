"""The chaos run's knobs (``ChaosSettings``) and the facts it models: the clock's step, the workers'
fates, Lambda's retry delays and attempts, and which essential's stats count which table move."""

from __future__ import annotations

from dataclasses import dataclass, field

START = 1_790_000_000.0
STEP_SECONDS = 20.0
SCHEDULER_LEASE = 60
WORKER_FATES = ("ok", "fail", "crash", "timeout", "twice", "late")
FAULT_FATES = ("crash", "timeout", "twice", "late")
# Lambda retries a failed Event invocation about 1 minute, then 2 minutes later.
LAMBDA_RETRY_DELAYS = (60.0, 120.0)
# MaximumRetryAttempts per role, as the templates' EventInvokeConfig sets them (yaml/, README "Lambda's own
# retries"): a labourer 0 (the Scavenger owns retries), the WorkerAssistant 2, the rule-run essentials 0.
TEMPLATE_RETRIES = {"worker": 0, "assistant": 2, "orchestrator": 0, "scavenger": 0}
ASSISTANT = "sosw_worker_assistant"
ROLES = {"sosw_orchestrator": "orchestrator", "sosw_scavenger": "scavenger", ASSISTANT: "assistant",
         "sosw_scheduler": "scheduler"}  # fmt: skip
# the table move (or invoke) -> the stats of an essential that count it; see TableMoves. A labourer's task is
# started by whichever essential frees or adds work (dispatch: the Orchestrator's "dispatched", any
# essential's "started", the WorkerAssistant's "handed_off"); an Invoke that timed out is in none of them.
STAT_MOVES: dict[str, dict[str, tuple[str, ...]]] = {
    "orchestrator": {"invoked": ("dispatched", "started", "paced_starts"), "given_back": ("given_back",)},
    "scheduler": {"invoked": ("started",), "given_back": ("given_back",)},
    "scavenger": {"invoked": ("started",), "to_retry": ("retried",), "closed_dead": ("dead",),
                  "requeued": ("requeued",), "given_back": ("given_back",)},
    "assistant": {"invoked": ("handed_off", "started"), "closed_completed": ("completed",),
                  "to_retry": ("failed_retried",), "closed_dead": ("failed_dead",), "given_back": ("given_back",)},
}  # fmt: skip


@dataclass
class ChaosSettings:
    tasks: int = 1000
    labourers: int = 3
    tasks_per_job: int = 250
    api_fault_rate: float = 0.07
    lost_response_share: float = 0.0
    worker_fault_rate: float = 0.16  # crash, timeout, twice, late, shared equally
    worker_fail_rate: float = 0.03  # a reported failure (not counted as a fault)
    concurrency: int = 150
    duration: int = 60
    cooldown: int = 30
    max_attempts: int = 5
    jump_chance: float = 0.05
    interleave_chance: float = 0.5
    max_steps: int = 3000
    seed: int = 7
    lambda_retries: dict[str, int] = field(default_factory=lambda: dict(TEMPLATE_RETRIES))
    botocore_retries: int = 0  # >0: each faulted call is sent again up to this many times (standard mode)
    contention: bool = False  # DynamoDB as AWS runs it: conflicts, hot keys (benchmarks/chaos/contention.py)
    flow: bool = False  # flow control on the labourers: keys with max_per_key, a rate, job priorities (FLOW_*)


# With ``flow``: chaos_0 keys its tasks by the job's tenant with a cap per key, chaos_1 has a rate limit, and the
# jobs (of every labourer) take priorities 0, 2 and 4 in turn.
FLOW_TENANTS = 3
FLOW_MAX_PER_KEY = 40
FLOW_RATE = {"per_second": 20.0, "burst": 20}
FLOW_PRIORITIES = (0, 2, 4)


def flow_entries(labourer: dict[str, object], count: int) -> dict[str, dict[str, object]]:
    """The chaos labourers' entries, with flow control on the first two when there are that many."""
    entries = {f"chaos_{i}": dict(labourer) for i in range(count)}
    if count > 0:
        entries["chaos_0"].update(concurrency_key="tenant", max_per_key=FLOW_MAX_PER_KEY)
    if count > 1:
        entries["chaos_1"]["rate"] = dict(FLOW_RATE)
    return entries


def tenant_of(job_index: int) -> str:
    return f"t{job_index % FLOW_TENANTS}"
