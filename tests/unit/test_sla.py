"""The SLA clocks of a complaint: deadlines, pauses, extensions, rounds and verdicts.

Expected instants are counted by hand on the 2026 calendar and written out literally.
Unless a test says otherwise the complaint is received on Thursday 24 September 2026 at
10:00 Shanghai time, the day before the Mid-Autumn Friday and a week before National Day.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from ledger.domain.calendar import WorkCalendar, YearCalendar, company_year, package_year
from ledger.domain.facts import CaseFacts, Fact
from ledger.domain.sla import (
    DEFAULT_POLICY,
    ClockRule,
    Deadline,
    Policy,
    Verdict,
    deadlines,
    evaluate,
    status_at,
)
from ledger.domain.values import ClockName

SH = ZoneInfo("Asia/Shanghai")
RECEIVED = datetime(2026, 9, 24, 10, 0, tzinfo=SH)
CAL = WorkCalendar({2026: package_year(2026)})
LATER = datetime(2026, 12, 31, 0, 0, tzinfo=SH)


def sh(month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0) -> datetime:
    return datetime(2026, month, day, hour, minute, second, tzinfo=SH)


@dataclass(frozen=True)
class Round:
    """One pass through the stages, as the tests describe it (round 1 starts at receipt)."""

    started_at: datetime
    findings_at: datetime | None = None
    planned_at: datetime | None = None
    executed_at: datetime | None = None
    closed_at: datetime | None = None


@dataclass(frozen=True)
class Extension:
    clock: ClockName
    days: int
    at: datetime


@dataclass(frozen=True)
class Pause:
    start: datetime
    end: datetime | None


def case(
    received: datetime = RECEIVED,
    *,
    intake_recorded_at: datetime | None = None,
    triaged_at: datetime | None = None,
    outcome_at: datetime | None = None,
    withdrawn_at: datetime | None = None,
    rounds: tuple[Round, ...] | None = None,
    extensions: tuple[Extension, ...] = (),
    pauses: tuple[Pause, ...] = (),
) -> CaseFacts:
    """A case's facts from what happened when; the actions are recorded in time order."""
    items: list[tuple[datetime, int, str, dict[str, Any]]] = []

    def add(at: datetime | None, kind: str, **fields: Any) -> None:
        if at is not None:
            items.append((at, len(items), kind, fields))

    add(triaged_at, "triaged")
    for number, r in enumerate(rounds or (Round(received),)):
        if number:
            add(r.started_at, "reopened")
        for kind, at in (("findings", r.findings_at), ("planned", r.planned_at),
                         ("executed", r.executed_at), ("closed", r.closed_at)):  # fmt: skip
            add(at, kind)
    add(outcome_at, "outcome")
    for e in extensions:
        add(e.at, "extended", clock=e.clock, days=e.days)
    for p in pauses:
        add(p.start, "paused")
        add(p.end, "resumed")
    add(withdrawn_at, "withdrawn")
    items.sort(key=lambda item: (item[0], item[1]))
    receipt = Fact("received", 1, intake_recorded_at or received + timedelta(minutes=10))
    return CaseFacts(
        received,
        (receipt, *(Fact(kind, v, at, **kw) for v, (at, _, kind, kw) in enumerate(items, 2))),
    )


def with_rule(clock: ClockName, **changes: Any) -> Policy:
    rules = tuple(replace(r, **changes) if r.clock == clock else r for r in DEFAULT_POLICY.rules)
    return replace(DEFAULT_POLICY, rules=rules)


def deadline(
    facts: CaseFacts, clock: str, policy: Policy = DEFAULT_POLICY, calendar: WorkCalendar = CAL
) -> Deadline:
    return next(d for d in deadlines(facts, policy, calendar) if d.clock == clock)


def verdict(
    facts: CaseFacts, clock: str, as_of: datetime, policy: Policy = DEFAULT_POLICY
) -> Verdict:
    return next(v for v in evaluate(facts, policy, CAL, as_of) if v.clock == clock)


ROUND_ONE_DONE = (
    Round(RECEIVED, sh(9, 25, 9), sh(9, 26, 9), sh(10, 9, 15), sh(10, 12, 10)),
    Round(sh(11, 2, 10)),
)


