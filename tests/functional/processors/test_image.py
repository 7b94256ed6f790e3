"""A photo of pedestrians ends as a prediction and an annotated image in the chat."""

from __future__ import annotations

from ganger.local.telegram_updates import UpdateBuilder
from processors.demo import DATA_DIR
from processors.detectors import decode
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
    assert len(people) >= 1
    assert set(people[0]) == {"class", "cx", "cy", "width", "height", "score"}
    assert row["delivered_at"] > 0

    accepted, summary, annotated = bot.sent_to(USER)
    assert accepted.text == "Photo received. Looking for people in it..."
    assert summary.text == f"Detected objects:\nperson: {len(people)}"
    assert annotated.method == "sendPhoto" and annotated.caption == f"person: {len(people)}"
    assert decode(annotated.media).shape == (576, 768, 3)


def test_results_are_delivered_once(bot: Bot) -> None:
    from processors.demo import post_update

    photo = (DATA / "messi5.jpg").read_bytes()
    update = UpdateBuilder().photo([bot.telegram.add_photo(photo, width=548, height=342)], chat_id=USER)
    bot.send(update)
    bot.settle()
    sent = len(bot.telegram.sent)
    prediction_id = f"{USER}-{update['message']['message_id']}"
    again = post_update(f"{bot.results_url}?predictionId={prediction_id}", None, {})
    missing = post_update(f"{bot.results_url}?predictionId=nope", None, {})
    assert again == (200, {"delivered": False, "reason": "already delivered"})
    assert missing[0] == 404
    assert len(bot.telegram.sent) == sent
