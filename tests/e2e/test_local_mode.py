"""`ganger local` end to end, as a user runs it: real subprocesses, the moto server, the CLI."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest

from processors.demo.scenarios import DATA_DIR

pytestmark = pytest.mark.e2e
ROOT = Path(__file__).resolve().parents[2]


def ganger(*args: str, env: dict[str, str], timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "ganger.cli.main", *args], cwd=ROOT, env=env, capture_output=True, text=True,
        timeout=timeout, check=False,
    )  # fmt: skip


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    clean.update(GANGER_HOME=str(tmp_path / "home"), PYTHONUNBUFFERED="1")
    return clean


def test_demo_runs_every_scenario_and_writes_the_report(env: dict[str, str], tmp_path: Path) -> None:
    report_path = tmp_path / "report.json"
    result = ganger("local", "--demo", "--report", str(report_path), env=env, timeout=240)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    report = json.loads(report_path.read_text())
    example = report["labourers"]["example_worker"]
    assert example == {"completed": 200, "dead": 0, "retried": 1}, "every task completed, one after a retry"
    assert all(s["ok"] for s in report["scenarios"]), report["scenarios"]
    names = {s["name"] for s in report["scenarios"]}
    assert {"example job", "feedings", "video", "image", "devbox", "fleet scaling"} <= names
    assert any("Total drank = 120 ml" in r["text"] for r in report["telegram_replies"])
    assert report["api_calls"] > 1000 and report["seconds"] > 0
    assert "local mode emulates what moto does not run" in result.stdout
    assert "ganger local demo" in result.stdout and "example_worker" in result.stdout
    assert not (tmp_path / "home" / "local.json").exists(), "the state file is removed on exit"


def _start_with_default_sigint(args: list[str], **kwargs: Any) -> subprocess.Popen[str]:
    """A child whose Ctrl-C works however the tests were started. A process started with SIGINT ignored
    (a background job of a non-interactive shell, a CI runner) passes that on through exec, and Python then
    never raises KeyboardInterrupt; a signal with a handler is reset to the default at exec instead. So
    SIGINT has Python's handler here while the child starts (a ``preexec_fn`` is unsafe with threads)."""
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        return subprocess.Popen(args, **kwargs)
    finally:
        signal.signal(signal.SIGINT, previous)