@pytest.mark.parametrize(
    ("clock", "due"),
    [
        ("intake_record", sh(9, 24, 11)),
        ("intake", sh(9, 24, 11)),
        ("investigation", sh(9, 25, 10)),
        ("plan", sh(9, 26, 10)),
        # Sep 25 Mid-Autumn off; Sep 28, 29, 30, Oct 8, 9, 10 (make-up), 12.
        ("execution", sh(10, 13)),
        # ... Oct 13, 14, 15, 16, 19, 20, 21, 22.
        ("summary", sh(10, 23)),
        # 15 calendar days: end of 9 October.
        ("regulatory", sh(10, 10)),
    ],
)
def test_default_plan_deadlines_for_a_receipt_before_mid_autumn_and_national_day(
    clock: str, due: datetime
) -> None:
    result = deadline(case(), clock)

    assert result.due_at == due
    assert result.estimated is False


@pytest.mark.parametrize(
    ("clock", "due"),
    [
        ("intake", sh(3, 11, 0, 30)),
        ("investigation", sh(3, 11, 23, 30)),
        ("plan", sh(3, 12, 23, 30)),
    ],
)
def test_hour_clocks_count_elapsed_hours_across_midnight(clock: str, due: datetime) -> None:
    result = deadline(case(sh(3, 10, 23, 30)), clock)

    assert result.due_at == due


def test_hour_clocks_count_elapsed_hours_across_a_daylight_saving_change() -> None:
    berlin = ZoneInfo("Europe/Berlin")
    policy = replace(DEFAULT_POLICY, timezone="Europe/Berlin")

    result = deadline(case(datetime(2026, 3, 29, 1, 30, tzinfo=berlin)), "investigation", policy)

    # 29 March has only 23 hours in Berlin (clocks go forward), so 24 hours end at 02:30.
    assert result.due_at == datetime(2026, 3, 30, 2, 30, tzinfo=berlin)


def test_hour_clocks_ignore_holidays() -> None:
    result = deadline(case(sh(9, 30, 10)), "plan")

    assert result.due_at == sh(10, 2, 10)


@pytest.mark.parametrize(
    ("received", "clock", "due"),
    [
        # Weekday at 23:59: the day of receipt is still Tuesday 10 March.
        (sh(3, 10, 23, 59), "execution", sh(3, 20)),
        (sh(3, 10, 23, 59), "summary", sh(4, 1)),
        (sh(3, 10, 23, 59), "regulatory", sh(3, 26)),
        # Saturday: counting starts on Monday 16 March.
        (sh(3, 14, 10), "execution", sh(3, 25)),
        (sh(3, 14, 10), "regulatory", sh(3, 30)),
        # National Day itself: Oct 8, 9, 10, 12, 13, 14, 15.
        (sh(10, 1, 10), "execution", sh(10, 16)),
        (sh(10, 1, 10), "regulatory", sh(10, 17)),
        # Make-up Saturday 14 Feb: Feb 24, 25, 26, 27, 28 (make-up), Mar 2, 3.
        (sh(2, 14, 10), "execution", sh(3, 4)),
        (sh(2, 14, 10), "summary", sh(3, 14)),
        # Friday before Spring Festival: Feb 14, 24, 25, 26, 27, 28, Mar 2.
        (sh(2, 13, 15), "execution", sh(3, 3)),
        (sh(2, 13, 15), "summary", sh(3, 13)),
        (sh(2, 13, 15), "regulatory", sh(3, 1)),
        # Eve of National Day: Oct 8, 9, 10, 12 ... 16, 19 ... 23, 26, 27.
        (sh(9, 30, 10), "execution", sh(10, 16)),
        (sh(9, 30, 10), "summary", sh(10, 28)),
    ],
)
def test_day_clocks_end_at_midnight_after_the_last_counted_day(
    received: datetime, clock: str, due: datetime
) -> None:
    result = deadline(case(received), clock)

    assert result.due_at == due


