"""Issue 12, "deadlines no one can rewrite": each defect found through the command line, on
both backends. Every test here failed on the code before the fix (see each docstring).

TS-1 is received on Thursday 24 September 2026 at 10:00 (+08:00) and triaged at 10:30:
its investigation clock is due on Friday the 25th at 10:00, its plan clock on Saturday
the 26th at 10:00. The 2026 calendar is published; policy ``pausing-1`` (the default with
a pausable investigation clock) is in force from 1 January 2026 for the tests that pause.
"""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.test_cli_sla import LEAD, policy_file
from tests.helpers import event_count, jsonl, receive_cmd, run

TEAM = ["--actor", "wang", "--role", "handling_team"]
CS = ["--actor", "li", "--role", "customer_service"]
REPORTED = ("breached", "overdue", "at_risk")


def day(text: str) -> str:
    return f"2026-09-{text}+08:00"


def ok(url: str, *args: str) -> str:
    result = run(url, *args)
    assert result.exit_code == 0, result.stderr
    return result.stdout


def refused(url: str, *args: str) -> str:
    before = event_count(url)
    result = run(url, *args)
    assert result.exit_code == 1, result.stdout
    assert event_count(url) == before
    assert result.stderr.count("\n") == 1
    return result.stderr


def receive(url: str, ref: str = "TS-1", at: str = day("24T10:00:00")) -> None:
    command = receive_cmd(ref, received_at=at, occurred_at=at)
    assert run(url, "apply", "-", input=jsonl([command])).exit_code == 0


def triage(url: str, ref: str = "TS-1", at: str = day("24T10:30:00")) -> None:
    ok(url, "triage", ref, "--severity", "normal", "--category", "harassment",
       "--assessment", "一般", "--occurred-at", at, *TEAM)  # fmt: skip


def findings(url: str, at: str, ref: str = "TS-1") -> str:
    return ok(url, "record-findings", ref, "--substantiated", "no", "--findings", "不属实",
              "--occurred-at", at, *TEAM)  # fmt: skip


def clocks(url: str, ref: str = "TS-1", *args: str) -> dict[str, dict[str, Any]]:
    result = run(url, "sla", ref, "--format", "json", *args)
    assert result.exit_code == 0, result.stderr
    return {v["clock"]: v for v in json.loads(result.stdout)}


def report(url: str, *args: str) -> dict[str, Any]:
    result = run(url, "report", "sla", "--format", "json", *args)
    assert result.exit_code == 0, result.stderr
    data: dict[str, Any] = json.loads(result.stdout)
    return data


def extend(url: str, clock: str, at: str | None, approved_by: str = "chen") -> Any:
    when = [] if at is None else ["--occurred-at", at]
    return ["extend", "TS-1", "--clock", clock, "--days", "1", "--reason", "案情复杂",
            "--approved-by", approved_by, *when, *LEAD]  # fmt: skip


@pytest.fixture
def url(ledger_url: str) -> str:
    ok(ledger_url, "calendar", "publish", "2026", *LEAD)
    receive(ledger_url)
    triage(ledger_url)
    return ledger_url


@pytest.fixture
def pausing(ledger_url: str, tmp_path: Path) -> str:
    """TS-1 as above, under ``pausing-1``, published before it was received."""
    ok(ledger_url, "calendar", "publish", "2026", *LEAD)
    document = policy_file(tmp_path, "pausing-1", investigation="pausable = false=>pausable = true")
    ok(ledger_url, "policy", "publish", str(document), "--effective-from",
       "2026-01-01T00:00:00+08:00", *LEAD)  # fmt: skip
    receive(ledger_url)
    triage(ledger_url)
    return ledger_url


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text)


# 1 ------------------------------------------------------------------ overlapping pauses


def test_a_pause_inside_a_recorded_pause_is_refused_and_48_hours_paused_move_48_hours(
    pausing: str,
) -> None:
    """Before: the second pause was accepted and the deadline moved by 72 hours."""
    ok(pausing, "pause", "TS-1", "--reason", "等待凭证", "--occurred-at", day("24T12:00:00"), *TEAM)
    ok(pausing, "resume", "TS-1", "--reason", "收到", "--occurred-at", day("26T12:00:00"), *TEAM)

    error = refused(pausing, "pause", "TS-1", "--reason", "又等", "--occurred-at",
                    day("25T12:00:00"), *TEAM)  # fmt: skip

    assert error == (
        "Error: occurred_at 2026-09-25T12:00:00+08:00 is before the resume at "
        "2026-09-26T12:00:00+08:00 (event 4)\n"
    )
    # 25th 10:00 plus the 48 hours paused.
    assert clocks(pausing)["investigation"]["due_at"] == "2026-09-27T02:00:00+00:00"


