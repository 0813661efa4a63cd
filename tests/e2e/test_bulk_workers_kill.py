"""The worker processes of a bulk write end with the command, however it ends."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from bench.common import synthetic_lines


def descendants(pid: int) -> set[int]:
    """The processes started by ``pid`` and by them, from /proc."""
    found: set[int] = set()
    todo = [pid]
    while todo:
        parent = todo.pop()
        try:
            children = Path(f"/proc/{parent}/task/{parent}/children").read_text().split()
        except OSError:
            continue
        for child in map(int, children):
            found.add(child)
            todo.append(child)
    return found


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"  # a zombie has ended; only its exit status is left


def start_bulk_apply(tmp_path: Path) -> tuple[subprocess.Popen[bytes], set[int]]:
    """``apply --bulk --workers 2`` of a long file, once its two workers are deciding."""
    path = tmp_path / "commands.jsonl"
    path.write_bytes(b"".join(synthetic_lines(3000, 1)))
    program = str(Path(sys.executable).parent / "complaint-ledger")
    command = [program, "apply", str(path), "--bulk", "--workers", "2",
               "--db", f"sqlite:///{tmp_path / 'ledger.db'}"]  # fmt: skip
    main = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            start_new_session=True)  # fmt: skip
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if len(descendants(main.pid)) >= 2 and (tmp_path / "ledger.db").exists():
            time.sleep(3)  # into the import: batches are being decided
            return main, descendants(main.pid)
        time.sleep(0.2)
    main.kill()
    pytest.fail("the workers did not start")


def ended(pids: set[int], seconds: float = 20) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if not any(alive(p) for p in pids):
            return True
        time.sleep(0.1)
    return False


@pytest.mark.parametrize("sent", [signal.SIGKILL, signal.SIGINT, signal.SIGTERM])
def test_the_workers_end_when_the_bulk_apply_is_killed_or_interrupted(
    tmp_path: Path, sent: signal.Signals
) -> None:
    main, workers = start_bulk_apply(tmp_path)
    assert main.poll() is None
    assert len(workers) >= 2

    # As a terminal sends Ctrl-C: to the whole group; a kill goes to the main process alone.
    if sent == signal.SIGINT:
        os.killpg(main.pid, sent)
    else:
        main.send_signal(sent)
    _, stderr = main.communicate(timeout=60)

    assert ended(workers), [p for p in workers if alive(p)]
    assert b"Traceback" not in stderr, stderr.decode()


def test_a_worker_killed_midway_ends_the_bulk_apply_with_one_error_line(tmp_path: Path) -> None:
    """A worker that dies (kill -9, out of memory) is one ``Error:`` line and exit 1; the
    batches written before stay written whole, and the ledger's chain still verifies."""
    main, workers = start_bulk_apply(tmp_path)
    deciders = [p for p in workers if b"spawn_main" in Path(f"/proc/{p}/cmdline").read_bytes()]
    assert len(deciders) == 2

    os.kill(deciders[0], signal.SIGKILL)
    _, stderr = main.communicate(timeout=60)

    lines = stderr.decode().splitlines()
    assert main.returncode == 1, lines
    assert b"Traceback" not in stderr, stderr.decode()
    assert lines[-1].startswith("Error: a worker process deciding the bulk write ended"), lines
    assert [line for line in lines if line.startswith("Error:")] == [lines[-1]]
    assert ended(workers), [p for p in workers if alive(p)]
    verified = subprocess.run(
        [str(Path(sys.executable).parent / "complaint-ledger"), "verify", "--no-anchor",
         "--db", f"sqlite:///{tmp_path / 'ledger.db'}"],
        capture_output=True, timeout=120,
    )  # fmt: skip
    assert verified.returncode == 0, verified.stderr.decode()
