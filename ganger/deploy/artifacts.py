"""The artifacts bucket that holds function packages: given, or ``ganger-artifacts-<account>-<region>``.

Bucket names are global: anyone may create ``ganger-artifacts-<your account>-<region>`` first, and a
package read from such a bucket would run as your functions. Every call on the bucket therefore carries
``ExpectedBucketOwner`` (S3 answers 403 when another account owns it), and a bucket that exists but is
not ours stops the deploy.
"""

from __future__ import annotations

import logging
from typing import Any

from botocore.exceptions import ClientError

from ganger.errors import GangerError

logger = logging.getLogger(__name__)


class BucketNotOwned(GangerError):
    """The artifacts bucket exists but belongs to another account."""

    def __init__(self, bucket: str, account: str) -> None:
        self.bucket = bucket
        self.account = account
        super().__init__(
            f"the artifacts bucket {bucket} is not owned by account {account}: "
            "choose another one with --bucket (never deploy code from a bucket you do not own)"
        )


def default_bucket_name(account: str, region: str) -> str:
    return f"ganger-artifacts-{account}-{region}"


def account_id(sts: Any) -> str:
    return str(sts.get_caller_identity()["Account"])


def _code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))


def _missing(exc: ClientError) -> bool:
    return _code(exc) in ("404", "NoSuchBucket", "NotFound", "NoSuchKey")


def _foreign(exc: ClientError) -> bool:
    return _code(exc) in ("403", "AccessDenied", "Forbidden")


def bucket_exists(s3: Any, bucket: str, owner: str) -> bool:
    """Whether ``bucket`` exists and is ``owner``'s; raises BucketNotOwned when it exists and is not."""
    try:
        s3.head_bucket(Bucket=bucket, ExpectedBucketOwner=owner)
    except ClientError as exc:
        if _missing(exc):
            return False
        if _foreign(exc):
            raise BucketNotOwned(bucket, owner) from exc
        raise
    return True


def ensure_bucket(s3: Any, bucket: str, region: str, owner: str) -> bool:
    """Create a private, encrypted bucket unless ``owner`` has it. True when it was created now."""
    if bucket_exists(s3, bucket, owner):
        return False
    kwargs: dict[str, Any] = {"Bucket": bucket, "ObjectOwnership": "BucketOwnerEnforced"}
    if region != "us-east-1":
        kwargs["CreateBucketConfiguration"] = {"LocationConstraint": region}
    try:
        s3.create_bucket(**kwargs)
    except ClientError as exc:
        if _code(exc) == "BucketAlreadyExists":  # created by someone else since we looked
            raise BucketNotOwned(bucket, owner) from exc
        if _code(exc) != "BucketAlreadyOwnedByYou":
            raise
    s3.put_public_access_block(
        Bucket=bucket,
        ExpectedBucketOwner=owner,
        PublicAccessBlockConfiguration={
            "BlockPublicAcls": True,
            "IgnorePublicAcls": True,
            "BlockPublicPolicy": True,
            "RestrictPublicBuckets": True,
        },
    )
    s3.put_bucket_encryption(
        Bucket=bucket,
        ExpectedBucketOwner=owner,
        ServerSideEncryptionConfiguration={
            "Rules": [{"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}]
        },
    )
    logger.info("created artifacts bucket %s", bucket)
    return True


def upload(s3: Any, bucket: str, key: str, data: bytes, owner: str) -> bool:
    """Upload a package unless the same key (a content hash) is in ``owner``'s bucket. True when uploaded."""
    try:
        s3.head_object(Bucket=bucket, Key=key, ExpectedBucketOwner=owner)
        return False
    except ClientError as exc:
        if _foreign(exc):
            raise BucketNotOwned(bucket, owner) from exc
        if not _missing(exc):
            raise
    s3.put_object(Bucket=bucket, Key=key, Body=data, ExpectedBucketOwner=owner)
    return True
