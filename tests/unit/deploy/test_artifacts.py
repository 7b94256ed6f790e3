"""The artifacts bucket: every call on it names the account that must own it; a foreign bucket stops the deploy."""

from __future__ import annotations

from typing import Any

import pytest
from botocore.exceptions import ClientError

from ganger.deploy import artifacts
from ganger.deploy.build import BuiltPackage
from ganger.deploy.deployer import publish
from ganger.deploy.functions import find

ACCOUNT = "111122223333"


def _error(code: str) -> ClientError:
    return ClientError({"Error": {"Code": code, "Message": code}}, "op")


class FakeS3:
    """A bucket owned by ``owner`` (or none): answers as S3 does to ExpectedBucketOwner, records every call."""

    def __init__(self, owner: str | None = None) -> None:
        self.owner = owner
        self.objects: dict[str, bytes] = {}
        self.calls: list[tuple[str, dict[str, Any]]] = []

    def _check(self, name: str, kwargs: dict[str, Any]) -> None:
        self.calls.append((name, kwargs))
        if self.owner is None:
            raise _error("404")
        if kwargs.get("ExpectedBucketOwner") != self.owner:
            raise _error("403")

    def head_bucket(self, **kwargs: Any) -> None:
        self._check("head_bucket", kwargs)

    def create_bucket(self, **kwargs: Any) -> None:
        self.calls.append(("create_bucket", kwargs))  # CreateBucket takes no ExpectedBucketOwner
        self.owner = ACCOUNT

    def put_public_access_block(self, **kwargs: Any) -> None:
        self._check("put_public_access_block", kwargs)

    def put_bucket_encryption(self, **kwargs: Any) -> None:
        self._check("put_bucket_encryption", kwargs)

    def head_object(self, **kwargs: Any) -> None:
        self._check("head_object", kwargs)
        if kwargs["Key"] not in self.objects:
            raise _error("404")

    def put_object(self, **kwargs: Any) -> None:
        self._check("put_object", kwargs)
        self.objects[kwargs["Key"]] = kwargs["Body"]


class FakeSts:
    def get_caller_identity(self) -> dict[str, str]:
        return {"Account": ACCOUNT}


PACKAGES = [BuiltPackage(find(name), name.encode(), 10) for name in ("sosw_scheduler", "telegram_bot")]


def test_every_call_on_the_artifacts_bucket_names_its_expected_owner() -> None:
    s3 = FakeS3()

    first = publish(s3, FakeSts(), "eu-west-1", PACKAGES, None)
    again = publish(s3, FakeSts(), "eu-west-1", PACKAGES, None)

    assert first.bucket == f"ganger-artifacts-{ACCOUNT}-eu-west-1" and first.bucket_created
    assert len(first.uploaded) == 2 and again.uploaded == ()
    assert first.keys == {"SchedulerCodeKey": PACKAGES[0].key, "TelegramBotCodeKey": PACKAGES[1].key}
    unchecked = [name for name, kwargs in s3.calls if name != "create_bucket" and "ExpectedBucketOwner" not in kwargs]
    assert unchecked == []
    assert {name for name, _ in s3.calls} >= {"head_bucket", "create_bucket", "head_object", "put_object"}


@pytest.mark.parametrize("bucket", [None, "my-artifacts"])
def test_a_bucket_another_account_owns_is_never_used(bucket: str | None) -> None:
    s3 = FakeS3(owner="999999999999")

    with pytest.raises(artifacts.BucketNotOwned, match="not owned by account 111122223333"):
        publish(s3, FakeSts(), "eu-west-1", PACKAGES, bucket)

    assert s3.objects == {}
    assert [name for name, _ in s3.calls] == ["head_bucket"]
