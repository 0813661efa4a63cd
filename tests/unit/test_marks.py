"""Publications as of a moment, and the marks of verdicts a correction or a republication
changed (no database)."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime

from ledger.domain.calendar import company_year, package_year
from ledger.domain.facts import Correction
from ledger.domain.marks import clock_changes
from ledger.domain.policy import DEFAULT_POLICY
from ledger.domain.rulebook import Publication, Rulebook
from ledger.domain.values import ClockName
from tests.unit.test_sla import sh, with_rule
from tests.unit.test_sla_time import f, facts

RELAXED = replace(with_rule(ClockName.INTAKE, limit=3), version="relaxed-1")


def policy(recorded: datetime, effective: datetime, version: int = 2) -> Publication:
    return Publication(recorded, f"@policies v{version}", RELAXED, effective)


def test_a_policy_published_later_with_an_earlier_effective_time_covers_earlier_receipts() -> None:
    book = Rulebook([policy(sh(10, 1), effective=sh(9, 1))])

    assert book.policy_for(sh(9, 24, 10)) is RELAXED
    assert book.policy_for(sh(8, 31)) is DEFAULT_POLICY
    assert book.known_at(sh(9, 30)).policy_for(sh(9, 24, 10)) is DEFAULT_POLICY


def test_the_latest_calendar_of_a_year_wins_and_known_at_forgets_later_ones() -> None:
    first = Publication(sh(1, 1), "@calendars v2", calendar=package_year(2026))
    company = company_year(package_year(2026), [date(2026, 9, 29)], [], "acme")
    second = Publication(sh(10, 1), "@calendars v3", calendar=company)

    book = Rulebook([second, first])

    assert book.calendar.years[2026] is company
    assert book.known_at(sh(9, 30)).calendar.years[2026] is first.calendar


def test_a_correction_that_turns_a_breach_into_met_is_marked_before_and_after() -> None:
    case = facts(
        f("triaged", 2, sh(9, 24, 12)),
        corrections=(Correction(3, 2, sh(9, 24, 10, 30), sh(9, 30)),),
    )

    marks = clock_changes("TS-1", case, Rulebook())

    assert marks == {
        "intake": [
            {
                "cause": "correction",
                "event": "TS-1 v3",
                "recorded_at": "2026-09-29T16:00:00+00:00",
                "before": {"status": "breached", "due_at": "2026-09-24T03:00:00+00:00",
                           "late_by_seconds": 3600},
                "after": {"status": "met", "due_at": "2026-09-24T03:00:00+00:00",
                          "late_by_seconds": 0},
            }
        ]
    }  # fmt: skip


def test_a_policy_published_after_a_clock_finished_that_changes_it_is_marked() -> None:
    # Triaged 2 h after receipt (breached under the 1-hour intake), recorded on time;
    # a policy with a 3-hour intake is published afterwards, effective from before receipt.
    case = facts(f("triaged", 2, sh(9, 24, 12)))
    book = Rulebook([policy(sh(10, 1), effective=sh(9, 1))])

    marks = clock_changes("TS-1", case, book)

    assert [(m["cause"], m["event"], m["before"]["status"], m["after"]["status"])
            for m in marks["intake"]] == [
        ("republication", "@policies v2", "breached", "met")
    ]  # fmt: skip
    assert "investigation" not in marks  # still open: nothing final to compare


def test_a_publication_known_before_the_clock_finished_marks_nothing() -> None:
    case = facts(f("triaged", 2, sh(9, 24, 12)))
    book = Rulebook([policy(sh(9, 1), effective=sh(9, 1))])

    assert clock_changes("TS-1", case, book) == {}


def test_a_republished_calendar_that_moves_a_finished_deadline_is_marked() -> None:
    # Executed on 13 Oct at 09:00: late by the package's calendar (due at the end of 12 Oct),
    # on time once a company day off on 29 Sept moves the deadline to the end of 13 Oct.
    case = facts(
        f("triaged", 2, sh(9, 24, 10, 30)),
        f("findings", 3, sh(9, 24, 15)),
        f("planned", 4, sh(9, 25, 9)),
        f("executed", 5, sh(10, 13, 9)),
    )
    company = company_year(package_year(2026), [date(2026, 9, 29)], [], "acme")
    book = Rulebook(
        [
            Publication(sh(1, 1), "@calendars v2", calendar=package_year(2026)),
            Publication(sh(10, 20), "@calendars v3", calendar=company),
        ]
    )

    marks = clock_changes("TS-1", case, book)["execution"]

    assert [(m["event"], m["before"]["status"], m["after"]["status"]) for m in marks] == [
        ("@calendars v3", "breached", "met")
    ]
    assert (marks[0]["before"]["due_at"], marks[0]["after"]["due_at"]) == (
        "2026-10-12T16:00:00+00:00",
        "2026-10-13T16:00:00+00:00",
    )
