"""Business-hours clocks through the command line (issue 18): the worked examples of
docs/sla.md, pauses outside opening hours, and lateness in wall-clock and business seconds,
from ``sla`` and ``report sla`` alike.

The policy is docs/policy-business-hours.toml (intake, investigation and plan follow the
office's hours, 09:00-12:00 and 13:30-18:00 on working days), in force from 1 January 2026,
with the 2026 calendar published.
"""

from __future__ import annotations

import csv
import io
import json
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from tests.helpers import actor, jsonl, receive_cmd, run

LEAD = ["--actor", "chen", "--role", "leadership", "--occurred-at", "2025-12-01T00:00:00+08:00"]
POLICY = Path(__file__).parents[2] / "docs" / "policy-business-hours.toml"
TEAM = actor("handling_team", "wang")


def publish(url: str, tmp_path: Path, pausable_investigation: bool = False) -> None:
    text = POLICY.read_text(encoding="utf-8")
    if pausable_investigation:
        head, _, tail = text.partition("[clocks.investigation]")
        text = (
            head + "[clocks.investigation]" + tail.replace("pausable = false", "pausable = true", 1)
        )
    document = tmp_path / "business.toml"
    document.write_text(text, encoding="utf-8")
    published = run(url, "policy", "publish", str(document), "--effective-from",
                    "2026-01-01T00:00:00+08:00", *LEAD)  # fmt: skip
    assert published.exit_code == 0, published.stderr
    assert run(url, "calendar", "publish", "2026", *LEAD).exit_code == 0


def receive(url: str, ref: str, received_at: str, *later: dict[str, Any]) -> None:
    commands = [receive_cmd(ref, received_at=received_at, occurred_at=received_at)]
    commands += [{"ref": ref, "actor": TEAM, "command_id": f"{ref}-{n}", **c}
                 for n, c in enumerate(later)]  # fmt: skip
    applied = run(url, "apply", "-", input=jsonl(commands))
    assert applied.exit_code == 0, applied.stdout + applied.stderr


def clocks(url: str, ref: str, as_of: str) -> dict[str, dict[str, Any]]:
    shown = run(url, "sla", ref, "--as-of", as_of, "--format", "json")
    assert shown.exit_code == 0, shown.stderr
    return {v["clock"]: v for v in json.loads(shown.stdout)}


def reported(url: str, as_of: str) -> dict[tuple[str, str], dict[str, Any]]:
    shown = run(url, "report", "sla", "--as-of", as_of, "--format", "json")
    assert shown.exit_code == 0, shown.stderr
    return {(i["ref"], i["clock"]): i for i in json.loads(shown.stdout)["items"]}


def judged(verdict: dict[str, Any]) -> tuple[Any, ...]:
    """What ``sla`` and ``report sla`` must agree on (the report writes fixed-width UTC)."""
    due = datetime.fromisoformat(verdict["due_at"])
    return verdict["status"], due, verdict["late_by_seconds"], verdict["late_by_business_seconds"]


@pytest.fixture
def friday_night(ledger_url: str, tmp_path: Path) -> str:
    """BH-1: received Friday 20 November 2026 at 22:00 (+08:00), not yet triaged."""
    publish(ledger_url, tmp_path)
    receive(ledger_url, "BH-1", "2026-11-20T22:00:00+08:00")
    return ledger_url


def test_a_friday_22_00_receipt_is_due_monday_10_00(friday_night: str) -> None:
    shown = run(friday_night, "sla", "BH-1", "--as-of", "2026-11-21T12:00:00+08:00")
    verdicts = clocks(friday_night, "BH-1", "2026-11-21T12:00:00+08:00")

    assert shown.exit_code == 0, shown.stderr
    intake = next(line for line in shown.stdout.splitlines() if line.startswith("intake "))
    assert "2026-11-23 10:00:00 +08:00" in intake
    assert "pending" in intake
    assert verdicts["intake"]["due_at"] == "2026-11-23T02:00:00+00:00"
    assert verdicts["intake_record"]["due_at"] == "2026-11-23T02:00:00+00:00"
    assert verdicts["investigation"]["due_at"] == "2026-11-26T02:30:00+00:00"  # Thu 10:30
    assert verdicts["plan"]["due_at"] == "2026-12-01T04:00:00+00:00"  # Tue 12:00


@pytest.mark.parametrize(
    ("as_of", "status", "late", "business"),
    [
        # By the wall clock 11 of the 12 hours to Monday 10:00 have gone by 09:00; by business
        # time none has: at risk only from 09:45.
        ("2026-11-23T09:00:00+08:00", "pending", 0, 0),
        ("2026-11-23T09:45:00+08:00", "at_risk", 0, 0),
        ("2026-11-23T11:00:00+08:00", "overdue", 3600, 3600),
        # 10:00 to 14:00: 4 h, of which 10-12 and 13:30-14 open.
        ("2026-11-23T14:00:00+08:00", "overdue", 14400, 9000),
        # To Tuesday 09:30: 23.5 h, of which 2 + 4.5 + 0.5 h open.
        ("2026-11-24T09:30:00+08:00", "overdue", 84600, 25200),
    ],
)
def test_sla_and_report_sla_give_the_same_business_hours_verdict_and_lateness(
    friday_night: str, as_of: str, status: str, late: int, business: int
) -> None:
    by_sla = clocks(friday_night, "BH-1", as_of)["intake"]
    by_report = reported(friday_night, as_of).get(("BH-1", "intake"))

    assert (by_sla["status"], by_sla["late_by_seconds"], by_sla["late_by_business_seconds"]) == (
        status, late, business,
    )  # fmt: skip
    if status == "pending":
        assert by_report is None
    else:
        assert by_report is not None
        assert judged(by_report) == judged(by_sla)