# 2 ------------------------------------------------------------------ backdated withdrawal


def test_a_withdrawal_dated_before_recorded_findings_is_refused_and_the_breach_stays(
    url: str,
) -> None:
    """Before: accepted; the breached investigation became cancelled, 0 s late."""
    findings(url, day("25T12:00:00"))

    error = refused(url, "withdraw", "TS-1", "--reason", "撤诉", "--occurred-at",
                    day("24T12:00:00"), *CS)  # fmt: skip

    assert error.startswith("Error: occurred_at 2026-09-24T12:00:00+08:00 is before the findings")
    investigation = clocks(url)["investigation"]
    assert (investigation["status"], investigation["late_by_seconds"]) == ("breached", 7200)


# 3 ------------------------------------------------------------------ corrections dated earlier


def test_a_second_triage_or_findings_dated_before_the_recorded_ones_are_refused(url: str) -> None:
    """Before: accepted; ``show`` used the earlier dates while the clocks ignored them."""
    findings(url, day("25T12:00:00"))

    triage_error = refused(url, "triage", "TS-1", "--severity", "urgent", "--category", "x",
                           "--assessment", "改判", "--occurred-at", day("24T10:10:00"),
                           *TEAM)  # fmt: skip
    findings_error = refused(url, "record-findings", "TS-1", "--substantiated", "yes",
                             "--findings", "改", "--occurred-at", day("25T09:00:00"),
                             *TEAM)  # fmt: skip

    assert "is before the triage at 2026-09-24T10:30:00+08:00 (event 2)" in triage_error
    assert "is before the findings at 2026-09-25T12:00:00+08:00 (event 3)" in findings_error
    shown = json.loads(ok(url, "show", "TS-1", "--as-of", day("25T11:00:00"), "--format", "json"))
    as_of = clocks(url, "TS-1", "--as-of", day("25T11:00:00"))
    assert (shown["stage"], as_of["investigation"]["status"]) == ("investigation", "overdue")


# 4 ------------------------------------------------------------------ late extensions


def test_an_extension_dated_after_the_deadline_lapsed_is_refused(url: str) -> None:
    """Before: accepted, and the overdue investigation became met once findings came."""
    error = refused(url, *extend(url, "investigation", day("25T12:00:00")))

    assert error == (
        "Error: the investigation clock was due at 2026-09-25T02:00:00+00:00; an extension "
        "dated 2026-09-25T12:00:00+08:00 comes after it lapsed\n"
    )


def test_an_extension_dated_before_a_late_action_but_recorded_after_it_is_refused(
    url: str,
) -> None:
    """Before: accepted, turning the breach into met with no mark; it also used up the
    clock's only extension step."""
    findings(url, day("25T12:00:00"))

    error = refused(url, *extend(url, "investigation", day("25T09:00:00")))

    assert error.startswith("Error: the investigation clock stopped at 2026-09-25T12:00:00+08:00")
    assert clocks(url)["investigation"]["status"] == "breached"


def test_approved_by_must_be_the_recording_leader(url: str) -> None:
    """Before: --approved-by was free text, never checked."""
    error = refused(url, *extend(url, "regulatory", day("25T09:00:00"), approved_by="nobody"))

    assert "approved_by 'nobody' is not 'chen'" in error


def test_an_extension_recorded_after_the_deadline_is_a_late_entry_in_sla_and_report(
    url: str,
) -> None:
    """Dated before the deadline (so accepted) but recorded now, long after it: the met
    verdict says so, and the report counts it. Before: no such key."""
    ok(url, *extend(url, "investigation", day("25T09:00:00")))
    findings(url, day("25T15:00:00"))

    investigation = clocks(url)["investigation"]
    counted = report(url, "--as-of", day("28T00:00:00"))["recorded_after_due"]

    assert (investigation["status"], investigation["recorded_after_due"]) == ("met", True)
    assert counted["clock"]["investigation"] == 1


# 5 ------------------------------------------------------------------ withdrawal of overdue clocks


def test_a_clock_overdue_when_the_complaint_is_withdrawn_stays_breached(url: str) -> None:
    """Before: every open clock became cancelled."""
    ok(url, "withdraw", "TS-1", "--reason", "撤诉", "--occurred-at", day("25T14:00:00"), *CS)

    verdicts = clocks(url)

    assert (verdicts["investigation"]["status"], verdicts["investigation"]["late_by_seconds"]) == (
        "breached",
        4 * 3600,
    )
    assert verdicts["plan"]["status"] == "cancelled"


# 6 ------------------------------------------------------------------ reopen and re-plan


