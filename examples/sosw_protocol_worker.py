"""An example worker written only against sosw's worker protocol (no ganger import).

It reads the task from its event, does its work and reports to the WorkerAssistant with the
plain event sosw's Worker sends: ``{"action", "task_id", "stats", "result"}``. A payload with
``"fail_attempts": N`` fails its first N attempts (the demo's retry); ``"sleep": s`` works for s seconds.
"""

import json
import os
import time

import boto3

_lambda = None


def _client():
    global _lambda
    if _lambda is None:
        _lambda = boto3.client("lambda")
    return _lambda


def lambda_handler(event, context):
    task_id = event.get("task_id")
    started = time.time()
    if event.get("sleep"):
        time.sleep(float(event["sleep"]))
    failed = int(event.get("attempts", 1)) <= int(event.get("fail_attempts", 0))
    numbers = event.get("numbers") or []
    result = {"sum": sum(n for n in numbers if isinstance(n, (int, float))), "count": len(numbers)}
    if task_id:
        report = {
            "action": "mark_task_as_failed" if failed else "mark_task_as_completed",
            "task_id": task_id,
            "stats": {"seconds": round(time.time() - started, 3)},
            "result": result,
        }
        _client().invoke(
            FunctionName=os.environ.get("SOSW_WORKER_ASSISTANT", "sosw_worker_assistant"),
            InvocationType="Event",
            Payload=json.dumps(report),
        )
    return result
