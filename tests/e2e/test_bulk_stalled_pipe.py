"""A bulk write from a pipe whose writer stalls: what arrived is written before more comes."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest

from bench.common import synthetic_lines
from ledger.store.root import open_ledger


def logged(url: str, command_ids: list[str]) -> int:
    """How many of ``command_ids`` the command log holds (read by another connection)."""
    with open_ledger(url) as ledger:
        return len(ledger.ledger_recorder.select_commands(command_ids))


@pytest.mark.parametrize("workers", [1, 2])
def test_lines_received_before_the_writer_stalls_are_written_while_it_stalls(
    ledger_url: str, workers: int
) -> None:
    lines = synthetic_lines(8, 9)
    first, rest = lines[:40], lines[40:]  # far fewer than a batch (500 commands)
    ids = [json.loads(line)["command_id"] for line in first]
    program = str(Path(sys.executable).parent / "complaint-ledger")
    command = [program, "apply", "-", "--bulk", "--workers", str(workers), "--db", ledger_url]
    main = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE)  # fmt: skip
    assert main.stdin is not None
    try:
        main.stdin.write(b"".join(first))
        main.stdin.flush()
        deadline = time.monotonic() + 60  # the workers start first (imports, connections)
        while logged(ledger_url, ids) < len(ids) and time.monotonic() < deadline:
            time.sleep(0.2)
        written_while_stalled = logged(ledger_url, ids)

        main.stdin.write(b"".join(rest))
        main.stdin.close()
        assert main.stdout is not None
        assert main.stderr is not None
        out, err = main.stdout.read(), main.stderr.read()
        main.wait(timeout=120)
    finally:
        if main.poll() is None:
            main.kill()
            main.wait()
        for pipe in (main.stdout, main.stderr):
            if pipe is not None:
                pipe.close()

    assert written_while_stalled == len(ids)
    assert (main.returncode, err) == (0, b"")
    assert out == f"applied {len(lines)}, already applied 0, failed 0\n".encode()