def life(url: str) -> None:
    findings(url, day("24T15:00:00"))
    ok(url, "plan", "TS-1", "--remedy", "apology", "--occurred-at", day("25T09:00:00"), *TEAM)
    ok(url, "execute", "TS-1", "--detail", "已道歉", "--occurred-at", day("28T09:00:00"), *TEAM)
    ok(url, "notify-outcome", "TS-1", "--channel", "phone", "--summary", "已告知",
       "--occurred-at", day("28T10:00:00"), *TEAM)  # fmt: skip


def test_a_reopened_complaint_gets_new_intake_and_regulatory_clocks(url: str) -> None:
    """Before: only investigation#2 … summary#2; the regulator's clock never restarted."""
    life(url)
    ok(url, "close", "TS-1", "--root-cause", "x", "--improvement", "y", "--occurred-at",
       day("28T11:00:00"), *TEAM)  # fmt: skip

    answer = ok(url, "reopen", "TS-1", "--reason", "不满意", "--occurred-at",
                day("29T10:00:00"), *CS)  # fmt: skip
    verdicts = clocks(url, "TS-1", "--as-of", day("29T10:30:00"))

    assert answer == "TS-1: Reopened, ClocksRestarted (version 9)\n"
    assert (verdicts["intake#2"]["status"], verdicts["intake#2"]["due_at"]) == (
        "pending",
        "2026-09-29T03:00:00+00:00",
    )
    assert verdicts["regulatory#2"]["due_at"] == "2026-10-14T16:00:00+00:00"


def test_a_new_plan_after_execution_starts_a_new_execution_clock(url: str) -> None:
    """Before: the execution clock stayed met at the first execution."""
    life(url)
    ok(url, "plan", "TS-1", "--remedy", "refund:50", "--occurred-at", day("29T09:00:00"), *TEAM)
    ok(url, "execute", "TS-1", "--detail", "已退款", "--occurred-at", "2026-10-30T09:00:00+08:00",
       *TEAM)  # fmt: skip

    verdicts = clocks(url)

    assert verdicts["execution"]["status"] == "met"
    # From 29 Sept: 30 Sept, 8, 9, 10 (make-up), 12, 13, 14 Oct -> due at the end of 14 Oct.
    assert (verdicts["execution#2"]["status"], verdicts["execution#2"]["due_at"]) == (
        "breached",
        "2026-10-14T16:00:00+00:00",
    )


# 7 ------------------------------------------------------------------ calendars and policies


def test_known_at_does_not_use_a_calendar_published_later(ledger_url: str, tmp_path: Path) -> None:
    """Before: there was no --known-at, and every view used the calendars published since."""
    ok(ledger_url, "calendar", "publish", "2026", *LEAD)
    receive(ledger_url, "TS-NY", "2025-12-24T10:00:00+08:00")
    before = datetime.now().astimezone().isoformat()
    company = tmp_path / "2025.toml"
    company.write_text('base = "package"\ndays_off = [2025-12-31]\n', encoding="utf-8")
    ok(ledger_url, "calendar", "publish", "2025", str(company), *LEAD)

    then = clocks(ledger_url, "TS-NY", "--as-of", "2025-12-26T12:00:00+08:00", "--known-at", before)
    now = clocks(ledger_url, "TS-NY", "--as-of", "2025-12-26T12:00:00+08:00")

    assert (then["execution"]["due_at"], then["execution"]["estimated"]) == (
        "2026-01-05T16:00:00+00:00",
        True,
    )
    assert (now["execution"]["due_at"], now["execution"]["estimated"]) == (
        "2026-01-06T16:00:00+00:00",
        False,
    )


def test_a_republished_calendar_that_changes_a_finished_verdict_is_marked(
    url: str, tmp_path: Path
) -> None:
    """Before: republishing rewrote the verdicts of closed cases with no trace."""
    findings(url, day("24T15:00:00"))
    ok(url, "plan", "TS-1", "--remedy", "apology", "--occurred-at", day("25T09:00:00"), *TEAM)
    ok(url, "execute", "TS-1", "--detail", "x", "--occurred-at", "2026-10-13T09:00:00+08:00",
       *TEAM)  # fmt: skip
    late = report(url, "--as-of", "2026-10-14T00:00:00+08:00")
    company = tmp_path / "2026.toml"
    company.write_text('base = "package"\ndays_off = [2026-09-29]\n', encoding="utf-8")
    ok(url, "calendar", "publish", "2026", str(company), *LEAD)

    after = report(url, "--as-of", "2026-10-14T00:00:00+08:00")
    marks = clocks(url)["execution"]["changes"]

    assert [(i["clock"], i["status"]) for i in late["items"] if i["clock"] == "execution"] == [
        ("execution", "breached")
    ]
    assert [(c["ref"], c["clock"]) for c in after["changed"]] == [("TS-1", "execution")]
    assert [(m["event"], m["before"]["status"], m["after"]["status"]) for m in marks] == [
        ("@calendars v3", "breached", "met")
    ]


