"""ConfigStore: config documents in the DynamoDB `config` table (sosw's schema), read, merged, validated.

A document is one item: HASH ``env``, RANGE ``config_name``, attribute ``config_value`` (a JSON string).
``TypedConfig`` merges a document over a dataclass's defaults, validates it, caches it for a short
TTL and keeps the last good value when an edit is bad, so a typo never stops a running system.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from botocore.exceptions import ClientError

from ganger import constants, schema
from ganger.errors import ConfigError

if TYPE_CHECKING:  # the mypy-boto3 stubs are a dev dependency
    from mypy_boto3_dynamodb import DynamoDBClient

logger = logging.getLogger(__name__)
T = TypeVar("T")
DEFAULT_TTL_SECONDS = 30.0


@dataclass(frozen=True)
class StoredDocument:
    """A raw document as stored, with its version for conditional writes."""

    name: str
    value: Any
    version: int


class ConfigStore:
    """Every access to the config table."""

    def __init__(self, dynamodb: DynamoDBClient, table: str | None = None, env: str | None = None) -> None:
        self._ddb = dynamodb
        self.table = table or constants.getenv(constants.ENV_CONFIG_TABLE) or constants.DEFAULT_CONFIG_TABLE
        self.env = env or constants.getenv(constants.ENV_CONFIG_ENV) or constants.DEFAULT_CONFIG_ENV

    def get(self, name: str) -> StoredDocument | None:
        """The document, or None when there is none. Raises ConfigError when it is not JSON."""
        item = self._ddb.get_item(
            TableName=self.table,
            Key={"env": {"S": self.env}, "config_name": {"S": name}},
            ConsistentRead=True,
        ).get("Item")
        if item is None:
            return None
        return self._parse(name, item)

    def get_many(self, names: list[str]) -> dict[str, StoredDocument | None]:
        """Several documents in one BatchGetItem (consistent reads); None for each one missing."""
        found: dict[str, StoredDocument | None] = dict.fromkeys(names)
        keys = [{"env": {"S": self.env}, "config_name": {"S": name}} for name in names]
        request: dict[str, Any] = {self.table: {"Keys": keys, "ConsistentRead": True}}
        while request:
            response = self._ddb.batch_get_item(RequestItems=request)
            for item in response.get("Responses", {}).get(self.table, []):
                name = item["config_name"]["S"]
                found[name] = self._parse(name, item)
            request = response.get("UnprocessedKeys") or {}
        return found

    def _parse(self, name: str, item: dict[str, Any]) -> StoredDocument:
        raw = item.get("config_value", {}).get("S")
        if raw is None:
            raise ConfigError(name, "config_value", "missing or not a string")
        try:
            value = json.loads(raw)
        except json.JSONDecodeError as exc:
            raise ConfigError(name, "", f"config_value is not valid JSON: {exc.msg} at line {exc.lineno}") from exc
        return StoredDocument(name, value, int(item.get("version", {}).get("N", "0")))

    def put(self, name: str, value: Any, expected_version: int | None = None) -> int:
        """Write a document; with ``expected_version`` only if nobody changed it since. Returns the new version."""
        new_version = (expected_version or 0) + 1
        kwargs: dict[str, Any] = {}
        if expected_version is not None:
            kwargs["ConditionExpression"] = "attribute_not_exists(config_name) OR version = :v"
            kwargs["ExpressionAttributeValues"] = {":v": {"N": str(expected_version)}}
            if expected_version == 0:
                kwargs["ConditionExpression"] = "attribute_not_exists(config_name) OR attribute_not_exists(version)"
                kwargs.pop("ExpressionAttributeValues")
        try:
            self._ddb.put_item(
                TableName=self.table,
                Item={
                    "env": {"S": self.env},
                    "config_name": {"S": name},
                    "config_value": {"S": json.dumps(value, indent=1, sort_keys=True)},
                    "version": {"N": str(new_version)},
                },
                **kwargs,
            )
        except ClientError as exc:
            if exc.response["Error"]["Code"] == "ConditionalCheckFailedException":
                raise ConfigError(name, "", f"changed by someone else since version {expected_version}") from exc
            raise
        return new_version

    def names(self) -> Iterator[str]:
        """Names of every document of this env (paginated)."""
        kwargs: dict[str, Any] = {
            "TableName": self.table,
            "KeyConditionExpression": "env = :e",
            "ExpressionAttributeValues": {":e": {"S": self.env}},
            "ProjectionExpression": "config_name",
            "Limit": 100,
        }
        while True:
            page = self._ddb.query(**kwargs)
            for item in page.get("Items", []):
                yield item["config_name"]["S"]
            if "LastEvaluatedKey" not in page:
                return
            kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]


def refresh_together(store: ConfigStore, configs: list[TypedConfig[Any]]) -> None:
    """Re-read every stale config of ``configs`` with one BatchGetItem (a run reads its document and
    the labourers with one call instead of two)."""
    stale = [c for c in configs if c.stale]
    if len(stale) < 2:
        return
    try:
        documents = store.get_many([c.name for c in stale])
    except ConfigError:
        return  # a document that is not JSON: each config's own get() reports it with its name
    except Exception as exc:  # throttled, timed out, anything: a cached config keeps serving
        logger.warning(
            "re-reading config documents %s failed (%s: %s)", [c.name for c in stale], type(exc).__name__, exc
        )
        for config in stale:
            if config.has_value:  # without one, the config's own get() reads again (and raises if it must)
                config.accept(_raising(exc))
        return
    for config in stale:
        config.accept(lambda config=config: documents[config.name])  # type: ignore[misc]


def _raising(exc: Exception) -> Callable[[], StoredDocument | None]:
    def read() -> StoredDocument | None:
        raise exc

    return read


def read_folder(folder: Path | str, validate: Callable[[str, Any], None] | None = None) -> dict[str, Any]:
    """Every ``<name>.json`` of ``folder``, parsed (and validated, when ``validate`` is given) as document
    ``<name>``; raises ConfigError naming the first bad one."""
    folder = Path(folder)
    if not folder.is_dir():
        raise ConfigError(str(folder), "", "no such folder")
    documents = {}
    for path in sorted(folder.glob("*.json")):
        try:
            value = json.loads(path.read_text())
        except json.JSONDecodeError as exc:
            raise ConfigError(path.stem, "", f"{path}: not valid JSON: {exc.msg} at line {exc.lineno}") from exc
        if validate is not None:
            validate(path.stem, value)
        documents[path.stem] = value
    return documents


def load_folder(
    store: ConfigStore, folder: Path | str, validate: Callable[[str, Any], None] | None = None
) -> list[str]:
    """Load every ``<name>.json`` of a folder into the config table as document ``<name>``.

    Every document is read (and validated) before anything is written, so a bad file leaves the table
    as it was. Returns the names written.
    """
    documents = read_folder(folder, validate)
    for name, value in documents.items():
        store.put(name, value)
    return list(documents)


class TypedConfig(Generic[T]):
    """A document merged over typed defaults, re-read after a TTL, last good value kept."""

    def __init__(
        self,
        store_factory: Callable[[], ConfigStore],
        name: str,
        parser: Callable[[dict[str, Any]], T],
        defaults: dict[str, Any],
        ttl: float | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._store_factory = store_factory
        self.name = name
        self._parser = parser
        self._defaults = defaults
        self._ttl = ttl if ttl is not None else float(constants.getenv(constants.ENV_CONFIG_TTL) or DEFAULT_TTL_SECONDS)
        self._clock = clock
        self._value: T | None = None
        self._fetched_at = float("-inf")
        self.last_error: ConfigError | None = None

    @property
    def has_value(self) -> bool:
        """True once a good config was read: it is what serves when a later read fails."""
        return self._value is not None

    @property
    def stale(self) -> bool:
        return self._value is None or self._clock() - self._fetched_at >= self._ttl

    def get(self) -> T:
        """The current config; reads the table when the cached value is older than the TTL."""
        if not self.stale:
            assert self._value is not None
            return self._value
        return self.accept(lambda: self._store_factory().get(self.name))

    def accept(self, read: Callable[[], StoredDocument | None]) -> T:
        """Take a fresh read of the document (``read`` may raise ConfigError); keep the last good on error."""
        try:
            self._value = self._parse(read())
            self.last_error = None
        except ConfigError as exc:
            self.last_error = exc
            if self._value is None:
                raise
            logger.error("%s; keeping the last good config", exc)
        except Exception as exc:  # throttled, unreachable, anything: the cached config still serves
            if self._value is None:
                raise
            logger.warning(
                "reading config document `%s` failed (%s: %s); keeping the cached config",
                self.name, type(exc).__name__, exc,
            )  # fmt: skip
        self._fetched_at = self._clock()
        return self._value

    def invalidate(self) -> None:
        """Force a re-read on the next ``get``."""
        self._fetched_at = float("-inf")

    def _parse(self, stored: StoredDocument | None) -> T:
        document = stored.value if stored else {}
        if not isinstance(document, dict):
            raise ConfigError(self.name, "", f"expected a JSON object, got {type(document).__name__}")
        try:
            return self._parser(schema.merge(self._defaults, document))
        except schema.SchemaError as exc:
            raise ConfigError(self.name, exc.path, exc.problem) from exc
