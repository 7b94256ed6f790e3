"""Every asynchronously invoked function is deployed with the retries and destinations the README gives."""

from __future__ import annotations

import pytest

from ganger.cli.main import main
from ganger.local.moto_server import EmbeddedAws

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning:moto.*")

# function -> (MaximumRetryAttempts, MaximumEventAgeInSeconds, on-failure queue or None)
EXPECTED = {
    "sosw_worker_assistant": (2, 3600, "ganger-worker-assistant-failures"),
    "sosw_scheduler": (2, 21600, "ganger-scheduler-failures"),
    "sosw_orchestrator": (0, 60, None),
    "sosw_scavenger": (0, 60, None),
    "example_worker": (0, 60, None),
    "video_worker": (0, 60, None),
    "image_worker": (0, 60, None),
    "devbox_worker": (0, 60, None),
}


def test_deployed_functions_carry_their_event_invoke_config(aws: EmbeddedAws) -> None:
    assert main(["deploy", "--endpoint-url", aws.endpoint_url, "--code-only", "--yes"]) == 0
    lam = aws.client("lambda")
    found = {}
    for name in EXPECTED:
        config = lam.get_function_event_invoke_config(FunctionName=name)
        destination = config.get("DestinationConfig", {}).get("OnFailure", {}).get("Destination")
        queue = destination.rsplit(":", 1)[-1] if destination else None
        found[name] = (config["MaximumRetryAttempts"], config["MaximumEventAgeInSeconds"], queue)
    assert found == EXPECTED
    queues = aws.client("sqs").list_queues()["QueueUrls"]
    assert {q.rsplit("/", 1)[-1] for q in queues} >= {"ganger-worker-assistant-failures", "ganger-scheduler-failures"}