def test_regulatory_working_days_variant_skips_holidays() -> None:
    policy = with_rule(ClockName.REGULATORY, unit="working_days")

    result = deadline(case(), "regulatory", policy)

    assert result.due_at == sh(10, 23)


@pytest.mark.parametrize(
    ("clock", "due"),
    [
        ("execution", datetime(2027, 1, 6, 0, 0, tzinfo=SH)),
        ("summary", datetime(2027, 1, 16, 0, 0, tzinfo=SH)),
    ],
)
@pytest.mark.usefixtures("unknown_year")
def test_working_day_deadlines_into_unpublished_2027_are_estimated(
    clock: str, due: datetime
) -> None:
    result = deadline(case(sh(12, 24, 10)), clock)

    assert (result.due_at, result.estimated) == (due, True)


def test_calendar_day_regulatory_deadline_into_2027_is_not_estimated() -> None:
    result = deadline(case(sh(12, 24, 10)), "regulatory")

    assert (result.due_at, result.estimated) == (datetime(2027, 1, 9, 0, 0, tzinfo=SH), False)


@pytest.mark.parametrize(
    ("clock", "due"),
    [
        ("execution", datetime(2027, 1, 7, 0, 0, tzinfo=SH)),
        ("summary", datetime(2027, 1, 19, 0, 0, tzinfo=SH)),
    ],
)
def test_publishing_2027_moves_deadlines_and_clears_estimated(clock: str, due: datetime) -> None:
    notice = YearCalendar(2027, frozenset({date(2027, 1, 1), date(2027, 1, 4)}), frozenset(), "t")
    calendar = WorkCalendar({2026: package_year(2026), 2027: notice})

    result = deadline(case(sh(12, 24, 10)), clock, calendar=calendar)

    assert (result.due_at, result.estimated) == (due, False)


def test_company_day_off_moves_the_execution_deadline() -> None:
    acme = company_year(package_year(2026), [date(2026, 9, 29)], [], "acme")

    result = deadline(case(), "execution", calendar=WorkCalendar({2026: acme}))

    assert result.due_at == sh(10, 14)


@pytest.mark.parametrize(
    ("clock", "extensions", "due"),
    [
        ("investigation", [(ClockName.INVESTIGATION, 1)], sh(9, 26, 10)),
        # 14 working days: ... Oct 12 (7), 13, 14, 15, 16, 19, 20, 21.
        ("execution", [(ClockName.EXECUTION, 7)], sh(10, 22)),
        ("regulatory", [(ClockName.REGULATORY, 15)], sh(10, 25)),
        ("regulatory", [(ClockName.REGULATORY, 15), (ClockName.REGULATORY, 30)], sh(11, 24)),
        # An extension of one clock leaves the others alone.
        ("plan", [(ClockName.INVESTIGATION, 1)], sh(9, 26, 10)),
    ],
)
def test_extensions_move_the_deadline_in_the_clocks_unit(
    clock: str, extensions: list[tuple[ClockName, int]], due: datetime
) -> None:
    facts = case(extensions=tuple(Extension(c, n, sh(9, 24, 12)) for c, n in extensions))

    result = deadline(facts, clock)

    assert result.due_at == due


def test_regulatory_working_day_extension_adds_working_days() -> None:
    policy = with_rule(ClockName.REGULATORY, unit="working_days")
    facts = case(extensions=(Extension(ClockName.REGULATORY, 15, sh(9, 25, 12)),))

    result = deadline(facts, "regulatory", policy)

    assert result.due_at == sh(11, 13)


def test_an_extension_granted_after_the_clock_stopped_does_not_clear_the_breach() -> None:
    facts = case(
        rounds=(Round(RECEIVED, findings_at=sh(9, 25, 12)),),
        extensions=(Extension(ClockName.INVESTIGATION, 1, sh(9, 25, 13)),),
    )

    result = verdict(facts, "investigation", LATER)

    assert (result.due_at, result.status, result.late_by_seconds) == (
        sh(9, 25, 10),
        "breached",
        7200,
    )


