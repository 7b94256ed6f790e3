from __future__ import annotations

import io
import subprocess
import zipfile
from collections.abc import Sequence
from pathlib import Path

import pytest

from ganger.deploy import build
from ganger.deploy.dependencies import DONE_MARKER, DependencyError, DependencySpec, install
from ganger.deploy.functions import PACKAGES, find
from ganger.deploy.lock import LockError, Platform, parse
from ganger.deploy.package import build_code_zip, package_key
from ganger.errors import GangerError

PINS = {"aws-lambda-powertools": "3.37.0", "jmespath": "1.1.0", "typing-extensions": "4.16.0", "boto3": "1.44.8"}
LOCK = parse("".join(f"{name}=={version} --hash=sha256:{'0' * 64}\n" for name, version in PINS.items()))


def _names(data: bytes) -> list[str]:
    return zipfile.ZipFile(io.BytesIO(data)).namelist()


def test_the_code_zip_is_deterministic_and_holds_every_handler_module() -> None:
    first, second = build_code_zip(), build_code_zip()

    names = _names(first)
    assert first == second and package_key(first) == package_key(second)
    assert {"essentials/scheduler.py", "processors/telegram/webhook.py", "examples/sosw_protocol_worker.py"} <= set(
        names
    )
    assert not [n for n in names if "__pycache__" in n or n.endswith(".pyc")]


def test_pip_is_asked_for_lambda_wheels_at_the_locked_versions() -> None:
    spec = DependencySpec(("aws-lambda-powertools",), LOCK)

    command = " ".join(spec.pip_command(Path("/t"), Path("/c.txt"), Path("/r.txt")))

    assert "--target /t" in command
    assert "--platform manylinux2014_x86_64 --only-binary=:all: --python-version 3.11" in command
    assert "--constraint /c.txt --requirement /r.txt" in command
    assert spec.pinned() == [f"aws-lambda-powertools==3.37.0 --hash=sha256:{'0' * 64}"]


def test_a_distribution_the_lock_does_not_pin_is_refused() -> None:
    with pytest.raises(LockError, match=r"pins no yt-dlp.*--update-lock"):
        DependencySpec(("yt-dlp",), LOCK).pinned()


class FakePip:
    """Installs what it is asked for (and boto3, which Lambda provides) into --target, and counts runs."""

    def __init__(self, returncode: int = 0, versions: dict[str, str] | None = None) -> None:
        self.runs = 0
        self.returncode = returncode
        self.versions = versions or {}

    def __call__(self, command: Sequence[str]) -> subprocess.CompletedProcess[str]:
        self.runs += 1
        target = Path(command[command.index("--target") + 1])
        target.mkdir(parents=True, exist_ok=True)
        requirements = Path(command[command.index("--requirement") + 1]).read_text().split()
        pins = [arg for arg in requirements if "==" in arg] + ["boto3==1.44.8"]
        for pin in pins:
            name, version = pin.split("==")
            module = name.replace("-", "_")
            (target / module).mkdir()
            (target / module / "__init__.py").write_text("")
            (target / module / "__pycache__").mkdir()
            (target / module / "__pycache__" / "stale.pyc").write_bytes(b"")
            (target / f"{module}-{self.versions.get(name, version)}.dist-info").mkdir()
        return subprocess.CompletedProcess(command, self.returncode, "", "ERROR: No matching distribution")


def test_dependencies_are_cached_by_the_lock_and_leave_out_what_lambda_provides(tmp_path: Path) -> None:
    pip = FakePip()
    spec = DependencySpec(("aws-lambda-powertools",), LOCK)

    first = install(spec, tmp_path, run=pip)
    second = install(spec, tmp_path, run=pip)
    relocked = install(
        DependencySpec(("aws-lambda-powertools",), parse(LOCK.text + f"six==1.17.0 --hash=sha256:{'1' * 64}\n")),
        tmp_path,
        run=pip,
    )

    assert first == second and pip.runs == 2 and relocked != first
    assert sorted(p.name for p in first.iterdir()) == sorted(
        ["aws_lambda_powertools", "aws_lambda_powertools-3.37.0.dist-info", DONE_MARKER]
    )
    assert not list(first.rglob("stale.pyc"))


