"""SigV4 signatures for calls to an IAM-authorized API Gateway route (``execute-api``), as the AWS SDKs sign."""

from __future__ import annotations

from typing import Any

from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest

from ganger.errors import GangerError


class NoCredentials(GangerError):
    """There are no AWS credentials to sign the request with."""


def sigv4_headers(url: str, method: str, body: bytes, region: str, credentials: Any = None) -> dict[str, str]:
    """The headers that authorize ``method url`` as this function's role (its environment's credentials)."""
    if credentials is None:
        import botocore.session

        credentials = botocore.session.get_session().get_credentials()
    if credentials is None:
        raise NoCredentials("no AWS credentials to sign the request to an IAM-authorized route")
    request = AWSRequest(method=method, url=url, data=body)
    SigV4Auth(credentials.get_frozen_credentials(), "execute-api", region).add_auth(request)
    return {name: str(value) for name, value in request.headers.items()}