def test_an_extension_applies_to_the_round_in_progress() -> None:
    facts = case(
        rounds=ROUND_ONE_DONE, extensions=(Extension(ClockName.INVESTIGATION, 1, sh(11, 2, 12)),)
    )

    first, second = deadline(facts, "investigation"), deadline(facts, "investigation#2")

    assert (first.due_at, second.due_at) == (sh(9, 25, 10), sh(11, 4, 10))


def test_a_pause_moves_a_pausable_hour_clock_by_the_paused_time() -> None:
    policy = with_rule(ClockName.INVESTIGATION, pausable=True)
    facts = case(pauses=(Pause(sh(9, 24, 12), sh(9, 24, 18)),))

    result = deadline(facts, "investigation", policy)

    assert result.due_at == sh(9, 25, 16)


def test_a_pause_moves_a_working_day_clock_by_elapsed_time_not_working_days() -> None:
    policy = with_rule(ClockName.EXECUTION, pausable=True)
    facts = case(pauses=(Pause(sh(10, 8, 9), sh(10, 10, 9)),))

    result = deadline(facts, "execution", policy)

    assert result.due_at == sh(10, 15)


def test_a_pause_is_ignored_when_the_policy_does_not_let_the_clock_pause() -> None:
    facts = case(pauses=(Pause(sh(9, 24, 12), sh(9, 24, 18)),))

    result = deadline(facts, "investigation")

    assert result.due_at == sh(9, 25, 10)


def test_a_pause_still_open_at_as_of_counts_up_to_as_of() -> None:
    policy = with_rule(ClockName.INVESTIGATION, pausable=True)
    facts = case(pauses=(Pause(sh(9, 24, 12), None),))

    result = verdict(facts, "investigation", sh(9, 25, 12), policy)

    assert (result.due_at, result.status) == (sh(9, 26, 10), "pending")


def test_stored_deadlines_count_an_open_pause_only_up_to_the_clocks_stop() -> None:
    policy = with_rule(ClockName.INVESTIGATION, pausable=True)
    running = case(pauses=(Pause(sh(9, 24, 12), None),))
    stopped = case(
        pauses=(Pause(sh(9, 24, 12), None),), rounds=(Round(RECEIVED, findings_at=sh(9, 25, 14)),)
    )

    open_due = deadline(running, "investigation", policy).due_at
    stopped_due = deadline(stopped, "investigation", policy).due_at

    assert (open_due, stopped_due) == (sh(9, 25, 10), sh(9, 26, 12))


def test_a_pause_after_the_clock_stopped_does_not_move_it() -> None:
    policy = with_rule(ClockName.INVESTIGATION, pausable=True)
    facts = case(
        rounds=(Round(RECEIVED, findings_at=sh(9, 24, 20)),),
        pauses=(Pause(sh(9, 25, 8), sh(9, 25, 12)),),
    )

    result = deadline(facts, "investigation", policy)

    assert result.due_at == sh(9, 25, 10)


def test_the_regulatory_clock_never_pauses_even_if_a_policy_says_so() -> None:
    policy = with_rule(ClockName.REGULATORY, pausable=True)
    facts = case(pauses=(Pause(sh(9, 24, 12), sh(9, 28, 12)),))

    result = deadline(facts, "regulatory", policy)

    assert result.due_at == sh(10, 10)


def test_the_intake_record_never_pauses_while_a_pausable_intake_does() -> None:
    policy = with_rule(ClockName.INTAKE, pausable=True)
    facts = case(pauses=(Pause(sh(9, 24, 10, 10), sh(9, 24, 10, 40)),))

    record, intake = deadline(facts, "intake_record", policy), deadline(facts, "intake", policy)

    assert (record.due_at, intake.due_at) == (sh(9, 24, 11), sh(9, 24, 11, 30))


@pytest.mark.parametrize(
    ("as_of", "status", "late"),
    [
        (sh(9, 24, 20), "pending", 0),
        (sh(9, 25, 3, 59), "pending", 0),
        (sh(9, 25, 4), "at_risk", 0),
        (sh(9, 25, 10), "at_risk", 0),
        (sh(9, 25, 10, 0, 1), "overdue", 1),
        (sh(9, 25, 12), "overdue", 7200),
    ],
)
def test_an_open_clock_goes_pending_then_at_risk_then_overdue(
    as_of: datetime, status: str, late: int
) -> None:
    result = verdict(case(), "investigation", as_of)

    assert (result.status, result.late_by_seconds, result.met_at) == (status, late, None)


