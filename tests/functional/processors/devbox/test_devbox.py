"""/up starts a moto EC2 instance; the hourly job warns, then stops it."""

from __future__ import annotations

import json
from typing import Any

from ganger.local.telegram_updates import UpdateBuilder
from processors.demo.scenarios import schedule_auto_shutdown
from processors.devbox.local_boxes import create_local_boxes
from tests.functional.processors.conftest import USER, Bot


def _instance(bot: Bot) -> tuple[Any, str]:
    ec2 = bot.system.clients.get("ec2")
    instance_id = ec2.run_instances(ImageId="ami-12c6146b", MinCount=1, MaxCount=1)["Instances"][0]["InstanceId"]
    ec2.stop_instances(InstanceIds=[instance_id])
    bot.put_config(
        "devbox_worker_config",
        {
            "telegram": {"base_url": bot.telegram.base_url},
            "read_environment": False,
            "users": {str(USER): {"code": "alice", "instances": {"default": instance_id}}},
            "domain": "USERCODE.INSTANCECODE.dev.example.com",
            "auto_shutdown_soft_minutes": 120,
            "auto_shutdown_hard_minutes": 180,
        },
    )
    return ec2, instance_id


def _state(ec2: Any, instance_id: str) -> dict[str, Any]:
    return ec2.describe_instances(InstanceIds=[instance_id])["Reservations"][0]["Instances"][0]


def test_up_starts_the_instance_and_the_cron_job_warns_then_stops_it(bot: Bot) -> None:
    ec2, instance_id = _instance(bot)
    updates = UpdateBuilder()
    bot.send(updates.text("/up", chat_id=USER))
    assert bot.texts_to(USER) == ["Starting your instance... I will message you when it is running."]
    bot.settle()

    running = _state(ec2, instance_id)
    assert running["State"]["Name"] == "running"
    up = bot.texts_to(USER)[-1]
    assert up.startswith("Your instance is running.")
    assert f"IP: {running['PublicIpAddress']}" in up and f"DNS: {running['PublicDnsName']}" in up
    assert "Domain: https://alice.dev.example.com" in up
    assert "Time left until automatic shutdown: 3h 00m" in up

    bot.send(updates.text("/status", chat_id=USER))
    status = bot.texts_to(USER)[-1]
    assert status.startswith("Your instance is running.")
    assert status.endswith('To stop instance click /shutdown or schedule message "Shutdown"')

    told = len(bot.texts_to(USER))
    bot.clock.advance(30 * 60)
    schedule_auto_shutdown(bot.context())
    bot.settle()
    assert len(bot.texts_to(USER)) == told  # 30 min after /up: nothing to say

    bot.clock.advance(91 * 60)  # 2h01m after /up: the soft warning
    schedule_auto_shutdown(bot.context())
    bot.settle()
    warning = bot.texts_to(USER)[-1]
    assert warning.startswith("Your instance will be stopped automatically in 59 min.")
    assert "/up to keep it running, or /shutdown to stop it now" in warning
    schedule_auto_shutdown(bot.context())  # a second sweep in the same hour: warned already
    bot.settle()
    assert bot.texts_to(USER)[-1] == warning
    assert _state(ec2, instance_id)["State"]["Name"] == "running"

    bot.clock.advance(60 * 60)  # 3h01m: the hard stop
    schedule_auto_shutdown(bot.context())
    bot.settle()
    assert _state(ec2, instance_id)["State"]["Name"] == "stopped"
    assert bot.texts_to(USER)[-1].startswith("Your instance was stopped automatically 180 min after the last /up.")


def test_up_again_extends_the_time_and_shutdown_stops(bot: Bot) -> None:
    ec2, instance_id = _instance(bot)
    updates = UpdateBuilder()
    bot.send(updates.text("/up", chat_id=USER))
    bot.settle()
    bot.clock.advance(150 * 60)
    bot.send(updates.text("/up", chat_id=USER))
    bot.settle()
    assert "Time left until automatic shutdown: 3h 00m" in bot.texts_to(USER)[-1]
    schedule_auto_shutdown(bot.context())
    bot.settle()
    assert "will be stopped" not in bot.texts_to(USER)[-1]

    bot.send(updates.text("shutdown", chat_id=USER))
    stopping = bot.sent_to(USER)[-1]
    assert (stopping.text, stopping.reply_markup) == (
        "Stopping your instance... I will message you when it is stopped.",
        {"remove_keyboard": True},
    )
    bot.settle()
    assert _state(ec2, instance_id)["State"]["Name"] == "stopped"
    assert bot.texts_to(USER)[-1] == "Your instance is stopped. Send /up to start it again."


def test_the_cron_rule_in_the_template_sends_the_job_to_the_scheduler(bot: Bot) -> None:
    events = bot.system.clients.get("events")
    (rule,) = [r for r in events.list_rules()["Rules"] if "DevboxAutoShutdown" in r["Name"]]
    (target,) = events.list_targets_by_rule(Rule=rule["Name"])["Targets"]
    assert target["Arn"].endswith(":function:sosw_scheduler")
    template = target["InputTransformer"]["InputTemplate"].replace("<time>", "2024-05-01T10:00:00Z")
    result = bot.system.schedule(json.loads(template))
    assert result["tasks_created"] == 1 and result["job_id"] == "devbox-auto-shutdown-2024-05-01T10:00:00Z"


def test_status_of_a_configured_instance_that_does_not_exist_says_so(bot: Bot) -> None:
    bot.put_config(
        "devbox_worker_config",
        {"telegram": {"base_url": bot.telegram.base_url}, "read_environment": False,
         "users": {str(USER): {"code": "alice", "instances": {"default": "i-0123456789abcdef0"}}}},
    )  # fmt: skip
    bot.send(UpdateBuilder().text("/status", chat_id=USER))
    reply = bot.texts_to(USER)[-1]
    assert reply.startswith("Your dev box is not in this AWS account") and "devbox_worker_config" in reply


def test_local_mode_makes_the_sample_users_boxes_and_up_starts_one(bot: Bot) -> None:
    """The sample config names instances of a real account; local mode makes its own and points at them."""
    sample = {"default": "i-0123456789abcdef0", "windows": "i-0fedcba9876543210"}
    bot.put_config(
        "devbox_worker_config",
        {
            "telegram": {"base_url": bot.telegram.base_url},
            "read_environment": False,
            "users": {str(USER): {"code": "alice", "instances": sample}},
        },
    )

    said = create_local_boxes(bot.system.clients, bot.system.config)

    stored = bot.system.config.get("devbox_worker_config")
    assert stored is not None
    boxes = stored.value["users"][str(USER)]["instances"]
    assert set(boxes) == {"default", "windows"} and not set(boxes.values()) & set(sample.values())
    ec2 = bot.system.clients.get("ec2")
    assert [_state(ec2, boxes[code])["State"]["Name"] for code in ("default", "windows")] == ["stopped", "stopped"]
    assert stored.value["telegram"] == {"base_url": bot.telegram.base_url}, "the rest of the document is kept"
    assert f"made {boxes['default']} (stopped)" in said[0] and "i-0123456789abcdef0" in said[0]

    bot.send(UpdateBuilder().text("/up", chat_id=USER))
    bot.settle()

    assert bot.texts_to(USER)[-1].startswith("Your instance is running.")
    assert _state(ec2, boxes["default"])["State"]["Name"] == "running"
