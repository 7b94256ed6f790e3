"""The dev boxes of local mode's embedded EC2: made at ``ganger local``'s start for the config's users.

The sample ``devbox_worker_config`` names instances of a real account, which the embedded EC2 has
none of, so ``/up`` could never start them. ``ganger local`` runs every ``ganger.local_setup`` entry
point once the config is loaded; this one makes a stopped instance for each box of each configured
user and points the document at it, so ``/up``, ``/status`` and ``/shutdown`` work at once. The
``--demo`` scenario makes its box the same way. Never shipped in a function package.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from ganger.clients import AwsClients
from ganger.config import ConfigStore
from ganger.schema import parse, to_dict
from processors.devbox.config import CONFIG_DOCUMENT, DevboxConfig, DevboxUser

LOCAL_AMI = "ami-12c6146b"  # one of the AMIs moto's EC2 knows
DEVBOX_TAG = {"Key": "GangerDevbox", "Value": "true"}


def make_box(ec2: Any, name: str = "") -> str:
    """A stopped t3.micro tagged as a dev box (and ``Name``d when given); its instance id."""
    tags = [DEVBOX_TAG, *([{"Key": "Name", "Value": name}] if name else [])]
    instance = ec2.run_instances(
        ImageId=LOCAL_AMI,
        MinCount=1,
        MaxCount=1,
        InstanceType="t3.micro",
        TagSpecifications=[{"ResourceType": "instance", "Tags": tags}],
    )
    instance_id = str(instance["Instances"][0]["InstanceId"])
    ec2.stop_instances(InstanceIds=[instance_id])
    return instance_id


def _boxes_of(ec2: Any, user_id: str, user: DevboxUser, said: list[str]) -> DevboxUser:
    instances = {}
    for code, configured in sorted(user.instances.items()):
        instances[code] = make_box(ec2, f"devbox {user.code or user_id} {code}")
        said.append(
            f"dev box {code!r} of user {user_id}: made {instances[code]} (stopped) in the embedded EC2, "
            f"in place of {configured} of the sample config"
        )
    return replace(user, instances=instances)


def create_local_boxes(clients: AwsClients, store: ConfigStore) -> list[str]:
    """Make every configured user's boxes and point ``devbox_worker_config`` at them; what was done."""
    stored = store.get(CONFIG_DOCUMENT)
    if stored is None:
        return []
    config = parse(DevboxConfig, stored.value, CONFIG_DOCUMENT)
    ec2 = clients.get("ec2")
    said: list[str] = []
    users = {user_id: _boxes_of(ec2, user_id, user, said) for user_id, user in sorted(config.users.items())}
    if said:
        store.put(CONFIG_DOCUMENT, {**stored.value, "users": to_dict(users)}, expected_version=stored.version)
        said.append(f"{CONFIG_DOCUMENT} points at them: /up, /status and /shutdown work in local mode")
    return said
