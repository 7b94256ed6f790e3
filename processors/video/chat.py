"""The video feature's chat handler: a link (or ``/video <words>``) becomes a ``video_worker`` job."""

from __future__ import annotations

from processors.telegram.incoming import Incoming
from processors.telegram.jobs import schedule_job
from processors.telegram.router import ChatBot, ChatHandler, Reply
from processors.telegram.routes import Kind, Route


@ChatHandler.on(Kind.VIDEO)
def video(bot: ChatBot, incoming: Incoming, target: Route) -> Reply:
    labourer = bot.config.labourers.video
    schedule_job(bot, incoming, labourer, "video", target.argument, {"url": target.argument})
    return Reply("Your message is being processed... I will send you the video.")


HANDLERS = (video,)
