"""The function packages install only the wheels the lock names, byte for byte: every pin carries its sha256
and pip runs in hash-checking mode, so a tampered or substituted file on the index fails the build."""

from __future__ import annotations

import re
import subprocess
from collections.abc import Sequence
from pathlib import Path

import pytest

from ganger.deploy.dependencies import DependencySpec, install
from ganger.deploy.lock import LOCK_FILE, LockError, parse, read

HASHED = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*==\S+( --hash=sha256:[0-9a-f]{64})+$")


def test_every_pin_of_the_committed_lock_has_a_sha256() -> None:
    lines = [line for line in LOCK_FILE.read_text().splitlines() if line.strip() and not line.startswith("#")]
    assert lines and [line for line in lines if not HASHED.match(line)] == []
    assert read().hashes.keys() == read().pins.keys()


def test_a_pin_without_a_hash_is_refused() -> None:
    with pytest.raises(LockError, match=r"lock:2: six has no --hash=sha256"):
        parse(f"idna==3.20 --hash=sha256:{'a' * 64}\nsix==1.17.0\n")


class RecordingPip:
    def __init__(self) -> None:
        self.commands: list[list[str]] = []
        self.requirements: list[str] = []
        self.constraints = ""

    def __call__(self, command: Sequence[str]) -> subprocess.CompletedProcess[str]:
        self.commands.append(list(command))
        self.requirements = Path(command[command.index("--requirement") + 1]).read_text().splitlines()
        self.constraints = Path(command[command.index("--constraint") + 1]).read_text()
        return subprocess.CompletedProcess(command, 0, "", "")


def test_the_build_installs_in_hash_checking_mode_with_the_locked_hashes(tmp_path: Path) -> None:
    lock = read()
    pip = RecordingPip()
    install(DependencySpec(("python-telegram-bot",), lock), tmp_path, run=pip)
    (command,) = pip.commands
    assert "--require-hashes" in command
    assert pip.constraints == lock.text  # every dependency pip pulls in is checked against its locked hash
    (line,) = pip.requirements
    version, digest = lock.pins["python-telegram-bot"], lock.hashes["python-telegram-bot"][0]
    assert line == f"python-telegram-bot=={version} --hash=sha256:{digest}"
    assert not [arg for arg in command if "==" in arg]  # a pin on the command line could carry no hash
