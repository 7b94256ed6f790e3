"""`ganger console` from the command line: it serves the target's system on 127.0.0.1 and says who acts."""

from __future__ import annotations

import re
import threading
import time
import urllib.request

import pytest

from benchmarks.harness import InProcessSystem
from ganger.cli import console as console_cmd
from ganger.cli.main import build_parser


def test_ganger_console_serves_the_overview_and_names_the_aws_caller(
    system: InProcessSystem, capsys: pytest.CaptureFixture[str]
) -> None:
    args = build_parser().parse_args(["console", "--port", "0", "--aws"])
    stop = threading.Event()
    thread = threading.Thread(target=console_cmd.run, args=(args, stop), daemon=True)
    thread.start()
    try:
        deadline, out = time.monotonic() + 20, ""
        while "press Ctrl-C" not in out and time.monotonic() < deadline:
            time.sleep(0.1)
            out += capsys.readouterr().out
        found = re.search(r"ganger console on (http://127\.0\.0\.1:\d+/) for AWS \(us-east-1\); read-only", out)
        assert found, out
        assert "acting as arn:aws:sts::123456789012:" in out  # STS GetCallerIdentity (moto's caller)
        with urllib.request.urlopen(found.group(1) + "api/overview", timeout=10) as response:  # loopback
            body = response.read().decode()
        assert '"labourer": "example_worker"' in body and '"labourer": "other_worker"' in body
    finally:
        stop.set()
        thread.join(timeout=10)
    assert not thread.is_alive()
