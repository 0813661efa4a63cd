"""The time rule, extensions and corrections in the Complaint aggregate, without a database.

The complaint is received at 08:00 UTC on Thursday 24 September 2026; ``at(h)`` is h hours
later. Under the default policy the investigation clock is due at ``at(24)``.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from ledger.domain.calendar import WorkCalendar, package_year
from ledger.domain.complaint import Complaint
from ledger.domain.errors import CorrectionRefused, ExtensionRefused, OccurredTooEarly, OutOfOrder
from ledger.domain.policy import DEFAULT_POLICY, Policy
from ledger.domain.sla import evaluate
from ledger.domain.values import (
    Actor,
    ClockName,
    ContactChannel,
    Remedy,
    RemedyKind,
    Role,
    Severity,
    Stage,
    Stamp,
    Substantiated,
)
from tests.unit.test_complaint import NOW, RECEIVED, TEAM, at, received

LEAD = Actor("chen", Role.LEADERSHIP)
CAL = WorkCalendar({2026: package_year(2026)})
PAUSING = replace(
    DEFAULT_POLICY,
    rules=tuple(
        replace(r, pausable=True) if r.clock is ClockName.INVESTIGATION else r
        for r in DEFAULT_POLICY.rules
    ),
)


def lead(hours: float) -> Stamp:
    return Stamp(LEAD, RECEIVED + timedelta(hours=hours), "x")


def triaged() -> Complaint:
    c = received()
    c.triage(at(1), NOW, Severity.NORMAL, "harassment", "一般")
    return c


def extend(c: Complaint, hours: float, clock: ClockName = ClockName.INVESTIGATION) -> None:
    c.extend(lead(hours), NOW, clock, 1, "复杂", "chen", DEFAULT_POLICY, CAL)


def investigation(c: Complaint, as_of: datetime, policy: Policy = DEFAULT_POLICY) -> str:
    verdicts = evaluate(c.facts, policy, CAL, as_of)
    return next(v.status for v in verdicts if v.clock == "investigation")


def test_a_pause_dated_inside_a_recorded_pause_is_refused_naming_the_resume() -> None:
    c = triaged()
    c.pause(at(2), NOW, "等待客户", allowed=True)
    c.resume(at(50), NOW, "收到")

    with pytest.raises(OccurredTooEarly, match=r"before the resume at .* \(event 4\)"):
        c.pause(at(26), NOW, "又等", allowed=True)

    assert c.version == 4


def test_a_pause_dated_before_a_recorded_stop_is_refused() -> None:
    c = triaged()
    c.record_findings(at(30), NOW, Substantiated.NO, "x", ())

    with pytest.raises(OccurredTooEarly, match=r"before the findings at .* \(event 3\)"):
        c.pause(at(20), NOW, "等待客户", allowed=True)


def test_a_resume_dated_before_a_stop_made_during_the_pause_is_refused() -> None:
    c = triaged()
    c.pause(at(2), NOW, "等待客户", allowed=True)
    c.record_findings(at(30), NOW, Substantiated.NO, "x", ())

    with pytest.raises(OccurredTooEarly, match="before the findings"):
        c.resume(at(10), NOW, "收到")


def test_a_withdrawal_dated_before_recorded_work_is_refused_and_names_it() -> None:
    c = triaged()
    c.record_findings(at(30), NOW, Substantiated.NO, "x", ())

    with pytest.raises(OccurredTooEarly, match=r"before the findings at .* \(event 3\)"):
        c.withdraw(at(5), NOW, "撤诉")

    assert c.version == 3


def test_a_withdrawal_dated_before_a_recorded_note_is_refused() -> None:
    c = triaged()
    c.add_note(at(10), NOW, "备注")

    with pytest.raises(OccurredTooEarly, match="before the note"):
        c.withdraw(at(5), NOW, "撤诉")


def test_a_second_triage_dated_before_the_first_is_refused() -> None:
    c = triaged()

    with pytest.raises(OccurredTooEarly, match=r"before the triage at .* \(event 2\)"):
        c.triage(at(0.5), NOW, Severity.URGENT, "harassment", "改判")


def test_new_findings_dated_before_the_recorded_ones_are_refused() -> None:
    c = triaged()
    c.record_findings(at(20), NOW, Substantiated.NO, "x", ())

    with pytest.raises(OccurredTooEarly, match="before the findings"):
        c.record_findings(at(10), NOW, Substantiated.YES, "y", ())


def test_a_new_plan_dated_before_the_execution_of_the_last_is_refused() -> None:
    c = triaged()
    c.record_findings(at(2), NOW, Substantiated.YES, "x", ())
    c.plan(at(3), NOW, (Remedy(RemedyKind.APOLOGY),))
    c.execute(at(10), NOW, "done")

    with pytest.raises(OccurredTooEarly, match="before the execution"):
        c.plan(at(5), NOW, (Remedy(RemedyKind.APOLOGY),))


def test_a_closure_may_come_before_a_recorded_note_but_not_before_a_contact() -> None:
    c = triaged()
    c.record_findings(at(2), NOW, Substantiated.YES, "x", ())
    c.plan(at(3), NOW, (Remedy(RemedyKind.APOLOGY),))
    c.execute(at(4), NOW, "done")
    c.notify_outcome(at(5), NOW, ContactChannel.PHONE, "告知")
    c.add_note(at(9), NOW, "备注")
    c.contact(at(8), NOW, ContactChannel.PHONE, True, "回访")

    with pytest.raises(OccurredTooEarly, match="before the contact"):
        c.close(at(7), NOW, "x", "y")
    c.close(at(8.5), NOW, "x", "y")


def test_backdated_notes_and_contacts_are_accepted_where_they_contradict_nothing() -> None:
    c = triaged()
    c.record_findings(at(30), NOW, Substantiated.NO, "x", ())

    c.add_note(at(2), NOW, "补记")
    c.contact(at(3), NOW, ContactChannel.PHONE, True, "补记")

    assert (c.notes, c.contacts) == (1, 1)


def test_a_note_on_a_closed_case_dated_before_the_closure_is_refused() -> None:
    c = triaged()
    c.record_findings(at(2), NOW, Substantiated.YES, "x", ())
    c.plan(at(3), NOW, (Remedy(RemedyKind.APOLOGY),))
    c.execute(at(4), NOW, "done")
    c.notify_outcome(at(5), NOW, ContactChannel.PHONE, "告知")
    c.close(at(6), NOW, "x", "y")

    with pytest.raises(OccurredTooEarly, match="before the closure"):
        c.add_note(at(5.5), NOW, "x")


def test_an_extension_dated_after_the_deadline_lapsed_is_refused() -> None:
    c = triaged()

    with pytest.raises(ExtensionRefused, match="comes after it lapsed"):
        extend(c, 25)


def test_an_extension_of_a_clock_that_stopped_is_refused_whatever_its_date() -> None:
    c = triaged()
    c.record_findings(at(30), NOW, Substantiated.NO, "x", ())

    with pytest.raises(ExtensionRefused, match=r"stopped at .* \(findings, event 3\)"):
        extend(c, 20)

    assert investigation(c, NOW) == "breached"


def test_an_extension_in_time_moves_the_deadline() -> None:
    c = triaged()

    extend(c, 20)
    c.record_findings(at(30), NOW, Substantiated.NO, "x", ())

    assert investigation(c, NOW) == "met"


def test_the_approver_must_be_the_recording_leader() -> None:
    c = triaged()

    with pytest.raises(ExtensionRefused, match="approved_by 'boss' is not 'chen'"):
        c.extend(lead(2), NOW, ClockName.INVESTIGATION, 1, "x", "boss", DEFAULT_POLICY, CAL)


def test_reopening_with_an_intake_restart_needs_a_new_triage_before_findings() -> None:
    c = triaged()
    c.record_findings(at(2), NOW, Substantiated.YES, "x", ())
    c.plan(at(3), NOW, (Remedy(RemedyKind.APOLOGY),))
    c.execute(at(4), NOW, "done")
    c.notify_outcome(at(5), NOW, ContactChannel.PHONE, "告知")
    c.close(at(6), NOW, "x", "y")

    c.reopen(at(50), NOW, "不满意", restarts=(ClockName.INTAKE, ClockName.REGULATORY))

    assert c.stage is Stage.INTAKE
    with pytest.raises(OutOfOrder, match="has not been triaged"):
        c.record_findings(at(51), NOW, Substantiated.NO, "x", ())
    c.triage(at(50.5), NOW, Severity.NORMAL, "harassment", "再次受理")
    assert c.stage is Stage.INVESTIGATION


def test_a_correction_re_dates_an_action_and_the_clocks_follow() -> None:
    c = triaged()
    c.record_findings(at(30), NOW, Substantiated.NO, "x", ())

    c.correct(lead(40), NOW, 3, at(20).occurred_at, "录入有误", "chen", DEFAULT_POLICY, CAL)

    assert c.findings_at == at(20).occurred_at
    assert investigation(c, NOW) == "met"
    assert [type(e).__name__ for e in c.pending_events][-1] == "OccurrenceCorrected"


@pytest.mark.parametrize(
    ("version", "hours", "message"),
    [
        (3, 0.5, r"that is before the triage at .* \(event 2\)"),
        (2, 40, r"the findings at .* \(event 3\) would come before it"),
        (1, -1, "before the complaint was received"),
    ],
    ids=["findings before the triage", "triage after the findings", "record before receipt"],
)
def test_a_correction_that_breaks_the_time_rule_is_refused(
    version: int, hours: float, message: str
) -> None:
    c = triaged()
    c.record_findings(at(30), NOW, Substantiated.NO, "x", ())

    with pytest.raises(CorrectionRefused, match=message):
        c.correct(lead(40), NOW, version, at(hours).occurred_at, "x", "chen", DEFAULT_POLICY, CAL)

    assert c.version == 3


def test_only_actions_the_clocks_are_judged_on_can_be_corrected() -> None:
    c = triaged()
    c.add_note(at(2), NOW, "x")

    with pytest.raises(CorrectionRefused, match="event 3 is note"):
        c.correct(lead(40), NOW, 3, at(3).occurred_at, "x", "chen", DEFAULT_POLICY, CAL)


def test_re_dating_an_extension_past_its_deadline_is_refused() -> None:
    c = triaged()
    extend(c, 20)

    with pytest.raises(ExtensionRefused, match="comes after it lapsed"):
        c.correct(lead(40), NOW, 3, at(25).occurred_at, "x", "chen", DEFAULT_POLICY, CAL)


def test_a_pause_overlap_in_old_history_is_counted_once() -> None:
    """Events the old rules accepted (a pause inside a recorded one) are still read, and the
    overlap does not move the deadline twice."""
    c = triaged()
    c.pause(at(2), NOW, "a", allowed=True)
    c.resume(at(50), NOW, "b")
    c._clocks_paused(TEAM, at(26).occurred_at, "old", reason="old")  # as the old rules allowed
    c._clocks_resumed(TEAM, at(74).occurred_at, "old", reason="old")

    verdicts = evaluate(c.facts, PAUSING, CAL, NOW)

    # Paused from 2 h to 74 h after receipt: 72 h, not 48 + 48.
    due = next(v.due_at for v in verdicts if v.clock == "investigation")
    assert due == (RECEIVED + timedelta(hours=24 + 72)).astimezone(UTC)
