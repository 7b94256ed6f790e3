"""A boto3 client for any service of a Target (``Target.clients()`` covers the task engine's services)."""

from __future__ import annotations

from typing import Any

import boto3

from ganger.cli.target import Target
from ganger.clients import CLIENT_CONFIG


def service_client(target: Target, service: str) -> Any:
    """A client for ``service`` at the target's endpoint (fake credentials for a local endpoint)."""
    local = target.endpoint_url is not None
    session = boto3.session.Session(
        aws_access_key_id="testing" if local else None,
        aws_secret_access_key="testing" if local else None,
        region_name=target.region,
    )
    endpoint = target.lambda_endpoint_url or target.endpoint_url if service == "lambda" else target.endpoint_url
    return session.client(service, endpoint_url=endpoint, config=CLIENT_CONFIG)
