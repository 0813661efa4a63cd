"""Readers never fail because others are at work: eight report processes at a time on a ledger
that ``apply`` is writing and ``projections follow`` is keeping up, as separate processes."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

from tests.helpers import run

SCRIPT = str(Path(sys.executable).with_name("complaint-ledger"))
READERS = [
    ["report", "sla", "--format", "json"],
    ["list", "--format", "json"],
    ["audit", "CRM-2026-0000001", "--format", "json"],
    ["report", "sla"],
    ["list", "--open"],
    ["audit", "CRM-2026-0000002"],
    ["report", "stats", "--format", "json"],
    ["list", "--breached", "--format", "csv"],
]


def start(url: str, *args: str, stdin: int | None = None) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [SCRIPT, *args],
        stdin=stdin if stdin is not None else subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "LEDGER_DB": url},
    )


def test_eight_readers_at_once_all_succeed_while_apply_writes_and_follow_projects(
    ledger_url: str, tmp_path: Path
) -> None:
    lines = run(ledger_url, "generate", "--complaints", "80", "--prefix", "CRM").stdout
    commands = lines.splitlines(keepends=True)
    seed, rest = commands[:60], commands[60:]
    assert run(ledger_url, "apply", "-", input="".join(seed)).exit_code == 0
    (tmp_path / "rest.jsonl").write_text("".join(rest), encoding="utf-8")
    follow = start(ledger_url, "projections", "follow", "--interval", "0.2")
    apply = start(ledger_url, "apply", str(tmp_path / "rest.jsonl"))
    results: list[tuple[list[str], int, str, str]] = []
    rounds_during_apply = 0

    try:
        while apply.poll() is None or rounds_during_apply == 0:
            rounds_during_apply += apply.poll() is None
            readers = [(args, start(ledger_url, *args)) for args in READERS]
            for args, reader in readers:
                out, err = reader.communicate(timeout=300)
                results.append((args, reader.returncode, out, err))
            if len(results) >= 5 * len(READERS):
                break
        _, apply_err = apply.communicate(timeout=600)
    finally:
        follow.send_signal(signal.SIGINT)
        _, follow_err = follow.communicate(timeout=120)

    failed = [(args, code, err) for args, code, _, err in results if code != 0]
    assert failed == []
    assert rounds_during_apply >= 1
    assert apply.returncode == 0, apply_err
    assert "Error" not in follow_err, follow_err
    for args, _, out, _ in results:
        if "json" in args:
            json.loads(out)  # every JSON answer is whole
