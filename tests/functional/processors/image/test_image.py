"""A photo of pedestrians ends as a prediction (YOLOv4-tiny, COCO classes) and an annotated image in the chat."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from typing import Any

from ganger.local.telegram_updates import UpdateBuilder
from processors.demo.scenarios import DATA_DIR
from processors.image.detectors import decode
from processors.image.signed_request import sigv4_headers
from processors.telegram import webhook
from tests.functional.processors.conftest import USER, Bot

DATA = DATA_DIR  # ../shared/data beside the checkout


def test_a_photo_becomes_a_prediction_and_an_annotated_image(bot: Bot) -> None:
    photo = (DATA / "pedestrians.jpg").read_bytes()
    thumbnail = bot.telegram.add_photo(photo[:1000], width=90, height=68)
    full = bot.telegram.add_photo(photo, width=768, height=576)
    update = UpdateBuilder().photo([thumbnail, full], chat_id=USER, caption="who is there?")
    assert bot.send(update)[0] == 200
    prediction_id = f"{USER}-{update['message']['message_id']}"
    original_key = f"photos/{USER}/{update['message']['message_id']}.jpg"
    s3 = bot.system.clients.get("s3")
    assert s3.get_object(Bucket="ganger-media", Key=original_key)["Body"].read() == photo  # the largest size

    bot.settle()

    (row,) = bot.system.scan("ganger_predictions")
    assert row["prediction_id"] == prediction_id
    assert row["original_img_path"] == original_key
    assert row["predicted_img_path"] == f"predictions/{USER}/{prediction_id}.jpg"
    people = [label for label in row["labels"] if label["class"] == "person"]
    assert len(people) >= 4
    assert {"car", "truck"} <= {label["class"] for label in row["labels"]}
    assert set(people[0]) == {"class", "cx", "cy", "width", "height", "score", "box"}
    assert row["delivered_at"] > 0
    assert row["expires_at"] == int(row["time"]) + 30 * 24 * 3600  # the table's TTL removes it with its images

    accepted, annotated = bot.sent_to(USER)
    assert accepted.text == "Photo received. Looking for objects in it..."
    assert annotated.method == "sendPhoto"
    assert annotated.caption.startswith(f"Found: person x{len(people)}, ")
    assert "car" in annotated.caption and "truck" in annotated.caption
    assert json.loads(annotated.params["reply_parameters"])["message_id"] == update["message"]["message_id"]
    assert decode(annotated.media).shape == (576, 768, 3)


def _post_results(url: str, signed: bool) -> tuple[int, dict[str, Any]]:
    headers = sigv4_headers(url, "POST", b"", "us-east-1") if signed else {}
    request = urllib.request.Request(url, data=b"", method="POST", headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.status, json.loads(response.read() or b"{}")
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read() or b"{}")


def test_results_are_delivered_once_and_only_to_a_signed_caller(bot: Bot) -> None:
    photo = (DATA / "messi5.jpg").read_bytes()
    update = UpdateBuilder().photo([bot.telegram.add_photo(photo, width=548, height=342)], chat_id=USER)
    bot.send(update)
    bot.settle()
    sent = len(bot.telegram.sent)
    prediction_id = f"{USER}-{update['message']['message_id']}"
    url = f"{bot.results_url}?predictionId={prediction_id}"

    unsigned = _post_results(url, signed=False)
    again = _post_results(url, signed=True)
    missing = _post_results(f"{bot.results_url}?predictionId=nope", signed=True)

    assert unsigned == (403, {"message": "Missing Authentication Token"})  # POST /results is AWS_IAM
    assert again == (200, {"delivered": False, "reason": "already delivered"})
    assert missing[0] == 404
    assert len(bot.telegram.sent) == sent


def test_an_unsigned_results_call_reaching_the_bot_is_refused_and_reveals_nothing(bot: Bot) -> None:
    """Defence in depth: the bot itself answers /results only for an IAM caller (API Gateway's identity)."""
    event = {"httpMethod": "POST", "resource": "/results", "path": "/prod/results",
             "queryStringParameters": {"predictionId": f"{USER}-1"}, "requestContext": {"identity": {}}}  # fmt: skip
    answer = webhook.lambda_handler(event, None)

    assert answer["statusCode"] == 403 and "summary" not in answer["body"]
