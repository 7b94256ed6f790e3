"""`ganger config push DIR` against the config table of a deployed tables stack."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ganger.cli.main import main
from ganger.config import ConfigStore
from ganger.deploy import config_push
from ganger.local.moto_server import EmbeddedAws

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning:moto.*")


@pytest.fixture
def store(aws: EmbeddedAws, capsys: pytest.CaptureFixture[str]) -> ConfigStore:
    assert main(["deploy", "--endpoint-url", aws.endpoint_url, "--code-only", "--yes", "--stack", "tables"]) == 0
    capsys.readouterr()
    return ConfigStore(aws.client("dynamodb"), table="config", env="production")


def push(aws: EmbeddedAws, folder: Path, *extra: str) -> int:
    return main(["config", "push", str(folder), "--endpoint-url", aws.endpoint_url, *extra])


def write(folder: Path, name: str, value: object) -> None:
    folder.mkdir(exist_ok=True)
    (folder / f"{name}.json").write_text(json.dumps(value))


def test_dry_run_shows_the_diff_and_writes_nothing(
    aws: EmbeddedAws, store: ConfigStore, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    store.put("sosw_scavenger_config", {"batch_limit": 500})
    write(tmp_path / "config", "sosw_scavenger_config", {"batch_limit": 100})
    write(tmp_path / "config", "sosw_orchestrator_config", {"labourers": []})

    assert push(aws, tmp_path / "config", "--dry-run") == 0

    out = capsys.readouterr().out
    assert "update    sosw_scavenger_config" in out
    assert '-  "batch_limit": 500\n+  "batch_limit": 100' in out.replace('- "', '-  "').replace('+ "', '+  "')
    assert "create    sosw_orchestrator_config" in out
    assert "dry run: 2 document(s) would be written" in out
    assert store.get("sosw_scavenger_config").value == {"batch_limit": 500}
    assert store.get("sosw_orchestrator_config") is None


def test_push_writes_changed_documents_and_leaves_others(
    aws: EmbeddedAws, store: ConfigStore, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    store.put("sosw_scavenger_config", {"batch_limit": 500})
    store.put("my_own_config", {"x": 1})
    write(tmp_path / "config", "sosw_scavenger_config", {"batch_limit": 100})

    assert push(aws, tmp_path / "config") == 0
    assert push(aws, tmp_path / "config") == 0

    out = capsys.readouterr().out
    stored = store.get("sosw_scavenger_config")
    assert stored is not None and stored.value == {"batch_limit": 100} and stored.version == 2
    assert "unchanged sosw_scavenger_config" in out
    assert "kept      my_own_config (in the table only; push never deletes)" in out
    assert store.get("my_own_config").value == {"x": 1}


def test_an_invalid_document_stops_the_push_before_any_write(
    aws: EmbeddedAws, store: ConfigStore, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write(tmp_path / "config", "a_config", {"fine": True})
    write(tmp_path / "config", "sosw_scavenger_config", {"batch_limit": "many"})

    assert push(aws, tmp_path / "config") == 2

    assert "sosw_scavenger_config" in capsys.readouterr().err
    assert store.get("a_config") is None


def test_a_document_changed_since_the_plan_is_not_overwritten(store: ConfigStore) -> None:
    store.put("sosw_scavenger_config", {"batch_limit": 500})
    changes = config_push.plan_push(store, {"sosw_scavenger_config": {"batch_limit": 100}})
    store.put("sosw_scavenger_config", {"batch_limit": 7}, expected_version=1)  # someone else, meanwhile

    with pytest.raises(Exception, match="changed by someone else since version 1"):
        config_push.apply_push(store, changes)

    assert store.get("sosw_scavenger_config").value == {"batch_limit": 7}
