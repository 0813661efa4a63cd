"""Hour clocks that count business hours: deadlines, pauses, extensions, at-risk, lateness.

The policy is docs/policy-business-hours.toml: intake, investigation and plan follow the
office's hours, 09:00-12:00 and 13:30-18:00 on the working days of the 2026 calendar (7.5
hours a day). Expected instants are counted by hand and written out literally; the first two
tests are the worked examples of docs/sla.md.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from ledger.domain.calendar import WorkCalendar, package_year
from ledger.domain.facts import CaseFacts
from ledger.domain.policy import Policy, parse_policy
from ledger.domain.sla import Deadline, Verdict, deadlines, evaluate, status_at
from ledger.domain.values import ClockName
from tests.unit.test_sla import CAL, LATER, Extension, Pause, Round, case, sh

BUSINESS = parse_policy(
    (Path(__file__).parents[2] / "docs" / "policy-business-hours.toml").read_text("utf-8"), "toml"
)
FRIDAY_NIGHT = sh(11, 27, 22)
MONDAY = sh(11, 30, 9)


def pausable(*clocks: ClockName) -> Policy:
    rules = tuple(replace(r, pausable=r.clock in clocks) for r in BUSINESS.rules)
    return replace(BUSINESS, rules=rules)


def due(
    facts: CaseFacts, clock: str, policy: Policy = BUSINESS, cal: WorkCalendar = CAL
) -> Deadline:
    return next(d for d in deadlines(facts, policy, cal) if d.clock == clock)


def judged(facts: CaseFacts, clock: str, as_of: datetime, policy: Policy = BUSINESS) -> Verdict:
    return next(v for v in evaluate(facts, policy, CAL, as_of) if v.clock == clock)


@pytest.mark.parametrize(
    ("clock", "expected"),
    [
        ("intake_record", sh(11, 30, 10)),  # closed until Monday 09:00, then 1 h
        ("intake", sh(11, 30, 10)),
        ("investigation", sh(12, 3, 10, 30)),  # Mon, Tue, Wed 7.5 h each, 1.5 h on Thursday
        ("plan", sh(12, 8, 12)),  # six whole days (45 h), then 09:00-12:00: lunch closing
        ("execution", sh(12, 9)),  # working days as before: 7 after Friday, end of Tue 8 Dec
        ("regulatory", sh(12, 13)),  # calendar days as before
    ],
)
def test_a_friday_evening_receipt_is_due_in_the_offices_hours(
    clock: str, expected: datetime
) -> None:
    facts = case(FRIDAY_NIGHT)

    found = due(facts, clock)

    assert (found.due_at, found.estimated) == (expected, False)


@pytest.mark.parametrize(
    ("clock", "expected"),
    [
        ("intake", sh(9, 30, 18)),  # 17:00-18:00: due exactly at closing
        ("investigation", sh(10, 12, 9, 30)),  # 1 h; 1-7 Oct closed; 8, 9, Sat 10 Oct; 30 min
        ("plan", sh(10, 15, 11)),  # to Sat 10 Oct 23.5 h, Mon-Wed 46 h, then 2 h on Thursday
    ],
)
def test_the_eve_of_national_day_skips_the_holiday_and_counts_the_make_up_saturday(
    clock: str, expected: datetime
) -> None:
    facts = case(sh(9, 30, 17))

    assert due(facts, clock).due_at == expected


def test_a_clock_without_a_schedule_counts_the_wall_clock_beside_business_hours_clocks() -> None:
    policy = replace(
        BUSINESS,
        rules=tuple(
            replace(r, schedule=None) if r.clock == ClockName.PLAN else r for r in BUSINESS.rules
        ),
    )

    found = due(case(FRIDAY_NIGHT), "plan", policy)

    assert found.due_at == sh(11, 29, 22)
    assert found.risk_at is None  # judged by the elapsed share, as before schedules


def test_at_risk_is_three_quarters_of_the_business_time_not_of_the_night() -> None:
    facts = case(FRIDAY_NIGHT)

    moments = (sh(11, 30, 9), sh(11, 30, 9, 44, 59), sh(11, 30, 9, 45), sh(11, 30, 10))
    statuses = [judged(facts, "intake", at).status for at in moments]

    # By the wall clock Monday 09:00 is 11 of 12 hours (92 %): at risk. By business time, 0 %.
    assert statuses == ["pending", "pending", "at_risk", "at_risk"]


def test_lateness_is_given_in_wall_clock_and_in_business_seconds() -> None:
    late = case(FRIDAY_NIGHT, triaged_at=sh(12, 1, 9, 30))

    done = judged(late, "intake", LATER)
    open_ = judged(case(FRIDAY_NIGHT), "intake", sh(11, 30, 19))

    # Due Mon 10:00. Done Tue 09:30: 23.5 h later, of which 2 + 4.5 + 0.5 = 7 h open.
    assert (done.status, done.late_by_seconds, done.late_by_business_seconds) == (
        "breached", 84600, 25200,
    )  # fmt: skip
    # As of Mon 19:00: 9 h overdue, 6.5 of them open.
    assert (open_.status, open_.late_by_seconds, open_.late_business) == ("overdue", 32400, 23400)
    assert due(late, "intake").late_business_seconds == 25200


def test_a_stage_done_after_closing_is_breached_by_no_business_time() -> None:
    facts = case(sh(9, 30, 17), triaged_at=sh(9, 30, 19))

    found = judged(facts, "intake", LATER)

    assert (found.status, found.late_by_seconds, found.late_business) == ("breached", 3600, 0)


def test_a_withdrawal_after_the_deadline_keeps_the_breach_with_its_business_lateness() -> None:
    facts = case(FRIDAY_NIGHT, withdrawn_at=sh(11, 30, 14))

    found = judged(facts, "intake", LATER)

    # Due 10:00, withdrawn 14:00: 4 h, of which 10-12 and 13:30-14 are open (2.5 h).
    assert (found.status, found.late_by_seconds, found.late_business) == ("breached", 14400, 9000)


def test_a_wall_clocks_business_lateness_is_its_lateness() -> None:
    facts = case(FRIDAY_NIGHT, rounds=(Round(FRIDAY_NIGHT, closed_at=sh(12, 30, 10)),))

    found = judged(facts, "summary", LATER)

    assert found.status == "breached"
    assert found.late_business == found.late_by_seconds > 0


@pytest.mark.parametrize(
    ("pause", "expected"),
    [
        (Pause(sh(11, 30, 12), sh(11, 30, 13, 30)), sh(12, 3, 10, 30)),  # over lunch: nothing
        (Pause(sh(11, 30, 19), sh(12, 1, 8)), sh(12, 3, 10, 30)),  # overnight: nothing
        (Pause(sh(11, 30, 17), sh(12, 1, 10)), sh(12, 3, 14)),  # 1 h + 1 h open
        (Pause(sh(11, 28, 10), sh(11, 30, 9, 30)), sh(12, 3, 11)),  # a weekend, then 30 min
    ],
)
def test_a_pause_moves_a_business_hours_deadline_by_the_open_time_paused(
    pause: Pause, expected: datetime
) -> None:
    facts = case(MONDAY, pauses=(pause,))

    assert due(facts, "investigation", pausable(ClockName.INVESTIGATION)).due_at == expected


def test_a_pause_open_at_the_as_of_moment_counts_open_time_up_to_it() -> None:
    facts = case(MONDAY, pauses=(Pause(sh(11, 30, 9, 30), None),))
    policy = pausable(ClockName.INTAKE)

    found = judged(facts, "intake", sh(11, 30, 19), policy)

    # Paused from 09:30; by 19:00, 2.5 + 4.5 h open: due 10:00 + 7 h open = Tue 1 Dec 09:30.
    # Of the 8 open hours from the start to that deadline, 6 had passed: at risk, as a wall
    # clock standing still in a pause is.
    assert (found.status, found.due_at) == ("at_risk", sh(12, 1, 9, 30))


def test_an_extension_day_adds_24_business_hours() -> None:
    facts = case(MONDAY, extensions=(Extension(ClockName.INVESTIGATION, 1, sh(12, 1, 10)),))

    found = due(facts, "investigation")

    # Thu 3 Dec 10:30 + 24 h open: 6 h Thu, 7.5 Fri, 7.5 Mon 7 Dec, 3 h Tue -> 12:00 (closing).
    assert found.due_at == sh(12, 8, 12)


def test_a_reopened_case_counts_its_new_round_in_business_hours() -> None:
    facts = case(
        FRIDAY_NIGHT,
        triaged_at=sh(11, 30, 9, 30),
        rounds=(
            Round(FRIDAY_NIGHT, sh(12, 1, 9), sh(12, 1, 10), sh(12, 1, 11), sh(12, 2, 9)),
            Round(sh(12, 4, 17, 30)),
        ),
    )

    found = due(facts, "investigation#2")

    # Reopened Friday 17:30: 30 min that day, 7.5 h on Mon 7, Tue 8 and Wed 9 December, then
    # 1 h on Thursday.
    assert found.due_at == sh(12, 10, 10)


def test_a_business_hours_deadline_in_an_unpublished_year_is_estimated() -> None:
    only_2026 = WorkCalendar({2026: package_year(2026)})
    facts = case(sh(12, 31, 17))

    intake = due(facts, "intake", cal=only_2026)
    investigation = due(facts, "investigation", cal=only_2026)

    assert (intake.due_at, intake.estimated) == (sh(12, 31, 18), False)
    assert investigation.estimated


def test_a_stored_business_deadline_judges_as_evaluate_does_from_fixed_from() -> None:
    facts = case(MONDAY, pauses=(Pause(sh(11, 30, 17), sh(12, 1, 10)),))
    policy = pausable(ClockName.INVESTIGATION)
    stored = due(facts, "investigation", policy)
    assert stored.fixed_from is not None

    moments = [stored.fixed_from, sh(12, 2, 9), sh(12, 2, 17), sh(12, 3, 9), sh(12, 3, 14),
               sh(12, 3, 14, 0, 1), LATER]  # fmt: skip

    for at in moments:
        found: Any = judged(facts, "investigation", at, policy)
        assert status_at(stored, at, policy.at_risk_share) == found, at
