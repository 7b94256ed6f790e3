"""Where a command talks to: AWS (default credentials), an endpoint given with --endpoint-url, or the
local system that `ganger local` is running (found through the state file it writes)."""

from __future__ import annotations

import argparse
import os
from dataclasses import dataclass
from typing import Any

import boto3

from ganger.clients import CLIENT_CONFIG, AwsClients
from ganger.local.state import STATE_ENV, LocalState, state_file

__all__ = ["STATE_ENV", "LocalState", "Target", "add_target_options", "resolve_target", "state_file"]


def add_target_options(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("where to connect")
    group.add_argument("--endpoint-url", help="AWS endpoint for every service (e.g. the local moto server)")
    group.add_argument("--lambda-endpoint-url", help="endpoint for Lambda calls (default: --endpoint-url)")
    group.add_argument("--region", default=None, help="AWS region (default: from the environment or us-east-1)")
    group.add_argument("--aws", action="store_true", help="use AWS even when a local system is running")


@dataclass(frozen=True)
class Target:
    endpoint_url: str | None
    lambda_endpoint_url: str | None
    region: str
    description: str

    def clients(self) -> AwsClients:
        local = self.endpoint_url is not None
        session = boto3.session.Session(
            aws_access_key_id="testing" if local else None,
            aws_secret_access_key="testing" if local else None,
            region_name=self.region,
        )
        made: dict[str, Any] = {}
        for service in ("dynamodb", "cloudwatch", "sns", "sqs", "cloudformation", "s3", "events"):
            made[service] = session.client(service, endpoint_url=self.endpoint_url, config=CLIENT_CONFIG)
        made["lambda"] = session.client(
            "lambda", endpoint_url=self.lambda_endpoint_url or self.endpoint_url, config=CLIENT_CONFIG
        )
        return AwsClients(session=session, region=self.region, **made)


def resolve_target(args: argparse.Namespace) -> Target:
    region = args.region or os.environ.get("AWS_DEFAULT_REGION") or os.environ.get("AWS_REGION") or "us-east-1"
    if args.endpoint_url:
        return Target(args.endpoint_url, args.lambda_endpoint_url, region, f"endpoint {args.endpoint_url}")
    if not args.aws:
        state = LocalState.read()
        if state is not None:
            return Target(state.endpoint_url, state.lambda_endpoint_url, "us-east-1", f"local system ({state_file()})")
    return Target(None, args.lambda_endpoint_url, region, f"AWS ({region})")
