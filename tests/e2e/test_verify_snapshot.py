"""``verify`` while the ledger is being written: it checks the ledger as it was at one
moment, every table read in one snapshot, so commands applied while it runs are neither
half seen nor reported as tampering (on SQLite and PostgreSQL)."""

from __future__ import annotations

import os
import subprocess
import time
from pathlib import Path

from tests.e2e.test_http_serve import SCRIPT
from tests.helpers import event_count, jsonl, life_cmds, run
from tests.holds.sitecustomize import HOLD_VERIFY, held_env


def test_commands_applied_while_verify_runs_are_not_reported_as_tampering(
    ledger_url: str, tmp_path: Path
) -> None:
    """Verify is held after it has read and checked every event, before it checks the
    command log against them (``HOLD_VERIFY``); a batch of commands is applied meanwhile.
    Verify then checks the command log as it was when it read the events, and passes."""
    url = ledger_url
    assert run(url, "apply", "-", input=jsonl(life_cmds("TS-SA"))).exit_code == 0
    before = event_count(url)
    hold = tmp_path / "hold"
    hold.mkdir()
    env = {**os.environ, "LEDGER_DB": url, **held_env(HOLD_VERIFY, hold)}
    verify = subprocess.Popen(
        [SCRIPT, "verify", "--no-anchor"],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    deadline = time.monotonic() + 60
    while not (hold / "verifying").exists():
        assert verify.poll() is None, verify.communicate()
        assert time.monotonic() < deadline, "verify never reached the command log"
        time.sleep(0.02)
    applied = run(url, "apply", "-", input=jsonl(life_cmds("TS-SB") + life_cmds("TS-SC")))
    assert applied.exit_code == 0, applied.output
    assert event_count(url) > before
    (hold / "go").touch()
    out, err = verify.communicate(timeout=60)

    assert verify.returncode == 0, err
    assert out.startswith(f"verified {before} events (to position {before}) and 0 seals: ")
