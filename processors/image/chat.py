"""The image feature's chat handler: a photo, or an image sent as a file, goes to S3 and becomes an
``image_worker`` job; the answer comes back through ``POST /results``.

A file's MIME type is the client's claim: the bytes' magic decides (``processors.image.limits``), so a
TIFF or JPEG 2000 file labelled ``image/png`` is refused here, and again by the worker before decoding."""

from __future__ import annotations

from processors.image.limits import ImageRefused, read_header
from processors.telegram.incoming import Incoming
from processors.telegram.jobs import schedule_job
from processors.telegram.router import ChatBot, ChatHandler, Reply
from processors.telegram.routes import Kind, Route


@ChatHandler.on(Kind.PHOTO)
def photo(bot: ChatBot, incoming: Incoming, target: Route) -> Reply:
    config = bot.config
    image = incoming.image
    assert image is not None
    limit = config.max_photo_bytes // (1024 * 1024)
    if image.file_size > config.max_photo_bytes:
        return Reply(f"That image is too large ({image.file_size / 2**20:.1f} MB); I take images up to {limit} MB.")
    data = bot.telegram.download(image.file_id, config.max_photo_bytes)
    if len(data) > config.max_photo_bytes:  # the file's size was not announced: refused, never cut to fit
        return Reply(f"That image is too large ({len(data) / 2**20:.1f} MB); I take images up to {limit} MB.")
    try:
        content_type = read_header(data).content_type
    except ImageRefused as exc:
        return Reply(f"Sorry, I could not look at that: {exc.reason}.")
    key = f"{config.photos_prefix}/{incoming.chat_id}/{incoming.message_id}.jpg"
    bot.clients.get("s3").put_object(Bucket=config.media_bucket, Key=key, Body=data, ContentType=content_type)
    prediction_id = f"{incoming.chat_id}-{incoming.message_id}"
    payload = {"prediction_id": prediction_id, "bucket": config.media_bucket, "image_key": key}
    schedule_job(bot, incoming, config.labourers.image, "photo", f"photo {prediction_id}", payload)
    return Reply("Photo received. Looking for objects in it...")


HANDLERS = (photo,)
