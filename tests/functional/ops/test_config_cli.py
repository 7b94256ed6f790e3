"""`ganger config list | get | set | edit | validate | diff | push` against the config table."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from benchmarks.harness import InProcessSystem
from ganger.cli import config_cmd
from tests.functional.ops.conftest import Cli

DOC = "sosw_scavenger_config"
ROOT = Path(__file__).resolve().parents[3]


def write(path: Path, value: Any) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(value) if not isinstance(value, str) else value)
    return path


def test_list_and_get_show_documents_and_versions(system: InProcessSystem, cli: Cli) -> None:
    listed = cli("config", "list")
    assert listed.code == 0
    assert any(line.split() == [DOC, "1", "schema"] for line in listed.out.splitlines())
    assert any(line.split() == ["ganger_labourers", "1", "schema"] for line in listed.out.splitlines())

    got = cli("config", "get", DOC)
    assert json.loads(got.out) == system.config.get(DOC).value
    assert f"# {DOC}: version 1" in got.err


def test_set_refuses_an_invalid_document_naming_the_field_and_type(
    system: InProcessSystem, cli: Cli, tmp_path: Path
) -> None:
    before = system.config.get(DOC)
    result = cli("config", "set", DOC, str(write(tmp_path / "bad.json", {"batch_limit": "many"})))
    assert result.code == 2
    assert f"config document `{DOC}`: field `batch_limit`" in result.err and "int" in result.err
    assert system.config.get(DOC) == before


def test_set_refuses_a_processor_document_naming_the_field(system: InProcessSystem, cli: Cli, tmp_path: Path) -> None:
    name = "telegram_bot_config"
    before = system.config.get(name)
    bad = {**before.value, "allowed_users": "dana"}

    result = cli("config", "set", name, str(write(tmp_path / "bad.json", bad)))

    assert result.code == 2
    assert f"config document `{name}`: field `allowed_users`" in result.err and "expected a list" in result.err
    assert system.config.get(name) == before


def test_validate_knows_every_document_of_the_config_folder_in_a_fresh_process() -> None:
    """A new `ganger` process has imported no processor: the schemas come from the entry-point registry."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    command = [sys.executable, "-m", "ganger.cli.main", "config", "validate", str(ROOT / "config")]
    result = subprocess.run(command, capture_output=True, text=True, env=env, cwd=ROOT, timeout=120, check=False)

    names = sorted(path.stem for path in (ROOT / "config").glob("*.json"))
    assert result.returncode == 0, result.stdout + result.stderr
    assert [line.split()[1] for line in result.stdout.splitlines() if line.startswith("ok ")] == names
    assert "no schema" not in result.stdout
    assert f"{len(names)} valid, 0 invalid" in result.stdout


def test_two_editors_of_the_same_version_one_wins_the_other_is_told(
    system: InProcessSystem, cli: Cli, tmp_path: Path
) -> None:
    version = system.config.get(DOC).version
    first = write(tmp_path / "a.json", {"batch_limit": 100})
    second = write(tmp_path / "b.json", {"batch_limit": 200})

    won = cli("config", "set", DOC, str(first), "--if-version", str(version))
    lost = cli("config", "set", DOC, str(second), "--if-version", str(version))

    assert won.code == 0 and f"{DOC}: version {version} -> {version + 1}" in won.out
    assert lost.code == 2 and f"changed by someone else since version {version}" in lost.err
    stored = system.config.get(DOC)
    assert stored.value == {"batch_limit": 100} and stored.version == version + 1


def test_validate_folder_reports_every_bad_document(cli: Cli, tmp_path: Path) -> None:
    folder = tmp_path / "config"
    write(folder / "sosw_scavenger_config.json", {"batch_limit": 10})
    write(folder / "sosw_orchestrator_config.json", {"labourers": "all"})
    write(folder / "ganger_labourers.json", "{not json")

    result = cli("config", "validate", str(folder))

    assert result.code == 1
    assert "ok       sosw_scavenger_config" in result.out
    assert "`sosw_orchestrator_config`: field `labourers`: expected a list, got str" in result.out
    assert "`ganger_labourers`" in result.out and "not valid JSON" in result.out
    assert "1 valid, 2 invalid" in result.out


def test_validate_the_table(cli: Cli) -> None:
    result = cli("config", "validate")
    assert result.code == 0 and " 0 invalid" in result.out


def test_diff_shows_what_push_would_change_and_push_refuses_invalid(
    system: InProcessSystem, cli: Cli, tmp_path: Path
) -> None:
    folder = tmp_path / "config"
    write(folder / f"{DOC}.json", {**system.config.get(DOC).value, "batch_limit": 7})
    diff = cli("config", "diff", str(folder), "--exit-code")
    assert diff.code == 1
    assert f"update    {DOC}" in diff.out and '+ "batch_limit": 7' in diff.out
    assert "1 document(s) differ" in diff.out

    write(folder / "sosw_orchestrator_config.json", {"invocation_number_coefficient": {"4": "full"}})
    refused = cli("config", "push", str(folder))
    assert refused.code == 2
    assert "`sosw_orchestrator_config`: field `invocation_number_coefficient.4`" in refused.err
    assert system.config.get(DOC).value.get("batch_limit") != 7, "nothing is written when one document is bad"


class FakeEditor:
    """Stands in for $EDITOR: each run writes the next text into the file (and may run a side effect)."""

    def __init__(self, texts: list[str], side_effect: Any = None) -> None:
        self.texts = texts
        self.runs = 0
        self.side_effect = side_effect

    def __call__(self, command: list[str], check: bool) -> None:
        Path(command[-1]).write_text(self.texts[self.runs])
        self.runs += 1
        if self.side_effect:
            self.side_effect()


def test_edit_reopens_on_an_invalid_document_then_saves(
    system: InProcessSystem, cli: Cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    editor = FakeEditor(['{"batch_limit": "lots"}', '{"batch_limit": 42}'])
    monkeypatch.setattr(config_cmd.subprocess, "run", editor)
    monkeypatch.setattr("builtins.input", lambda prompt: "y")
    version = system.config.get(DOC).version

    result = cli("config", "edit", DOC)

    assert result.code == 0 and editor.runs == 2
    assert "field `batch_limit`" in result.err
    assert f"{DOC}: version {version} -> {version + 1}" in result.out
    assert system.config.get(DOC).value == {"batch_limit": 42}


def test_edit_aborted_writes_nothing(system: InProcessSystem, cli: Cli, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(config_cmd.subprocess, "run", FakeEditor(['{"batch_limit": -"'] * 2))
    monkeypatch.setattr("builtins.input", lambda prompt: "n")
    before = system.config.get(DOC)

    result = cli("config", "edit", DOC)

    assert result.code == 1 and "aborted, nothing written" in result.out
    assert system.config.get(DOC) == before


def test_edit_refuses_to_overwrite_a_concurrent_change(
    system: InProcessSystem, cli: Cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    def someone_else_saves() -> None:
        stored = system.config.get(DOC)
        system.config.put(DOC, {"batch_limit": 1}, expected_version=stored.version)

    monkeypatch.setattr(config_cmd.subprocess, "run", FakeEditor(['{"batch_limit": 2}'], someone_else_saves))

    result = cli("config", "edit", DOC)

    assert result.code == 2 and "changed by someone else" in result.err and "your edit is kept in" in result.err
    kept = Path(result.err.split("your edit is kept in ")[1].strip())
    assert json.loads(kept.read_text()) == {"batch_limit": 2}
    assert system.config.get(DOC).value == {"batch_limit": 1}
    kept.unlink()