def test_a_version_the_lock_does_not_pin_fails_the_build(tmp_path: Path) -> None:
    pip = FakePip(versions={"aws-lambda-powertools": "3.38.0"})

    with pytest.raises(LockError, match=r"aws-lambda-powertools 3\.38\.0 \(lock: 3\.37\.0\)"):
        install(DependencySpec(("aws-lambda-powertools",), LOCK), tmp_path, run=pip)

    assert [p.name for p in tmp_path.iterdir()] == []


def test_a_failed_pip_says_what_and_caches_nothing(tmp_path: Path) -> None:
    with pytest.raises(DependencyError, match=r"(?s)aws-lambda-powertools for manylinux2014_x86_64.*No matching"):
        install(DependencySpec(("aws-lambda-powertools",), LOCK), tmp_path, run=FakePip(returncode=1))

    assert list(tmp_path.iterdir()) == []


def test_an_essential_holds_its_handler_closure_and_nothing_of_local_mode_the_cli_or_deploy(tmp_path: Path) -> None:
    (tmp_path / "deps").mkdir()
    built = build.build_one(find("sosw_orchestrator"), LOCK, lambda spec: tmp_path / "deps")

    names = _names(built.data)
    assert "essentials/orchestrator.py" in names and "ganger/tasks/changes.py" in names
    assert not [n for n in names if n.startswith(("ganger/local/", "ganger/cli/", "ganger/deploy/", "processors/"))]
    assert "essentials/scheduler.py" not in names


def test_the_bot_ships_python_telegram_bot_but_not_opencv(tmp_path: Path) -> None:
    (tmp_path / "deps").mkdir()
    bot = find("telegram_bot")

    names = _names(build.build_one(bot, LOCK, lambda spec: tmp_path / "deps").data)

    assert "processors/telegram/webhook.py" in names and "processors/image/detectors.py" in names
    assert "python-telegram-bot" in bot.distributions and "opencv-python-headless" not in bot.distributions


def test_a_handler_importing_a_distribution_its_package_lacks_is_refused() -> None:
    bot = find("telegram_bot")
    without_telegram = type(bot)(bot.name, bot.handler, bot.code_parameter, ("aws-lambda-powertools",))

    refused = r"telegram_bot: processors\.telegram\.webhook imports telegram"
    with pytest.raises(build.MissingDistribution, match=refused):
        build.check_imports_shipped(without_telegram)


def test_every_function_of_the_templates_has_a_package() -> None:
    from ganger.deploy.stacks import TEMPLATES, load_template

    handlers = {
        resource["Properties"]["Handler"]: resource["Properties"]["Code"]["S3Key"]["Ref"]
        for path in TEMPLATES.glob("*.yaml")
        for resource in (load_template(path).get("Resources") or {}).values()
        if resource["Type"] == "AWS::Lambda::Function"
    }
    packaged = {spec.handler: spec.code_parameter for spec in PACKAGES if spec.handler}
    assert handlers == packaged


def test_the_table_names_each_package_with_its_sizes_and_limit() -> None:
    sosw = build.BuiltPackage(find("sosw_scheduler"), b"x" * 1024 * 1024, 3 * 1024 * 1024)
    fleet = build.BuiltPackage(find("fleet_instances"), b"x", 10)

    lines = build.table([sosw, fleet]).splitlines()

    assert lines[0].split() == ["function", "zipped", "unzipped", "limit", "(unzipped)"]
    assert lines[1].split() == ["sosw_scheduler", "1.0", "MiB", "3.0", "MiB", "15.0", "MiB"]
    assert lines[2].split()[-3:] == ["none", "(EC2", "instances)"]


def test_the_platform_is_lambdas() -> None:
    assert Platform().pip_options()[:2] == ["--platform", "manylinux2014_x86_64"]


def test_the_image_worker_ships_the_detection_model(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from ganger.deploy.package import model_files

    spec = find("image_worker")
    monkeypatch.setenv("GANGER_MODEL_DIR", str(tmp_path))
    with pytest.raises(GangerError, match="--fetch-model"):
        model_files(spec)
    (tmp_path / "yolov4-tiny").mkdir()
    for name in ("yolov4-tiny.cfg", "yolov4-tiny.weights", "coco.names"):
        (tmp_path / "yolov4-tiny" / name).write_text("x")
    assert sorted(name for name, _ in model_files(spec)) == [
        "models/yolov4-tiny/coco.names",
        "models/yolov4-tiny/yolov4-tiny.cfg",
        "models/yolov4-tiny/yolov4-tiny.weights",
    ]
    assert model_files(find("sosw_orchestrator")) == []