def test_a_backdated_policy_applies_to_every_complaint_received_since_whatever_the_order(
    ledger_url: str, tmp_path: Path
) -> None:
    """Before: the policy was pinned at recording, so the complaint recorded before the
    publication kept the old 1-hour intake while its twin recorded after got 2 hours."""
    ok(ledger_url, "calendar", "publish", "2026", *LEAD)
    receive(ledger_url, "TS-EARLY")
    relaxed = policy_file(tmp_path, "2026.2", intake="limit = 1=>limit = 2")
    ok(ledger_url, "policy", "publish", str(relaxed), "--effective-from",
       "2026-09-01T00:00:00+08:00", *LEAD)  # fmt: skip
    receive(ledger_url, "TS-LATE")
    for ref in ("TS-EARLY", "TS-LATE"):
        triage(ledger_url, ref, day("24T11:30:00"))

    verdicts = [clocks(ledger_url, ref)["intake"] for ref in ("TS-EARLY", "TS-LATE")]

    assert [(v["status"], v["due_at"]) for v in verdicts] == [
        ("met", "2026-09-24T04:00:00+00:00")
    ] * 2


# 8 ------------------------------------------------------------------ report = sla


def agree(url: str, ref: str, as_of: str) -> tuple[list[Any], list[Any]]:
    """The reported clocks of ``ref`` by ``sla`` and by ``report sla`` at ``as_of``."""
    by_sla = [
        (v["clock"], v["status"], utc(v["due_at"]), v["late_by_seconds"])
        for v in clocks(url, ref, "--as-of", as_of).values()
        if v["status"] in REPORTED
    ]
    by_report = [
        (i["clock"], i["status"], utc(i["due_at"]), i["late_by_seconds"])
        for i in report(url, "--as-of", as_of)["items"]
        if i["ref"] == ref
    ]
    return sorted(by_sla), sorted(by_report)


def test_report_and_sla_agree_inside_an_open_pause(pausing: str) -> None:
    """Before: the report ignored the open pause and showed the investigation overdue."""
    ok(pausing, "pause", "TS-1", "--reason", "等待", "--occurred-at", day("24T12:00:00"), *TEAM)

    by_sla, by_report = agree(pausing, "TS-1", day("25T11:00:00"))

    assert by_sla == by_report
    assert "investigation" not in [c for c, *_ in by_report]


def test_report_and_sla_agree_before_a_withdrawal(url: str) -> None:
    """Before: the report never showed a clock later cancelled, even before the withdrawal."""
    ok(url, "withdraw", "TS-1", "--reason", "撤诉", "--occurred-at", day("26T09:00:00"), *CS)

    by_sla, by_report = agree(url, "TS-1", day("26T08:00:00"))

    assert by_sla == by_report
    assert ("plan", "at_risk") in [(c, s) for c, s, *_ in by_report]


def test_known_at_shows_what_the_ledger_knew_and_as_of_what_had_happened(url: str) -> None:
    """The findings are dated before the investigation's deadline but recorded after a
    moment K: known at K the clock was overdue; as of K, by all recorded now, it was met."""
    known = datetime.now().astimezone().isoformat()
    findings(url, day("25T09:30:00"))
    moment = ["--as-of", day("25T11:00:00")]

    then = report(url, "--known-at", known, *moment)
    now = report(url, *moment)
    by_sla = clocks(url, "TS-1", "--known-at", known, *moment)["investigation"]
    shown = json.loads(ok(url, "show", "TS-1", "--known-at", known, "--format", "json"))

    assert [(i["clock"], i["status"]) for i in then["items"]] == [("investigation", "overdue")]
    assert (then["known_at"], by_sla["status"]) == (known, "overdue")
    assert [i["clock"] for i in now["items"]] == []
    # Met on time, but recorded after the deadline: a late entry.
    assert now["recorded_after_due"]["clock"]["investigation"] == 1
    assert clocks(url, "TS-1", *moment)["investigation"]["recorded_after_due"] is True
    assert (shown["findings"], shown["version"]) == (None, 2)


def test_sla_of_a_publication_stream_is_not_a_complaint(url: str) -> None:
    result = run(url, "sla", "@calendars")

    assert (result.exit_code, result.stderr) == (
        1,
        "Error: no complaint has reference '@calendars'\n",
    )
