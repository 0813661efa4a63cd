"""``complaint-ledger serve`` as an operator runs it: a process that serves until stopped."""

from __future__ import annotations

import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

from tests.helpers import event_count

SCRIPT = shutil.which("complaint-ledger") or str(Path(sys.executable).parent / "complaint-ledger")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


def test_serve_answers_until_it_is_stopped(ledger_url: str) -> None:
    port = free_port()
    server = subprocess.Popen(
        [SCRIPT, "serve", "--port", str(port), "--db", ledger_url],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        health = None
        deadline = time.monotonic() + 30
        while health is None and time.monotonic() < deadline and server.poll() is None:
            try:
                health = httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).json()
            except httpx.TransportError:
                time.sleep(0.05)
        spec = httpx.get(f"http://127.0.0.1:{port}/openapi.json", timeout=5).json()
    finally:
        server.send_signal(signal.SIGINT)
        _, stderr = server.communicate(timeout=30)

    assert health == {**(health or {}), "status": "ok", "database": "reachable"}
    assert "/v1/commands" in spec["paths"]
    assert server.returncode == 0, stderr
    assert "Traceback" not in stderr
    assert event_count(ledger_url) == 0


def test_serve_refuses_a_ledger_it_cannot_open(tmp_path: Path) -> None:
    (tmp_path / "other.db").write_bytes(b"not a database at all" * 100)

    result = subprocess.run(
        [SCRIPT, "serve", "--db", f"sqlite:///{tmp_path / 'other.db'}"],
        capture_output=True,
        text=True,
        timeout=60,
    )

    assert result.returncode == 1
    assert result.stderr == (
        f"Error: {tmp_path / 'other.db'} is not a ledger: it is not a SQLite database; "
        "nothing was written to it\n"
    )
