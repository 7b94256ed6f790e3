"""The registry of config document schemas: ganger's own, and any package's through entry points."""

from importlib.metadata import EntryPoint

import pytest

from ganger.documents import ENTRY_POINT_GROUP, REGISTRY, SchemaRegistry
from ganger.errors import ConfigError


def declared(*pairs: tuple[str, str]) -> SchemaRegistry:
    return SchemaRegistry(lambda: [EntryPoint(name, value, ENTRY_POINT_GROUP) for name, value in pairs])


def test_a_declared_record_validates_its_document_naming_the_field() -> None:
    registry = declared(("bot_config", "processors.telegram.webhook:TelegramBotConfig"))

    assert registry.knows("bot_config") and "bot_config" in registry.names()
    registry.validate("bot_config", {"allowed_users": [1, 2]})
    with pytest.raises(ConfigError) as info:
        registry.validate("bot_config", {"allowed_users": "dana"})
    assert "config document `bot_config`: field `allowed_users`: expected a list, got str" in str(info.value)


def test_ganger_documents_are_known_without_any_entry_point() -> None:
    registry = declared()

    assert {"ganger_labourers", "ganger_audit", "ganger_fleets", "sosw_scheduler_config"} <= set(registry.names())
    with pytest.raises(ConfigError, match="field `ttl_days`"):
        registry.validate("ganger_audit", {"ttl_days": "a month"})
    with pytest.raises(ConfigError, match=r"field `labourers\.w\.duration`"):
        registry.validate("ganger_labourers", {"labourers": {"w": {"duration": "long"}}})


def test_a_document_nobody_declares_is_any_json_object() -> None:
    registry = declared()

    assert not registry.knows("someone_elses_config")
    registry.validate("someone_elses_config", {"anything": ["goes"]})
    with pytest.raises(ConfigError, match="expected a JSON object, got list"):
        registry.validate("someone_elses_config", [])


def test_a_schema_that_cannot_be_imported_fails_only_its_own_document_clearly() -> None:
    registry = declared(("broken_config", "processors.no_such_module:Config"))

    registry.validate("sosw_scavenger_config", {"batch_limit": 10})
    with pytest.raises(ConfigError) as info:
        registry.validate("broken_config", {})
    assert "`broken_config`" in str(info.value) and "processors.no_such_module:Config" in str(info.value)


def test_the_installed_registry_declares_every_processor_document() -> None:
    """setup.py's ganger.config_documents group, as installed: each names a record that loads."""
    for name in ("telegram_bot_config", "video_worker_config", "image_worker_config", "devbox_worker_config",
                 "feedings_config", "ganger_fleet_metrics_config"):  # fmt: skip
        assert isinstance(REGISTRY.schema(name), type), name