@pytest.mark.parametrize(
    ("as_of", "status", "late"),
    [
        (sh(9, 25, 11), "overdue", 3600),
        (sh(9, 25, 11, 30), "breached", 5400),
        (LATER, "breached", 5400),
    ],
)
def test_a_completion_after_as_of_is_not_seen_yet(as_of: datetime, status: str, late: int) -> None:
    facts = case(rounds=(Round(RECEIVED, findings_at=sh(9, 25, 11, 30)),))

    result = verdict(facts, "investigation", as_of)

    assert (result.status, result.late_by_seconds) == (status, late)


@pytest.mark.parametrize(
    ("findings_at", "status", "late"),
    [
        (sh(9, 25, 9), "met", 0),
        (sh(9, 25, 10), "met", 0),
        (sh(9, 25, 10) + timedelta(microseconds=500_000), "breached", 1),
    ],
)
def test_a_completion_exactly_at_the_deadline_is_on_time(
    findings_at: datetime, status: str, late: int
) -> None:
    facts = case(rounds=(Round(RECEIVED, findings_at=findings_at),))

    result = verdict(facts, "investigation", LATER)

    assert (result.status, result.late_by_seconds, result.met_at) == (status, late, findings_at)


def test_the_policy_sets_the_at_risk_share() -> None:
    policy = replace(DEFAULT_POLICY, at_risk_share=0.5)

    result = verdict(case(), "investigation", sh(9, 24, 22), policy)

    assert result.status == "at_risk"


@pytest.mark.parametrize(("as_of", "status"), [(sh(10, 8), "pending"), (sh(10, 9), "at_risk")])
def test_at_risk_uses_the_elapsed_share_of_wall_time(as_of: datetime, status: str) -> None:
    result = verdict(case(), "execution", as_of)

    assert result.status == status


@pytest.mark.parametrize(
    ("recorded_at", "status", "late"),
    [
        (sh(9, 24, 10, 30), "met", 0),
        (sh(9, 24, 11), "met", 0),
        (sh(9, 24, 11, 0, 1), "breached", 1),
        (sh(9, 25, 10), "breached", 82800),
    ],
)
def test_the_intake_record_is_late_when_recorded_after_the_intake_limit(
    recorded_at: datetime, status: str, late: int
) -> None:
    result = verdict(case(intake_recorded_at=recorded_at), "intake_record", LATER)

    assert (result.status, result.late_by_seconds) == (status, late)


def test_a_backdated_intake_record_is_overdue_before_it_was_recorded() -> None:
    facts = case(intake_recorded_at=sh(9, 24, 12))

    result = verdict(facts, "intake_record", sh(9, 24, 11, 30))

    assert (result.status, result.late_by_seconds, result.met_at) == ("overdue", 1800, None)


def test_withdrawal_cancels_open_clocks_and_keeps_completed_verdicts() -> None:
    facts = case(
        triaged_at=sh(9, 24, 10, 20),
        rounds=(Round(RECEIVED, findings_at=sh(9, 25, 11)),),
        withdrawn_at=sh(9, 26, 9),
    )

    result = {v.clock: v.status for v in evaluate(facts, DEFAULT_POLICY, CAL, LATER)}

    assert result == {
        "intake_record": "met",
        "intake": "met",
        "investigation": "breached",
        "plan": "cancelled",
        "execution": "cancelled",
        "summary": "cancelled",
        "regulatory": "cancelled",
    }


def test_a_withdrawal_after_as_of_has_not_cancelled_anything_yet() -> None:
    facts = case(withdrawn_at=sh(9, 26, 9))

    result = verdict(facts, "investigation", sh(9, 25, 8))

    assert result.status == "at_risk"


