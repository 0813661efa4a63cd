"""``alerts`` on the command line: bad options and an alerter the directory does not know get
one ``Error: …`` line and change nothing; ``policy show`` prints the rules; ``serve --alerts``
sends alerts beside the API."""

from __future__ import annotations

import json
import os
import signal
import subprocess

import pytest

from tests.alert_receivers import apply, complaint_cmds, hours_ago, smtp_server
from tests.e2e.test_alerts_kill import SCRIPT, TOLD, wait_for
from tests.helpers import event_count, run

LEAD = ["--actor", "chen", "--role", "leadership"]
SMTP = ["--smtp", "127.0.0.1:2525", "--mail-from", "ledger@example.com"]
USAGE = {
    "no channel": (["alerts", "run"],
                   "Error: give a channel: --smtp HOST:PORT and/or --webhook URL"),
    "no port": (["alerts", "run", "--smtp", "mail.example.com", "--mail-from", "a@b.c"],
                "Error: --smtp must be HOST:PORT, e.g. smtp.example.com:587, "
                "not 'mail.example.com'"),
    "no sender": (["alerts", "follow", "--smtp", "mail.example.com:25"],
                  "Error: --smtp needs --mail-from ADDR"),
    "not a web address": (["alerts", "run", "--webhook", "ftp://robot"],
                          "Error: --webhook must be an http:// or https:// URL, not 'ftp://robot'"),
    "unknown format": (["alerts", "run", "--webhook", "http://x", "--webhook-format", "slack"],
                       "Error: Invalid value for '--webhook-format': 'slack' is not one of "
                       "'wecom', 'dingtalk', 'plain'."),
    "channel without --alerts": (["serve", *SMTP],
                                 "Error: the channel options take effect with --alerts"),
}  # fmt: skip


@pytest.mark.parametrize(("args", "first"), USAGE.values(), ids=USAGE.keys())
def test_a_bad_option_exits_2_with_one_error_line_and_changes_nothing(
    ledger_url: str, args: list[str], first: str
) -> None:
    apply(ledger_url, complaint_cmds("TS-U", hours_ago(2), handler=None))
    before = event_count(ledger_url)

    result = run(ledger_url, *args)

    assert result.exit_code == 2
    assert result.stderr.splitlines()[0] == first
    assert "Traceback" not in result.output
    assert event_count(ledger_url) == before


def test_a_bad_as_of_is_one_error_line(ledger_url: str) -> None:
    result = run(ledger_url, "alerts", "run", *SMTP, "--as-of", "yesterday")

    assert result.exit_code == 1
    assert result.stderr == (
        "Error: --as-of: 'yesterday' is not an ISO 8601 time, e.g. 2026-09-24T16:00:00+08:00\n"
    )


def test_an_alerter_the_directory_does_not_know_delivers_and_records_nothing(
    ledger_url: str,
) -> None:
    apply(ledger_url, complaint_cmds("TS-N", hours_ago(2), handler=None))
    if ledger_url.startswith("postgresql"):
        from tests.e2e.http_server import TEST_LOGIN

        assert run(ledger_url, "staff", "allow-login", TEST_LOGIN, *LEAD).exit_code == 0
    added = run(ledger_url, "staff", "add", "chen", "--name", "chen", "--unit",
                "leadership_group", "--grant", "leadership", "--email", "chen@example.com",
                "--from", "2026-01-01T00:00:00+08:00", *LEAD)  # fmt: skip
    assert added.exit_code == 0, added.output
    before = event_count(ledger_url)

    with smtp_server() as smtp:
        result = run(ledger_url, "alerts", "run", "--smtp", f"127.0.0.1:{smtp.port}",
                     "--mail-from", "ledger@example.com")  # fmt: skip

    assert result.exit_code == 1
    assert result.stderr == "Error: alerts is not in the staff directory\n"
    assert smtp.mails == []  # the mail was never finished
    assert smtp.rcpt_attempts == 1
    assert event_count(ledger_url) == before


def test_policy_show_prints_the_alert_rules(ledger_url: str) -> None:
    apply(ledger_url, complaint_cmds("TS-P", hours_ago(2)))  # a ledger to read: reads create none
    result = run(ledger_url, "policy", "show", "default-2026.1")

    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["alerts"] == {
        "clock-at-risk": {"when": "at_risk", "notify": ["handler", "unit"]},
        "clock-overdue": {"when": "overdue", "notify": ["handler", "unit", "leadership"]},
        "escalated": {"when": "escalated", "notify": ["leadership"]},
        "regulator-referral": {"when": "regulator_referral", "notify": ["leadership"]},
    }


def test_serve_with_alerts_sends_the_due_alerts_and_stops_with_the_server(
    ledger_url: str,
) -> None:
    from tests.alert_receivers import free_port, staff_with_addresses

    staff_with_addresses(ledger_url)
    apply(ledger_url, complaint_cmds("TS-V", hours_ago(2)))

    with smtp_server() as smtp:
        server = subprocess.Popen(
            [SCRIPT, "serve", "--db", ledger_url, "--port", str(free_port()), "--no-follow",
             "--alerts", "--smtp", f"127.0.0.1:{smtp.port}", "--mail-from", "ledger@example.com"],
            env={**os.environ, "LEDGER_DB": ""},
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )  # fmt: skip
        try:
            wait_for(lambda: len(smtp.mails) == len(TOLD), timeout=60)
        finally:
            server.send_signal(signal.SIGTERM)
            _, stderr = server.communicate(timeout=30)
        mails = list(smtp.mails)

    assert sorted(m.to[0] for m in mails) == sorted(TOLD)
    assert b"Traceback" not in stderr
