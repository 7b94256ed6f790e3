"""The demo's clip server: a client that hangs up mid-file prints nothing (yt-dlp does that to every clip)."""

from __future__ import annotations

import socket
import struct
import time
import urllib.parse
from pathlib import Path

import pytest

from processors.demo.scenarios import serve_directory


def test_a_client_hanging_up_mid_file_prints_no_traceback(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "clip.mp4").write_bytes(b"\0" * 16_000_000)  # far more than the socket buffers hold
    with serve_directory(tmp_path) as site:
        address = urllib.parse.urlsplit(site)
        client = socket.create_connection((address.hostname, address.port))
        client.sendall(b"GET /clip.mp4 HTTP/1.1\r\nHost: x\r\n\r\n")
        assert client.recv(1024).startswith(b"HTTP/1.0 200")
        client.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))  # close with a reset
        client.close()
        time.sleep(0.5)  # the server's write meets the reset
    err = capsys.readouterr().err
    assert "Traceback" not in err and "Exception occurred" not in err, err
