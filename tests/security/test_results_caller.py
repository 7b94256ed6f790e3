"""POST /results delivers a prediction for the image worker's role only, even to a signed caller of the account.

The API's resource policy refuses other callers first (test_iam_grants.py); these run the bot itself with
the identity API Gateway passes, as if that policy were missing.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import pytest

from processors.image.predictions import Prediction, PredictionStore
from processors.telegram.callers import ENV_RESULTS_CALLER_ROLE
from tests.corpus.conftest import World
from tests.functional.processors.conftest import USER

ACCOUNT = "123456789012"
IMAGE_ROLE = f"arn:aws:iam::{ACCOUNT}:role/service/ganger-processors-ImageWorkerRole-1A2B3C"
IMAGE_SESSION = f"arn:aws:sts::{ACCOUNT}:assumed-role/ganger-processors-ImageWorkerRole-1A2B3C/image_worker"
OTHERS = [
    f"arn:aws:sts::{ACCOUNT}:assumed-role/ganger-processors-VideoWorkerRole-9Z8Y7X/video_worker",
    f"arn:aws:sts::{ACCOUNT}:assumed-role/Admin/alice",
    f"arn:aws:iam::{ACCOUNT}:user/alice",
    "arn:aws:sts::999999999999:assumed-role/ganger-processors-ImageWorkerRole-1A2B3C/image_worker",
]


@pytest.fixture
def deployed(world: World, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """As on AWS: no ``results_callers`` in the config, the image worker's role in the function's environment."""
    previous = world.system.config.get("telegram_bot_config")
    assert previous is not None
    world.system.config.put("telegram_bot_config", {k: v for k, v in previous.value.items() if k != "results_callers"})
    monkeypatch.setenv(ENV_RESULTS_CALLER_ROLE, IMAGE_ROLE)
    yield
    world.system.config.put("telegram_bot_config", previous.value)


def a_prediction(world: World) -> str:
    prediction_id = f"{USER}-{time.time_ns()}"
    store = PredictionStore(world.system.clients.dynamodb, "ganger_predictions")
    store.put(Prediction(prediction_id, USER, "photos/x.jpg", "predictions/x.jpg", time=time.time(), error="too dark"))
    return prediction_id


def post_results(world: World, prediction_id: str, caller: str) -> tuple[int, Any]:
    event = {"httpMethod": "POST", "resource": "/results", "path": "/prod/results",
             "queryStringParameters": {"predictionId": prediction_id},
             "requestContext": {"identity": {"userArn": caller, "caller": "AROAEXAMPLE:session"}}}  # fmt: skip
    answer = world.bot(event, None)
    return answer["statusCode"], json.loads(answer["body"])


@pytest.mark.parametrize("caller", OTHERS)
def test_another_signed_caller_delivers_nothing(world: World, deployed: None, caller: str) -> None:
    prediction_id = a_prediction(world)
    sent = len(world.telegram.sent)
    assert post_results(world, prediction_id, caller) == (403, {"message": "Forbidden"})
    assert len(world.telegram.sent) == sent
    # the prediction is still undelivered: the image worker's own call delivers it
    assert post_results(world, prediction_id, IMAGE_SESSION) == (200, {"delivered": True, "error": "too dark"})
    assert len(world.telegram.sent) == sent + 1


def test_nobody_is_accepted_when_no_caller_is_configured(
    world: World, deployed: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(ENV_RESULTS_CALLER_ROLE)
    prediction_id = a_prediction(world)
    assert post_results(world, prediction_id, IMAGE_SESSION) == (403, {"message": "Forbidden"})
