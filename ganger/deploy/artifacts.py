"""The artifacts bucket that holds function packages: given, or ``ganger-artifacts-<account>-<region>``."""

from __future__ import annotations

import logging
from typing import Any

from botocore.exceptions import ClientError

logger = logging.getLogger(__name__)


def default_bucket_name(account: str, region: str) -> str:
    return f"ganger-artifacts-{account}-{region}"


def account_id(sts: Any) -> str:
    return str(sts.get_caller_identity()["Account"])


def _missing(exc: ClientError) -> bool:
    return exc.response.get("Error", {}).get("Code") in ("404", "NoSuchBucket", "NotFound", "NoSuchKey")


def bucket_exists(s3: Any, bucket: str) -> bool:
    try:
        s3.head_bucket(Bucket=bucket)
    except ClientError as exc:
        if _missing(exc):
            return False
        raise
    return True


def ensure_bucket(s3: Any, bucket: str, region: str) -> bool:
    """Create a private, encrypted bucket unless it exists. True when it was created now."""
    if bucket_exists(s3, bucket):
        return False
    kwargs: dict[str, Any] = {"Bucket": bucket}
    if region != "us-east-1":
        kwargs["CreateBucketConfiguration"] = {"LocationConstraint": region}
    s3.create_bucket(**kwargs)
    s3.put_public_access_block(
        Bucket=bucket,
        PublicAccessBlockConfiguration={
            "BlockPublicAcls": True,
            "IgnorePublicAcls": True,
            "BlockPublicPolicy": True,
            "RestrictPublicBuckets": True,
        },
    )
    s3.put_bucket_encryption(
        Bucket=bucket,
        ServerSideEncryptionConfiguration={
            "Rules": [{"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}]
        },
    )
    logger.info("created artifacts bucket %s", bucket)
    return True


def upload(s3: Any, bucket: str, key: str, data: bytes) -> bool:
    """Upload a package unless the same key (a content hash) is there already. True when uploaded."""
    try:
        s3.head_object(Bucket=bucket, Key=key)
        return False
    except ClientError as exc:
        if not _missing(exc):
            raise
    s3.put_object(Bucket=bucket, Key=key, Body=data)
    return True
