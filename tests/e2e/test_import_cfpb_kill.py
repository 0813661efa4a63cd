"""Kill -9 in the middle of an import, then import again: every complaint whole, none twice."""

from __future__ import annotations

import csv
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from commands.importers.cfpb import COLUMNS
from ledger.store.root import Ledger, open_ledger

SCRIPT = str(Path(sys.executable).with_name("complaint-ledger"))
COMPLAINTS = 3000
EVENTS_EACH = (
    8  # a closed complaint: receipt, triage, findings, plan, execution, outcome, closure, note
)
COMPANIES = ["ACME RECOVERY SERVICES LLC", "NORTHWIND COLLECTIONS INC", "FABRIKAM LEGAL GROUP"]
ISSUES = [
    ("Communication tactics", "Frequent or repeated calls"),
    ("Attempts to collect debt not owed", "Debt is not yours"),
    ("Written notification about debt", "Didn't receive enough information to verify debt"),
]


def write_export(path: Path, complaints: int) -> None:
    """A CFPB-format export of closed Debt collection complaints, written for this test."""
    with path.open("w", encoding="utf-8", newline="") as f:
        writer = csv.writer(f, lineterminator="\n")
        writer.writerow(COLUMNS)
        for i in range(complaints):
            issue, sub_issue = ISSUES[i % len(ISSUES)]
            day = f"2022-{1 + i % 12:02d}-{1 + i % 28:02d}"
            narrative = f"Complaint {i}: the collector called XXXX times about an account.\nAgain."
            writer.writerow(
                [day, "Debt collection", "I do not know", issue, sub_issue, narrative, "",
                 COMPANIES[i % 3], "OH", "432XX", "", "Consent provided", "Web", day,
                 "Closed with explanation", "Yes", "N/A", str(8_000_000 + i)]
            )  # fmt: skip


def events_per_complaint(ledger: Ledger) -> dict[str, int]:
    return {ref: len(ledger.complaint_events(ref)) for ref in ledger.iter_refs()}


def import_cfpb(url: str, export: Path, *args: str) -> list[str]:
    return [SCRIPT, "import", "cfpb", str(export), "--db", url, *args]


def test_kill_9_midway_then_rerun_leaves_every_complaint_whole_and_imported_once(
    ledger_url: str, tmp_path: Path
) -> None:
    export = tmp_path / "export.csv"
    write_export(export, COMPLAINTS)
    env = {**os.environ, "LEDGER_DB": ""}
    with open_ledger(ledger_url) as ledger:
        process = subprocess.Popen(
            import_cfpb(ledger_url, export, "--batch-size", "45"),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            env=env,
        )
        deadline = time.monotonic() + 120
        while ledger.count_events() < 50 * EVENTS_EACH and time.monotonic() < deadline:
            time.sleep(0.005)
        process.send_signal(signal.SIGKILL)
        process.wait()
        after_kill = events_per_complaint(ledger)

    assert process.returncode == -signal.SIGKILL
    assert 0 < len(after_kill) < COMPLAINTS
    assert set(after_kill.values()) == {EVENTS_EACH}

    rerun = subprocess.run(
        import_cfpb(ledger_url, export, "--format", "json"),
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
        check=False,
    )

    assert rerun.returncode == 0, rerun.stderr
    summary = json.loads(rerun.stdout)
    assert (summary["imported"], summary["skipped"]) == (
        COMPLAINTS - len(after_kill),
        len(after_kill),
    )
    assert summary["events"] == (COMPLAINTS - len(after_kill)) * EVENTS_EACH
    with open_ledger(ledger_url) as ledger:
        final = events_per_complaint(ledger)
    assert len(final) == COMPLAINTS
    assert set(final.values()) == {EVENTS_EACH}
