"""Who acts through the console, for the audit trail: the AWS caller identity on AWS, the local user otherwise."""

from __future__ import annotations

import getpass
import logging

from botocore.exceptions import BotoCoreError, ClientError

from ganger.clients import AwsClients

logger = logging.getLogger(__name__)


def local_actor() -> str:
    try:
        return f"local user {getpass.getuser()}"
    except (KeyError, OSError):  # no name for this uid (a container)
        return "local user (unknown)"


def aws_actor(clients: AwsClients) -> str:
    """The caller's ARN (one STS GetCallerIdentity), or the local user when it cannot be read."""
    try:
        return str(clients.get("sts").get_caller_identity()["Arn"])
    except (ClientError, BotoCoreError) as exc:
        logger.warning("console: the AWS caller identity could not be read (%s); acting as the local user", exc)
        return local_actor()
