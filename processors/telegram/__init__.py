"""The Telegram front door: the webhook Lambda, reading updates, routing them to the features' chat handlers,
update dedupe, ``/jobs`` and the reports of jobs that ended dead."""
