"""The SLA engine through the command line: policies and calendars published into the ledger.

Every expected deadline here is computed by hand in the comment above it.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.helpers import actor, event_count, jsonl, life_cmds, receive_cmd, run

LEAD = ["--actor", "chen", "--role", "leadership"]
EXAMPLE_POLICY = Path(__file__).parents[2] / "docs" / "policy-example.toml"


def clocks(url: str, ref: str, as_of: str, *extra: str) -> dict[str, dict[str, Any]]:
    result = run(url, "sla", ref, "--as-of", as_of, "--format", "json", *extra)
    assert result.exit_code == 0, result.stderr
    return {v["clock"]: v for v in json.loads(result.stdout)}


def policy_file(tmp_path: Path, version: str, **changes: str) -> Path:
    """The example policy under a new version, with ``clock="old_line=new_line"`` edits."""
    text = EXAMPLE_POLICY.read_text(encoding="utf-8")
    text = text.replace('version = "default-2026.1"', f'version = "{version}"')
    for clock, edit in changes.items():
        old, new = edit.split("=>")
        # The section itself, at a line's start: the example's comments name sections too.
        head, _, tail = text.partition(f"\n[clocks.{clock}]")
        text = head + f"\n[clocks.{clock}]" + tail.replace(old, new, 1)
    path = tmp_path / f"{version}.toml"
    path.write_text(text, encoding="utf-8")
    return path


def extend(url: str, clock: str, days: str, approved_by: str = "chen") -> Any:
    return run(
        url,
        "extend",
        "TS-1",
        "--clock",
        clock,
        "--days",
        days,
        "--reason",
        "案情复杂",
        "--approved-by",
        approved_by,
        "--occurred-at",
        "2026-09-25T09:00:00+08:00",
        *LEAD,
    )


@pytest.fixture
def triaged_late(ledger_url: str) -> str:
    """TS-1: received Thu 2026-09-24 16:00 (+08), triaged 17:30 (intake due 17:00)."""
    assert run(ledger_url, "calendar", "publish", "2026", *LEAD).exit_code == 0
    commands = life_cmds("TS-1", until="triage")
    commands[1]["occurred_at"] = "2026-09-24T17:30:00+08:00"
    result = run(ledger_url, "apply", "-", input=jsonl(commands))
    assert result.exit_code == 0, result.stderr
    return ledger_url


@pytest.mark.parametrize(
    ("as_of", "clock", "status", "late"),
    [
        # intake: 16:00 + 1 h = 17:00; 75 % of the hour is 16:45.
        ("2026-09-24T16:30:00+08:00", "intake", "pending", 0),
        ("2026-09-24T16:50:00+08:00", "intake", "at_risk", 0),
        ("2026-09-24T17:10:00+08:00", "intake", "overdue", 600),
        ("2026-09-24T18:00:00+08:00", "intake", "breached", 1800),
        # investigation: 16:00 + 24 h = Fri 09-25 16:00; 75 % of it is 09-25 10:00.
        ("2026-09-25T09:00:00+08:00", "investigation", "pending", 0),
        ("2026-09-25T10:00:00+08:00", "investigation", "at_risk", 0),
        ("2026-09-25T17:00:00+08:00", "investigation", "overdue", 3600),
    ],
)
def test_sla_as_of_moves_through_the_statuses(
    triaged_late: str, as_of: str, clock: str, status: str, late: int
) -> None:
    verdict = clocks(triaged_late, "TS-1", as_of)[clock]

    assert (verdict["status"], verdict["late_by_seconds"]) == (status, late)


def test_sla_json_has_exactly_the_verdict_keys_and_the_hand_computed_deadlines(
    triaged_late: str,
) -> None:
    verdicts = clocks(triaged_late, "TS-1", "2026-09-25T12:00:00+08:00")

    assert all(
        set(v)
        == {
            "clock",
            "due_at",
            "met_at",
            "status",
            "late_by_seconds",
            "late_by_business_seconds",
            "estimated",
            "recorded_after_due",
            "changes",
        }
        for v in verdicts.values()
    )
    # execution: 7 working days after Thu 09-24: 09-25 is Mid-Autumn (off); 28, 29, 30 Sept,
    # 8, 9 Oct, Sat 10 Oct (make-up working day), Mon 12 Oct -> end of 12 Oct (+08).
    assert verdicts["execution"]["due_at"] == "2026-10-12T16:00:00+00:00"
    # summary: 15 working days: the 7 above, then 13-16 Oct (4), 19-22 Oct (4) -> end of 22 Oct.
    assert verdicts["summary"]["due_at"] == "2026-10-22T16:00:00+00:00"
    # regulatory: 15 calendar days after 24 Sept -> end of 9 Oct.
    assert verdicts["regulatory"]["due_at"] == "2026-10-09T16:00:00+00:00"
    assert verdicts["intake"]["met_at"] == "2026-09-24T09:30:00+00:00"


def test_policy_revision_leaves_earlier_complaints_alone_and_what_if_shows_the_difference(
    triaged_late: str, tmp_path: Path
) -> None:
    revision = policy_file(tmp_path, "2026.2", intake="limit = 1=>limit = 2")
    published = run(
        triaged_late,
        "policy",
        "publish",
        str(revision),
        "--effective-from",
        "2026-10-01T00:00:00+08:00",
        *LEAD,
    )
    later = receive_cmd(
        "TS-2", received_at="2026-10-02T09:00:00+08:00", occurred_at="2026-10-02T09:10:00+08:00"
    )
    run(triaged_late, "apply", "-", input=jsonl([later]))

    pinned = clocks(triaged_late, "TS-1", "2026-09-24T18:00:00+08:00")["intake"]
    what_if = clocks(triaged_late, "TS-1", "2026-09-24T18:00:00+08:00", "--policy", "2026.2")
    newer = clocks(triaged_late, "TS-2", "2026-10-02T10:00:00+08:00")["intake"]

    assert published.stdout == "@policies: PolicyPublished (version 2)\n"
    # Pinned default: due 17:00, triaged 17:30 -> breached by 30 min.
    assert (pinned["status"], pinned["due_at"]) == ("breached", "2026-09-24T09:00:00+00:00")
    # Under 2026.2 the intake limit is 2 h: due 18:00, so 17:30 is on time.
    assert (what_if["intake"]["status"], what_if["intake"]["due_at"]) == (
        "met",
        "2026-09-24T10:00:00+00:00",
    )
    # TS-2 was received after 2026.2 took effect and pinned it: due 11:00, pending at 10:00.
    assert (newer["status"], newer["due_at"]) == ("pending", "2026-10-02T03:00:00+00:00")


def test_what_if_under_an_unknown_policy_is_refused(triaged_late: str) -> None:
    result = run(triaged_late, "sla", "TS-1", "--policy", "2099.9")

    assert result.exit_code == 1
    assert result.stderr == "Error: no policy version '2099.9'; published: default-2026.1\n"


def test_invalid_policy_document_is_refused_and_nothing_is_published(
    triaged_late: str, tmp_path: Path
) -> None:
    bad = policy_file(tmp_path, "2026.3", plan="limit = 48=>limit = -4")
    before = event_count(triaged_late)

    result = run(triaged_late, "policy", "publish", str(bad), *LEAD)

    assert result.exit_code == 1
    assert result.stderr.startswith("Error: policy invalid: clocks.plan.limit: ")
    assert event_count(triaged_late) == before


def test_publishing_the_same_policy_version_twice_is_refused(
    triaged_late: str, tmp_path: Path
) -> None:
    path = policy_file(tmp_path, "2026.4")
    run(triaged_late, "policy", "publish", str(path), *LEAD)

    again = run(triaged_late, "policy", "publish", str(path), *LEAD)

    assert again.exit_code == 1
    assert "policy version '2026.4' was already published" in again.stderr


def test_calendar_published_for_an_estimated_year_changes_deadlines_and_clears_estimated(
    ledger_url: str, tmp_path: Path
) -> None:
    run(ledger_url, "calendar", "publish", "2026", *LEAD)
    received = receive_cmd(
        "TS-NY", received_at="2025-12-24T10:00:00+08:00", occurred_at="2025-12-24T10:05:00+08:00"
    )
    run(ledger_url, "apply", "-", input=jsonl([received]))
    as_of = "2025-12-26T12:00:00+08:00"
    before = clocks(ledger_url, "TS-NY", as_of)["execution"]
    company = tmp_path / "2025.toml"
    company.write_text('base = "package"\ndays_off = [2025-12-31]\n', encoding="utf-8")

    published = run(ledger_url, "calendar", "publish", "2025", str(company), *LEAD)
    after = clocks(ledger_url, "TS-NY", as_of)["execution"]

    assert published.exit_code == 0, published.stderr
    # 2025 unpublished (a guess): Dec 25, 26, 29, 30, 31; Jan 1-2 2026 off, Sun Jan 4 is a
    # make-up working day, Mon Jan 5 -> end of 5 Jan 2026, estimated.
    assert (before["due_at"], before["estimated"]) == ("2026-01-05T16:00:00+00:00", True)
    # With the company's day off on 31 Dec: Dec 25, 26, 29, 30, Jan 4, 5, 6 -> end of 6 Jan.
    assert (after["due_at"], after["estimated"]) == ("2026-01-06T16:00:00+00:00", False)


def test_calendar_for_a_year_the_package_does_not_know_is_refused(
    ledger_url: str, unknown_year: int
) -> None:
    result = run(ledger_url, "calendar", "publish", str(unknown_year), *LEAD)

    assert result.exit_code == 1
    assert f"has no State Council holiday notice for {unknown_year}" in result.stderr
    assert event_count(ledger_url) == 0


def test_regulatory_extensions_follow_the_policy_steps(triaged_late: str) -> None:
    first = extend(triaged_late, "regulatory", "15")
    second = extend(triaged_late, "regulatory", "30")
    third = extend(triaged_late, "regulatory", "1")

    regulatory = clocks(triaged_late, "TS-1", "2026-09-26T12:00:00+08:00")["regulatory"]

    assert (first.exit_code, second.exit_code, third.exit_code) == (0, 0, 1)
    assert third.stderr.startswith("Error: ")
    # 15 + 15 + 30 = 60 calendar days after 24 Sept -> end of 23 Nov.
    assert regulatory["due_at"] == "2026-11-23T16:00:00+00:00"


@pytest.mark.parametrize(
    ("clock", "days", "approved_by"),
    [
        ("regulatory", "16", "chen"),  # the first step allows at most 15
        ("investigation", "2", "chen"),  # one extension of at most 1 day
        ("intake", "1", "chen"),  # the intake clock is not extendable
        ("regulatory", "15", "   "),  # no approver
    ],
    ids=["beyond the first step", "beyond the investigation step", "not extendable", "no approver"],
)
def test_extension_beyond_the_policy_is_refused(
    triaged_late: str, clock: str, days: str, approved_by: str
) -> None:
    before = event_count(triaged_late)

    result = extend(triaged_late, clock, days, approved_by)

    assert result.exit_code == 1
    assert result.stderr.startswith("Error: ")
    assert event_count(triaged_late) == before


def test_pause_moves_internal_deadlines_when_the_policy_allows_it(
    ledger_url: str, tmp_path: Path
) -> None:
    pausing = policy_file(tmp_path, "pausing-1", investigation="pausable = false=>pausable = true")
    run(
        ledger_url,
        "policy",
        "publish",
        str(pausing),
        "--effective-from",
        "2026-01-01T00:00:00+08:00",
        *LEAD,
    )
    commands = [
        *life_cmds("TS-P", until="triage"),
        {
            "command": "pause",
            "command_id": "p1",
            "ref": "TS-P",
            "reason": "等待客户提供凭证",
            "actor": actor("handling_team", "wang"),
            "occurred_at": "2026-09-24T18:00:00+08:00",
        },
        {
            "command": "resume",
            "command_id": "p2",
            "ref": "TS-P",
            "reason": "凭证已收到",
            "actor": actor("handling_team", "wang"),
            "occurred_at": "2026-09-24T23:00:00+08:00",
        },
    ]
    applied = run(ledger_url, "apply", "-", input=jsonl(commands))

    verdicts = clocks(ledger_url, "TS-P", "2026-09-25T12:00:00+08:00")

    assert applied.exit_code == 0, applied.stderr
    # investigation: 24 h from 16:00 plus the 5 h paused -> Fri 09-25 21:00 (+08).
    assert verdicts["investigation"]["due_at"] == "2026-09-25T13:00:00+00:00"
    # the plan clock is not pausable in this policy: 16:00 + 48 h.
    assert verdicts["plan"]["due_at"] == "2026-09-26T08:00:00+00:00"


def test_pause_is_refused_when_the_policy_does_not_allow_it(triaged_late: str) -> None:
    result = run(
        triaged_late,
        "pause",
        "TS-1",
        "--reason",
        "等待",
        "--actor",
        "wang",
        "--role",
        "handling_team",
    )

    assert result.exit_code == 1
    assert result.stderr == (
        "Error: the SLA policy default-2026.1 of TS-1 does not let its clocks pause\n"
    )


def test_sla_table_shows_deadlines_at_the_end_of_the_day(triaged_late: str) -> None:
    result = run(triaged_late, "sla", "TS-1", "--as-of", "2026-09-25T12:00:00+08:00")

    lines = result.stdout.splitlines()
    assert lines[0] == "TS-1 under policy default-2026.1, as of 2026-09-25 12:00:00 +08:00"
    execution = next(line for line in lines if line.startswith("execution"))
    assert execution.split() == ["execution", "pending", "2026-10-12", "23:59:59", "+08:00", "-",
                                 "-"]  # fmt: skip


def test_working_day_deadlines_are_estimated_until_their_year_is_published(ledger_url: str) -> None:
    run(ledger_url, "apply", "-", input=jsonl(life_cmds("TS-E", until="receive")))

    before = clocks(ledger_url, "TS-E", "2026-09-25T12:00:00+08:00")
    run(ledger_url, "calendar", "publish", "2026", *LEAD)
    after = clocks(ledger_url, "TS-E", "2026-09-25T12:00:00+08:00")

    assert [before[c]["estimated"] for c in ("intake", "execution", "summary", "regulatory")] == [
        False,
        True,
        True,
        False,
    ]
    assert not any(v["estimated"] for v in after.values())
    assert before["execution"]["due_at"] == after["execution"]["due_at"]


def test_intake_recorded_more_than_an_hour_after_receipt_is_a_late_record(ledger_url: str) -> None:
    late = receive_cmd(
        "TS-LATE", received_at="2026-09-24T08:00:00+08:00", occurred_at="2026-09-24T09:30:00+08:00"
    )
    run(ledger_url, "apply", "-", input=jsonl([late]))

    before = clocks(ledger_url, "TS-LATE", "2026-09-24T09:10:00+08:00")["intake_record"]
    after = clocks(ledger_url, "TS-LATE", "2026-09-24T10:00:00+08:00")["intake_record"]

    # Received 08:00, so the record was due 09:00; it was made at 09:30.
    assert (before["status"], before["late_by_seconds"]) == ("overdue", 600)
    assert (after["status"], after["late_by_seconds"]) == ("breached", 1800)
    assert after["met_at"] == "2026-09-24T01:30:00+00:00"