def test_reopening_adds_numbered_clocks_after_the_regulatory_clock() -> None:
    facts = case(triaged_at=sh(9, 24, 10, 30), outcome_at=sh(10, 9, 16), rounds=ROUND_ONE_DONE)

    result = [(v.clock, v.status) for v in evaluate(facts, DEFAULT_POLICY, CAL, sh(11, 2, 12))]

    assert result == [
        ("intake_record", "met"),
        ("intake", "met"),
        ("investigation", "met"),
        ("plan", "met"),
        ("execution", "met"),
        ("summary", "met"),
        ("regulatory", "met"),
        ("investigation#2", "pending"),
        ("plan#2", "pending"),
        ("execution#2", "pending"),
        ("summary#2", "pending"),
    ]


@pytest.mark.parametrize(
    ("clock", "due"),
    [
        ("investigation#2", sh(11, 3, 10)),
        ("plan#2", sh(11, 4, 10)),
        # Monday 2 Nov: Nov 3, 4, 5, 6, 9, 10, 11.
        ("execution#2", sh(11, 12)),
        # ... Nov 12, 13, 16, 17, 18, 19, 20, 23.
        ("summary#2", sh(11, 24)),
    ],
)
def test_a_reopened_round_counts_from_the_reopening(clock: str, due: datetime) -> None:
    result = deadline(case(rounds=ROUND_ONE_DONE), clock)

    assert (result.started_at, result.due_at) == (sh(11, 2, 10), due)


def test_a_third_round_is_numbered_three() -> None:
    facts = case(rounds=(*ROUND_ONE_DONE, Round(sh(12, 1, 10))))

    result = [d.clock for d in deadlines(facts, DEFAULT_POLICY, CAL)][-4:]

    assert result == ["investigation#3", "plan#3", "execution#3", "summary#3"]


def test_a_round_that_starts_after_as_of_is_not_reported() -> None:
    facts = case(rounds=ROUND_ONE_DONE)

    result = [v.clock for v in evaluate(facts, DEFAULT_POLICY, CAL, sh(10, 30))]

    assert "investigation#2" not in result


def test_nothing_is_reported_before_the_complaint_was_received() -> None:
    result = evaluate(case(), DEFAULT_POLICY, CAL, sh(9, 24, 9))

    assert result == []


def test_estimated_deadlines_stay_estimated_in_the_verdict() -> None:
    result = verdict(case(sh(12, 24, 10)), "execution", sh(12, 25, 10))

    assert (result.status, result.estimated) == ("pending", True)


def test_a_verdict_as_dict_has_exactly_the_report_keys_in_utc() -> None:
    facts = case(triaged_at=sh(9, 24, 10, 20))

    result = verdict(facts, "intake", LATER).as_dict()

    assert result == {
        "clock": "intake",
        "due_at": "2026-09-24T03:00:00+00:00",
        "met_at": "2026-09-24T02:20:00+00:00",
        "status": "met",
        "late_by_seconds": 0,
        "late_by_business_seconds": 0,
        "estimated": False,
        "recorded_after_due": False,
    }


def test_status_at_judges_a_stored_deadline() -> None:
    stored = Deadline("plan", sh(9, 24, 10), sh(9, 26, 10), None, None, False)

    result = status_at(stored, sh(9, 26, 0), 0.75)

    assert (result.status, result.met_at) == ("at_risk", None)


@pytest.mark.parametrize(
    ("as_of", "status"),
    [(sh(9, 25, 8), "pending"), (sh(9, 25, 9), "cancelled"), (sh(12, 1), "cancelled")],
)
def test_a_deadline_withdrawn_before_it_was_due_is_cancelled_from_the_withdrawal_on(
    as_of: datetime, status: str
) -> None:
    stored = Deadline("plan", sh(9, 24, 10), sh(9, 26, 10), None, sh(9, 25, 9), False)

    result = status_at(stored, as_of, 0.75)

    assert (result.status, result.late_by_seconds) == (status, 0)


def test_naive_times_are_refused() -> None:
    with pytest.raises(ValueError, match="no time zone"):
        case(received=datetime(2026, 9, 24, 10, 0))


def test_clock_rules_are_reexported_for_callers_of_ledger_sla() -> None:
    result = DEFAULT_POLICY.rule(ClockName.EXECUTION)

    assert result == ClockRule(ClockName.EXECUTION, 7, "working_days", False, (7,))
