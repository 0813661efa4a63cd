"""``alerts follow`` killed with SIGKILL in the middle of a pass, then run again: every due
alert is delivered once and recorded once, none lost and none repeated (docs/alerts.md,
"Exactly once"); and SIGTERM stops it cleanly."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

from ledger.store.root import open_ledger
from tests.alert_receivers import (
    SmtpSink,
    apply,
    complaint_cmds,
    hours_ago,
    smtp_server,
    staff_with_addresses,
)
from tests.helpers import run

SCRIPT = str(Path(sys.executable).with_name("complaint-ledger"))
COMPLAINTS = 12
TOLD = ("chen@example.com", "wang@example.com", "zhou@example.com")  # leadership, handler, unit


def start_follow(url: str, smtp: SmtpSink) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [SCRIPT, "alerts", "follow", "--db", url, "--smtp", f"127.0.0.1:{smtp.port}",
         "--mail-from", "ledger@example.com", "--interval", "0.3", "--backoff", "0"],
        env={**os.environ, "LEDGER_DB": ""},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )  # fmt: skip


def recorded(url: str) -> Counter[tuple[str, str]]:
    """(command id, event) of every alert recorded, counted."""
    found: Counter[tuple[str, str]] = Counter()
    with open_ledger(url) as ledger:
        for n in range(1, COMPLAINTS + 1):
            for event in ledger.complaint_events(f"TS-K{n}"):
                if type(event).__name__ in ("AlertSent", "AlertFailed"):
                    found[(event.command_id, type(event).__name__)] += 1  # type: ignore[attr-defined]
    return found


def wait_for(condition: object, timeout: float = 120.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():  # type: ignore[operator]
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)


def test_kill_9_midway_then_a_rerun_neither_loses_nor_repeats_an_alert(ledger_url: str) -> None:
    staff_with_addresses(ledger_url)
    received = hours_ago(2)  # the one-hour intake clocks are overdue
    apply(ledger_url, [c for n in range(1, COMPLAINTS + 1)
                       for c in complaint_cmds(f"TS-K{n}", received)])  # fmt: skip
    expected = COMPLAINTS * len(TOLD)

    with smtp_server(delay=0.05) as smtp:
        process = start_follow(ledger_url, smtp)
        try:
            wait_for(lambda: len(smtp.mails) >= expected // 3)
        finally:
            process.send_signal(signal.SIGKILL)
            process.communicate(timeout=30)
        after_kill = len(smtp.mails)
        rerun = run(ledger_url, "alerts", "run", "--smtp", f"127.0.0.1:{smtp.port}",
                    "--mail-from", "ledger@example.com", "--format", "json")  # fmt: skip
        mails = list(smtp.mails)

    assert rerun.exit_code == 0, rerun.output
    assert after_kill < expected  # the kill came midway
    delivered = Counter((m.alert_id, m.to[0]) for m in mails)
    assert len(delivered) == expected
    assert set(delivered.values()) == {1}
    assert Counter(to for _, to in delivered) == dict.fromkeys(TOLD, COMPLAINTS)
    records = recorded(ledger_url)
    assert set(records.values()) == {1}
    assert {event for _, event in records} == {"AlertSent"}
    assert {alert for alert, _ in records} == {alert for alert, _ in delivered}


def test_sigterm_stops_follow_cleanly_and_a_restart_sends_only_what_is_new(
    ledger_url: str,
) -> None:
    staff_with_addresses(ledger_url)
    apply(ledger_url, complaint_cmds("TS-K1", hours_ago(2)))

    with smtp_server() as smtp:
        first = start_follow(ledger_url, smtp)
        wait_for(lambda: len(smtp.mails) == len(TOLD))
        first.send_signal(signal.SIGTERM)
        _, stderr = first.communicate(timeout=30)
        apply(ledger_url, complaint_cmds("TS-K2", hours_ago(2)))
        second = start_follow(ledger_url, smtp)
        wait_for(lambda: len(smtp.mails) == 2 * len(TOLD))
        time.sleep(1.0)  # a few more passes: nothing more is sent
        second.send_signal(signal.SIGTERM)
        second.communicate(timeout=30)
        mails = list(smtp.mails)

    assert first.returncode == 0
    assert b"stopped" in stderr
    assert b"Traceback" not in stderr
    assert len(mails) == 2 * len(TOLD)
    assert sorted(m.message["X-Complaint-Ref"] for m in mails) == ["TS-K1"] * 3 + ["TS-K2"] * 3