def test_a_late_triage_is_breached_in_wall_and_business_seconds(friday_night: str) -> None:
    receive(friday_night, "BH-2", "2026-11-20T22:00:00+08:00",
            {"command": "triage", "severity": "normal", "category": "fees", "assessment": "一般",
             "occurred_at": "2026-11-24T09:30:00+08:00"})  # fmt: skip

    by_sla = clocks(friday_night, "BH-2", "2026-11-25T00:00:00+08:00")["intake"]
    item = reported(friday_night, "2026-11-25T00:00:00+08:00")[("BH-2", "intake")]
    shown = run(friday_night, "report", "sla", "--as-of", "2026-11-25T00:00:00+08:00",
                "--format", "csv")  # fmt: skip

    assert (by_sla["status"], by_sla["late_by_seconds"], by_sla["late_by_business_seconds"]) == (
        "breached", 84600, 25200,
    )  # fmt: skip
    assert (item["late_by_seconds"], item["late_by_business_seconds"]) == (84600, 25200)
    rows = {(r["ref"], r["clock"]): r for r in csv.DictReader(io.StringIO(shown.stdout))}
    assert rows[("BH-2", "intake")]["late_by_business_seconds"] == "25200"


def test_the_eve_of_national_day_skips_the_holiday_and_counts_the_make_up_saturday(
    ledger_url: str, tmp_path: Path
) -> None:
    publish(ledger_url, tmp_path)
    receive(ledger_url, "BH-3", "2026-09-30T17:00:00+08:00")

    verdicts = clocks(ledger_url, "BH-3", "2026-09-30T17:30:00+08:00")

    assert verdicts["intake"]["due_at"] == "2026-09-30T10:00:00+00:00"  # Wed 18:00, closing
    assert verdicts["investigation"]["due_at"] == "2026-10-12T01:30:00+00:00"  # Mon 09:30
    assert verdicts["plan"]["due_at"] == "2026-10-15T03:00:00+00:00"  # Thu 11:00
    assert not any(v["estimated"] for v in verdicts.values())


@pytest.mark.parametrize(
    ("pause", "resume", "due"),
    [
        # Monday 19:00 to Tuesday 08:00: the office was closed throughout, nothing moves.
        ("2026-11-23T19:00:00+08:00", "2026-11-24T08:00:00+08:00", "2026-11-26T02:30:00+00:00"),
        # Monday 17:00 to Tuesday 10:00: 1 h + 1 h open, Thursday 10:30 becomes 14:00.
        ("2026-11-23T17:00:00+08:00", "2026-11-24T10:00:00+08:00", "2026-11-26T06:00:00+00:00"),
    ],
)
def test_a_pause_and_resume_outside_opening_hours_moves_only_the_open_time(
    ledger_url: str, tmp_path: Path, pause: str, resume: str, due: str
) -> None:
    publish(ledger_url, tmp_path, pausable_investigation=True)
    receive(ledger_url, "BH-4", "2026-11-23T09:00:00+08:00",
            {"command": "triage", "severity": "normal", "category": "fees", "assessment": "一般",
             "occurred_at": "2026-11-23T09:30:00+08:00"},
            {"command": "pause", "reason": "等待客户材料", "occurred_at": pause},
            {"command": "resume", "reason": "材料已收到", "occurred_at": resume})  # fmt: skip

    by_sla = clocks(ledger_url, "BH-4", "2026-11-27T00:00:00+08:00")["investigation"]
    item = reported(ledger_url, "2026-11-27T00:00:00+08:00")[("BH-4", "investigation")]

    assert (by_sla["due_at"], by_sla["status"]) == (due, "overdue")
    assert judged(item) == judged(by_sla)


def test_the_tables_show_business_lateness_beside_the_wall_clocks(friday_night: str) -> None:
    as_of = "2026-11-23T14:00:00+08:00"

    shown = run(friday_night, "sla", "BH-1", "--as-of", as_of)
    report = run(friday_night, "report", "sla", "--as-of", as_of)

    assert shown.exit_code == 0, shown.stderr
    header, _, *lines = shown.stdout.splitlines()[1:]
    assert header.split() == ["clock", "status", "due", "met", "late", "by", "business", "late",
                              "estimated", "marks"]  # fmt: skip
    intake = next(line.split() for line in lines if line.startswith("intake "))
    assert intake[:9] == ["intake", "overdue", "2026-11-23", "10:00:00", "+08:00", "-", "4h",
                          "00m", "2h"]  # fmt: skip
    assert intake[9] == "30m"
    assert report.exit_code == 0, report.stderr
    items = [line.split() for line in report.stdout.splitlines() if line.startswith("BH-1 ")]
    assert ["BH-1", "intake", "overdue", "2026-11-23", "10:00:00", "+08:00", "4h", "00m", "2h",
            "30m"] in [line[:10] for line in items]  # fmt: skip
