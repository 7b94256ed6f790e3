from __future__ import annotations

import pytest

from processors.devbox.config import (
    DevboxAccessError,
    DevboxConfig,
    DevboxUser,
    domain_urls,
    effective,
    resolve,
    users_from_environ,
)
from processors.devbox.worker import InstanceInfo, auto_shutdown_action, status_message, up_message, warning_message

ENV = {
    "USER_111_INSTANCE": "i-default",
    "USER_111_INSTANCE_WINDOWS": "i-windows",
    "USER_111_CODE": "alice",
    "USER_222_INSTANCE": "i-bob",
    "DOMAIN": "USERCODE.INSTANCECODE.dev.example.com",
    "DOMAIN_NO_SSL": "USERCODE.INSTANCECODE.plain.example.com",
    "AUTO_SHUTDOWN_SOFT": "60",
    "AUTO_SHUTDOWN_HARD": "90",
    "PATH": "/usr/bin",
}


def test_the_original_environment_variables_are_accepted() -> None:
    users = users_from_environ(ENV)
    assert users["111"] == DevboxUser(code="alice", instances={"default": "i-default", "windows": "i-windows"})
    assert users["222"].instances == {"default": "i-bob"}


def test_the_document_wins_over_the_environment() -> None:
    config = effective(
        DevboxConfig(users={"222": DevboxUser(instances={"default": "i-new"})}, auto_shutdown_soft_minutes=30), ENV
    )
    assert config.users["222"].instances == {"default": "i-new"}
    assert config.users["111"].code == "alice"
    assert (config.auto_shutdown_soft_minutes, config.auto_shutdown_hard_minutes) == (30, 90)
    assert config.domain == "USERCODE.INSTANCECODE.dev.example.com"


def test_instance_codes_resolve() -> None:
    config = effective(DevboxConfig(), ENV)
    windows = resolve(config, 111, "Windows")
    assert (windows.instance_id, windows.code, windows.suffix) == ("i-windows", "windows", "_windows")
    assert resolve(config, "111").instance_id == "i-default"
    assert domain_urls(config, windows) == [
        "https://alice.windows.dev.example.com",
        "http://alice.windows.plain.example.com",
    ]
    assert domain_urls(config, resolve(config, 111)) == [
        "https://alice.dev.example.com",
        "http://alice.plain.example.com",
    ]


def test_unknown_users_and_codes_are_refused() -> None:
    config = effective(DevboxConfig(), ENV)
    with pytest.raises(DevboxAccessError) as refused:
        resolve(config, 999)
    assert refused.value.known == []
    with pytest.raises(DevboxAccessError) as wrong_code:
        resolve(config, 111, "mac")
    assert wrong_code.value.known == ["default", "windows"]


@pytest.mark.parametrize(
    ("elapsed_min", "warned", "expected"),
    [
        (10, None, None),
        (61, None, "warn"),
        (70, 1000 + 61 * 60, None),
        (91, 1000 + 61 * 60, "stop"),
        (200, None, "stop"),
    ],
)
def test_auto_shutdown_decisions(elapsed_min: int, warned: float | None, expected: str | None) -> None:
    info = InstanceInfo("i-1", "running", up_at=1000, warned_at=warned)
    assert auto_shutdown_action(info, 1000 + elapsed_min * 60, 60, 90) == expected


def test_a_stopped_instance_is_left_alone() -> None:
    assert auto_shutdown_action(InstanceInfo("i-1", "stopped", up_at=0), 10**9, 60, 90) is None


def test_a_warning_before_the_last_up_does_not_count() -> None:
    info = InstanceInfo("i-1", "running", up_at=5000, warned_at=4000)
    assert auto_shutdown_action(info, 5000 + 61 * 60, 60, 90) == "warn"


def test_messages() -> None:
    config = effective(DevboxConfig(), ENV)
    target = resolve(config, 111, "windows")
    info = InstanceInfo("i-windows", "running", "1.2.3.4", "ec2-1-2-3-4.compute.amazonaws.com", up_at=0)
    up = up_message(config, target, info, 30 * 60)
    assert "IP: 1.2.3.4" in up and "DNS: ec2-1-2-3-4" in up and "https://alice.windows.dev.example.com" in up
    assert "1h 00m" in up
    status = status_message(config, target, info, 0)
    assert 'To stop instance click /shutdown_windows or schedule message "Shutdown Windows"' in status
    assert "/up_windows" in warning_message(config, target, info, 60 * 60)