class LocalProcess:
    """``ganger local`` as a subprocess whose output a thread reads all along, so a full pipe never
    blocks it, and which is stopped however the tests were started."""

    def __init__(self, env: dict[str, str], *args: str) -> None:
        self.lines: list[str] = []
        self.ready = threading.Event()
        self.process = _start_with_default_sigint(
            [sys.executable, "-m", "ganger.cli.main", "local", *args], cwd=ROOT, env=env,
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        )  # fmt: skip
        self._reader = threading.Thread(target=self._read, name="ganger-local-output", daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.lines.append(line)
            if "press Ctrl-C to stop" in line:
                self.ready.set()

    @property
    def output(self) -> str:
        return "".join(self.lines)

    def wait_ready(self, timeout: float = 90) -> None:
        deadline = time.monotonic() + timeout
        while not self.ready.wait(0.2):
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.stop()
                pytest.fail("ganger local did not start:\n" + self.output)

    def interrupt(self, timeout: float = 60) -> bool:
        """Ctrl-C; True when it stopped within ``timeout``."""
        self.process.send_signal(signal.SIGINT)
        try:
            self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            return False
        return True

    def stop(self) -> None:
        """SIGTERM, then SIGKILL: never leaves the process behind, whatever happened to SIGINT."""
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self._reader.join(timeout=10)
        assert self.process.stdout is not None
        self.process.stdout.close()


@pytest.fixture
def running(env: dict[str, str]) -> Iterator[tuple[LocalProcess, dict[str, str]]]:
    yield from local_system(env, "30")


@pytest.fixture
def real_speed(env: dict[str, str]) -> Iterator[tuple[LocalProcess, dict[str, str]]]:
    yield from local_system(env, "1")


def local_system(env: dict[str, str], speed: str) -> Iterator[tuple[LocalProcess, dict[str, str]]]:
    local = LocalProcess(env, "--speed", speed)
    state = Path(env["GANGER_HOME"]) / "local.json"
    try:
        local.wait_ready()
        assert state.exists(), local.output
        yield local, env
        stopped = local.interrupt()
    finally:
        local.stop()
    assert stopped, "ganger local did not stop on Ctrl-C:\n" + local.output[-3000:]
    assert local.process.returncode == 0, local.output[-3000:]
    assert not state.exists()


def test_ctrl_c_stops_ganger_local_even_when_the_tests_run_with_sigint_ignored(env: dict[str, str]) -> None:
    """As a background job of a non-interactive shell runs them: SIGINT ignored, inherited by children."""
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        local = LocalProcess(env, "--speed", "30")
    finally:
        signal.signal(signal.SIGINT, previous)
    try:
        local.wait_ready()
        began = time.monotonic()
        stopped = local.interrupt(timeout=30)
        took = time.monotonic() - began
    finally:
        local.stop()

    assert stopped, "SIGINT was ignored:\n" + local.output[-3000:]
    assert local.process.returncode == 0 and any(line.rstrip().endswith("stopped") for line in local.lines)
    assert took < 30 and not (Path(env["GANGER_HOME"]) / "local.json").exists()


def test_schedule_and_status_against_a_running_local_system(
    running: tuple[LocalProcess, dict[str, str]],
) -> None:
    _, env = running
    scheduled = ganger("schedule", "examples/job.json", env=env)
    assert scheduled.returncode == 0, scheduled.stderr
    created = json.loads(scheduled.stdout)
    assert created["labourer_id"] == "example_worker" and created["tasks_created"] == 3

    status: dict = {}
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        result = ganger("status", "--json", env=env)
        assert result.returncode == 0, result.stderr
        status = json.loads(result.stdout)["labourers"]["example_worker"]
        if status["completed_1h"] == 3 and status["queued"] == status["running"] == 0:
            break
        time.sleep(1)
    assert status["completed_1h"] == 3, status

    state = json.loads((Path(env["GANGER_HOME"]) / "local.json").read_text())
    ddb = boto3.client("dynamodb", endpoint_url=state["endpoint_url"], region_name="us-east-1",
                       aws_access_key_id="x", aws_secret_access_key="x")  # fmt: skip
    closed = ddb.scan(TableName="sosw_closed_tasks")["Items"]
    mine = [i for i in closed if i["job_id"]["S"] == created["job_id"]]
    assert len(mine) == 3 and {i["labourer_id_task_status"]["S"] for i in mine} == {"example_worker_1"}

    again = ganger("schedule", "examples/job.json", env=env)
    assert json.loads(again.stdout)["duplicate"] is True


def test_a_job_completes_within_seconds_at_real_speed(
    real_speed: tuple[LocalProcess, dict[str, str]],
) -> None:
    """At --speed 1 the minute rule fires once a minute: only event-driven dispatch can finish in seconds."""
    _, env = real_speed
    state = json.loads((Path(env["GANGER_HOME"]) / "local.json").read_text())
    ddb = boto3.client("dynamodb", endpoint_url=state["endpoint_url"], region_name="us-east-1",
                       aws_access_key_id="x", aws_secret_access_key="x")  # fmt: skip
    scheduled = ganger("schedule", "examples/job.json", env=env)
    returned = time.monotonic()
    assert scheduled.returncode == 0, scheduled.stderr
    job_id = json.loads(scheduled.stdout)["job_id"]
    done: list[dict] = []
    while time.monotonic() - returned < 5:
        items = ddb.scan(TableName="sosw_closed_tasks")["Items"]
        done = [i for i in items if i["job_id"]["S"] == job_id and i["labourer_id_task_status"]["S"].endswith("_1")]
        if len(done) == 3:
            break
        time.sleep(0.1)
    waited = time.monotonic() - returned
    assert len(done) == 3, f"{len(done)} of 3 tasks completed {waited:.1f} s after `ganger schedule` returned"


def test_dev_boxes_work_in_plain_local_mode_within_seconds(real_speed: tuple[LocalProcess, dict[str, str]]) -> None:
    """Local mode makes the sample user's boxes in the embedded EC2 and says so; /up starts one at once."""
    local, env = real_speed
    assert "devbox_worker_config points at them" in local.output
    assert "in place of i-0123456789abcdef0 of the sample config" in local.output

    began = time.monotonic()
    up = ganger("chat", "/up", "--json", "--replies", "2", "--wait", "10", env=env)
    took = time.monotonic() - began

    assert up.returncode == 0, up.stderr
    starting, running = [json.loads(line) for line in up.stdout.splitlines()]
    assert starting["text"].startswith("Starting your instance...")
    assert running["text"].startswith("Your instance is running.") and running["seconds"] < 10
    assert took < 15, f"ganger chat took {took:.1f} s"
    status = ganger("chat", "/status", "--replies", "1", "--wait", "10", env=env)
    assert "Your instance is running." in status.stdout, status.stdout + status.stderr


def test_bad_job_file_is_a_clear_error(env: dict[str, str], tmp_path: Path) -> None:
    bad = tmp_path / "job.json"
    bad.write_text('{"job": {"lambda_name": ')
    result = ganger("schedule", str(bad), "--endpoint-url", "http://127.0.0.1:9", env=env)
    assert result.returncode == 2
    assert "job.json" in result.stderr and "not valid JSON" in result.stderr


def test_ganger_chat_talks_to_the_local_bot(running: Any, tmp_path: Path) -> None:
    _, env = running
    fed = ganger("chat", "bottle 2 oz at 5pm", "--json", "--replies", "1", "--wait", "20", env=env)
    assert fed.returncode == 0, fed.stderr
    (reply,) = [json.loads(line) for line in fed.stdout.splitlines()]
    assert reply["method"] == "sendMessage" and reply["text"].startswith("Recorded 59 ml (2 oz) bottle at 17:00")
    assert 0 <= reply["seconds"] < 20

    asked = ganger("chat", "/shutdown", "--replies", "1", "--wait", "20", env=env)
    assert "Are you sure?" in asked.stdout and "[Cancel]" in asked.stdout, asked.stdout + asked.stderr
    canceled = ganger("chat", "--press", "Cancel", "--json", "--replies", "1", "--wait", "20", env=env)
    assert [json.loads(line)["text"] for line in canceled.stdout.splitlines()] == ["Canceled"]

    photo = DATA_DIR / "pedestrians.jpg"
    saved = tmp_path / "chat"
    args = ["--photo", str(photo), "--replies", "2", "--wait", "120", "--save-dir", str(saved)]
    detected = ganger("chat", *args, env=env, timeout=180)
    assert detected.returncode == 0, detected.stderr
    lines = detected.stdout.splitlines()
    assert "Photo received. Looking for objects in it..." in lines[0]
    assert "Found: person x" in lines[1] and "car" in lines[1]
    (annotated,) = saved.glob("*.jpg")
    assert annotated.read_bytes()[:2] == b"\xff\xd8" and f"photo saved to {annotated}" in detected.stdout


def test_a_paused_labourer_says_why_and_its_job_completes_soon_after_resume(
    real_speed: tuple[LocalProcess, dict[str, str]],
) -> None:
    """Issue 22 at real speed: pause, schedule, `ganger tasks why` answers "paused", resume, done within 5 s."""
    _, env = real_speed
    paused = ganger("labourers", "pause", "example_worker", "--reason", "e2e maintenance", env=env)
    assert paused.returncode == 0, paused.stdout + paused.stderr
    scheduled = ganger("schedule", "examples/job.json", env=env)
    assert scheduled.returncode == 0, scheduled.stderr
    job_id = json.loads(scheduled.stdout)["job_id"]

    time.sleep(2)  # a paused labourer starts nothing, whatever time passes
    listed = ganger("tasks", "list", "--labourer", "example_worker", "--json", env=env)
    assert listed.returncode == 0, listed.stderr
    queued = json.loads(listed.stdout)["tasks"]  # a fresh system: the job's tasks are the only ones
    assert len(queued) == 3, listed.stdout
    why = ganger("tasks", "why", queued[0]["task_id"], "--json", env=env)
    assert why.returncode == 0, why.stderr
    answer = json.loads(why.stdout)
    assert answer["hold"] == "paused" and answer["details"]["reason"] == "e2e maintenance", answer

    resumed = ganger("labourers", "resume", "example_worker", env=env)
    returned = time.monotonic()
    assert resumed.returncode == 0, resumed.stdout + resumed.stderr
    state = json.loads((Path(env["GANGER_HOME"]) / "local.json").read_text())
    ddb = boto3.client("dynamodb", endpoint_url=state["endpoint_url"], region_name="us-east-1",
                       aws_access_key_id="x", aws_secret_access_key="x")  # fmt: skip
    done: list[dict] = []
    while time.monotonic() - returned < 5:
        items = ddb.scan(TableName="sosw_closed_tasks")["Items"]
        done = [i for i in items if i["job_id"]["S"] == job_id and i["labourer_id_task_status"]["S"].endswith("_1")]
        if len(done) == 3:
            break
        time.sleep(0.1)
    waited = time.monotonic() - returned
    assert len(done) == 3, f"{len(done)} of 3 tasks completed {waited:.1f} s after `ganger labourers resume` returned"
