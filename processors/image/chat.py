"""The image feature's chat handler: a photo, or an image sent as a file, goes to S3 and becomes an
``image_worker`` job; the answer comes back through ``POST /results``."""

from __future__ import annotations

from processors.telegram.incoming import Incoming
from processors.telegram.jobs import schedule_job
from processors.telegram.router import ChatBot, ChatHandler, Reply
from processors.telegram.routes import Kind, Route


@ChatHandler.on(Kind.PHOTO)
def photo(bot: ChatBot, incoming: Incoming, target: Route) -> Reply:
    config = bot.config
    image = incoming.image
    assert image is not None
    if image.file_size > config.max_photo_bytes:
        limit = config.max_photo_bytes // (1024 * 1024)
        return Reply(f"That image is too large ({image.file_size / 2**20:.1f} MB); I take images up to {limit} MB.")
    data = bot.telegram.download(image.file_id, config.max_photo_bytes)
    key = f"{config.photos_prefix}/{incoming.chat_id}/{incoming.message_id}.jpg"
    bot.clients.get("s3").put_object(Bucket=config.media_bucket, Key=key, Body=data, ContentType="image/jpeg")
    prediction_id = f"{incoming.chat_id}-{incoming.message_id}"
    payload = {"prediction_id": prediction_id, "bucket": config.media_bucket, "image_key": key}
    schedule_job(bot, incoming, config.labourers.image, "photo", f"photo {prediction_id}", payload)
    return Reply("Photo received. Looking for objects in it...")


HANDLERS = (photo,)
