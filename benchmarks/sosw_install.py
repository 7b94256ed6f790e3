"""sosw 0.7.51 as a real installation has it: its tables and its config documents, for the comparison benchmark.

Tables follow sosw's own template (``examples/yaml/initial/sosw-dev-shared-dynamodb.yaml`` in the
sosw repository: sosw_tasks, sosw_closed_tasks, sosw_retry_tasks, sosw_tasks_meta; the ``config``
table from its sosw-ddb-config stack), except that they are on-demand: with the template's 2 write
units sosw's Scheduler sleeps ~0.47 s per task (``_sleeptime_for_dynamo``), which would measure the
template, not the code. Each essential reads ``sosw_essential_config`` and ``<function>_config``
from the config table (env "production"), as deployed sosw does; Glue lookups are off
(``skip_glue``) except the config table's own client, which sosw builds without that option.
The MetaHandler keeps sosw's default (``write_meta_to_ddb: true``) unless ``meta=False``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
ACCOUNT = "123456789012"
REGION = "us-east-1"
QUEUE_BUCKET = "sosw-benchmark-scheduler-queue"
SCHEDULER, ORCHESTRATOR, SCAVENGER, ASSISTANT = (
    "sosw_scheduler",
    "sosw_orchestrator",
    "sosw_scavenger",
    "sosw_worker_assistant",
)
CHUNKABLE_ATTRS = [["section", {}], ["store", {}], ["product", {}]]  # sosw's format: (name, options) pairs

_ON_DEMAND = {"BillingMode": "PAY_PER_REQUEST"}
SOSW_TABLES: list[dict[str, Any]] = [
    {
        "TableName": "sosw_tasks",
        "AttributeDefinitions": [
            {"AttributeName": "task_id", "AttributeType": "S"},
            {"AttributeName": "labourer_id", "AttributeType": "S"},
            {"AttributeName": "greenfield", "AttributeType": "N"},
        ],
        "KeySchema": [{"AttributeName": "task_id", "KeyType": "HASH"}],
        "GlobalSecondaryIndexes": [
            {
                "IndexName": "sosw_tasks_greenfield",
                "KeySchema": [
                    {"AttributeName": "labourer_id", "KeyType": "HASH"},
                    {"AttributeName": "greenfield", "KeyType": "RANGE"},
                ],
                "Projection": {"ProjectionType": "ALL"},
            }
        ],
        **_ON_DEMAND,
    },
    {
        "TableName": "sosw_closed_tasks",
        "AttributeDefinitions": [
            {"AttributeName": "task_id", "AttributeType": "S"},
            {"AttributeName": "labourer_id_task_status", "AttributeType": "S"},
            {"AttributeName": "closed_at", "AttributeType": "N"},
        ],
        "KeySchema": [{"AttributeName": "task_id", "KeyType": "HASH"}],
        "GlobalSecondaryIndexes": [
            {
                "IndexName": "labourer_task_status_with_time",
                "KeySchema": [
                    {"AttributeName": "labourer_id_task_status", "KeyType": "HASH"},
                    {"AttributeName": "closed_at", "KeyType": "RANGE"},
                ],
                "Projection": {
                    "ProjectionType": "INCLUDE",
                    "NonKeyAttributes": ["completed_at", "greenfield", "attempts"],
                },
            }
        ],
        **_ON_DEMAND,
    },
    {
        "TableName": "sosw_retry_tasks",
        "AttributeDefinitions": [
            {"AttributeName": "labourer_id", "AttributeType": "S"},
            {"AttributeName": "task_id", "AttributeType": "S"},
            {"AttributeName": "desired_launch_time", "AttributeType": "N"},
        ],
        "KeySchema": [
            {"AttributeName": "labourer_id", "KeyType": "HASH"},
            {"AttributeName": "task_id", "KeyType": "RANGE"},
        ],
        "LocalSecondaryIndexes": [
            {
                "IndexName": "labourer_id_greenfield",
                "KeySchema": [
                    {"AttributeName": "labourer_id", "KeyType": "HASH"},
                    {"AttributeName": "desired_launch_time", "KeyType": "RANGE"},
                ],
                "Projection": {"ProjectionType": "ALL"},
            }
        ],
        **_ON_DEMAND,
    },
    {
        "TableName": "sosw_tasks_meta",
        "AttributeDefinitions": [
            {"AttributeName": "task_id", "AttributeType": "S"},
            {"AttributeName": "created_at", "AttributeType": "N"},
        ],
        "KeySchema": [
            {"AttributeName": "task_id", "KeyType": "HASH"},
            {"AttributeName": "created_at", "KeyType": "RANGE"},
        ],
        **_ON_DEMAND,
    },
    {
        "TableName": "config",
        "AttributeDefinitions": [
            {"AttributeName": "env", "AttributeType": "S"},
            {"AttributeName": "config_name", "AttributeType": "S"},
        ],
        "KeySchema": [
            {"AttributeName": "env", "KeyType": "HASH"},
            {"AttributeName": "config_name", "KeyType": "RANGE"},
        ],
        **_ON_DEMAND,
    },
]


def repo_labourers() -> dict[str, dict[str, Any]]:
    """The Lambda labourers as the repo configures them for ganger (config/ganger_labourers.json)."""
    document = json.loads((ROOT / "config" / "ganger_labourers.json").read_text())
    return {
        name: dict(entry) for name, entry in document["labourers"].items() if entry.get("type", "lambda") == "lambda"
    }


def labourer_arn(name: str) -> str:
    return f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{name}"


def config_documents(meta: bool = True) -> dict[str, dict[str, Any]]:
    """sosw's config documents for the same labourers and job schema as ganger's.

    sosw's ``register_labourers`` rejects ``duration`` and ``cooldown`` in a labourer's config
    (``Labourer.set_custom_attribute`` raises), so its labourer keeps sosw's defaults of 900 s + 300 s.
    """
    labourers = {
        name: {
            "arn": labourer_arn(name),
            "max_simultaneous_invocations": entry["max_simultaneous_invocations"],
            "max_attempts": entry["max_attempts"],
        }
        for name, entry in repo_labourers().items()
    }
    return {
        "sosw_essential_config": {
            "task_config": {"labourers": labourers, "dynamo_db_config": {"skip_glue": True}},
            "meta_handler_config": {"write_meta_to_ddb": meta, "dynamo_db_config": {"skip_glue": True}},
        },
        f"{SCHEDULER}_config": {
            "queue_bucket": QUEUE_BUCKET,
            "job_schema": {"chunkable_attrs": CHUNKABLE_ATTRS},
            "job_schema_variants": {"default": {"chunkable_attrs": CHUNKABLE_ATTRS}},
        },
        f"{ORCHESTRATOR}_config": {},
        f"{SCAVENGER}_config": {
            "sns_config": {"recipient": f"arn:aws:sns:{REGION}:{ACCOUNT}:sosw_info", "subject": "sosw info"}
        },
        f"{ASSISTANT}_config": {"dynamo_db_config": {"skip_glue": True}},
    }
