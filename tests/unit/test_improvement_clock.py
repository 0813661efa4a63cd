"""The clock of an improvement measure (溯源整改, issue 15): due when promised, met when done by
then, breached when done late, overdue while open past due, and held to the time rule."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from ledger.domain.calendar import WorkCalendar, package_year
from ledger.domain.errors import OccurredTooEarly
from ledger.domain.facts import CaseFacts, Fact
from ledger.domain.sla import DEFAULT_POLICY, deadlines, evaluate
from ledger.domain.timerule import check_new

SH = ZoneInfo("Asia/Shanghai")
CAL = WorkCalendar({2026: package_year(2026)})
RECEIVED = datetime(2026, 9, 24, 10, 0, tzinfo=SH)
DUE = datetime(2026, 10, 10, 0, 0, tzinfo=SH)  # the end of 9 October


def day(n: int, hour: int = 12) -> datetime:
    return datetime(2026, 10, n, hour, tzinfo=SH)


def added(version: int, item: str, at: datetime, due: datetime = DUE) -> Fact:
    return Fact("improvement", version, at, item=item, due=due)


def done(version: int, item: str, at: datetime, recorded: datetime | None = None) -> Fact:
    return Fact("improved", version, at, recorded, item=item)


def case(*facts: Fact) -> CaseFacts:
    return CaseFacts(RECEIVED, (Fact("received", 1, RECEIVED), *facts))


def verdict(facts: CaseFacts, as_of: datetime, clock: str = "improvement:1") -> tuple[str, int]:
    found = {v.clock: v for v in evaluate(facts, DEFAULT_POLICY, CAL, as_of)}
    return found[clock].status, found[clock].late_by_seconds


@pytest.mark.parametrize(
    ("as_of", "expected"),
    [
        (day(2), "pending"),  # a day of 8 used
        (day(8), "at_risk"),  # past the policy's at-risk share (75 %)
        (day(10, 1), "overdue"),
    ],
)
def test_an_open_measure_is_pending_then_at_risk_then_overdue(
    as_of: datetime, expected: str
) -> None:
    assert verdict(case(added(2, "1", day(1))), as_of)[0] == expected


def test_done_by_its_due_time_is_met_and_done_later_is_breached_by_the_time_late() -> None:
    facts = case(
        added(2, "1", day(1)), added(3, "2", day(1)), done(4, "1", day(9)), done(5, "2", day(11))
    )

    assert verdict(facts, day(20)) == ("met", 0)
    assert verdict(facts, day(20), "improvement:2") == ("breached", 36 * 3600)
    assert verdict(facts, day(10, 6), "improvement:2") == ("overdue", 6 * 3600)  # not yet done


def test_it_is_not_listed_before_it_was_added_and_it_follows_the_plan_clocks() -> None:
    facts = case(added(2, "1", day(5)))

    assert "improvement:1" not in {v.clock for v in evaluate(facts, DEFAULT_POLICY, CAL, day(4))}
    clocks = [d.clock for d in deadlines(facts, DEFAULT_POLICY, CAL)]
    assert clocks[-1] == "improvement:1"
    assert clocks[0] == "intake_record"


def test_a_withdrawal_before_its_due_time_cancels_it_and_one_after_leaves_it_breached() -> None:
    early = case(added(2, "1", day(1)), Fact("withdrawn", 3, day(3)))
    late = case(added(2, "1", day(1)), Fact("withdrawn", 3, day(12)))

    assert verdict(early, day(20))[0] == "cancelled"
    assert verdict(late, day(20)) == ("breached", 60 * 3600)


def test_done_on_time_but_recorded_after_the_due_time_is_a_late_entry() -> None:
    facts = case(added(2, "1", day(1)), done(3, "1", day(9), recorded=day(12)))

    verdicts = evaluate(facts, DEFAULT_POLICY, CAL, day(20))
    [found] = [v for v in verdicts if v.clock == "improvement:1"]
    assert (found.status, found.recorded_after_due) == ("met", True)
    stored = next(d for d in deadlines(facts, DEFAULT_POLICY, CAL) if d.clock == "improvement:1")
    assert stored.fixed_from == day(1)  # nothing moves its deadline: exact from its start


def test_a_measure_cannot_be_done_before_it_was_added_but_another_measure_does_not_bound_it() -> (
    None
):
    facts = [Fact("received", 1, RECEIVED), added(2, "1", day(1)), added(3, "2", day(5))]

    with pytest.raises(OccurredTooEarly, match="before the improvement at"):
        check_new(RECEIVED, facts, done(4, "2", day(3)))
    check_new(RECEIVED, facts, done(4, "1", day(3)))  # the other measure's later start is no bound


def test_a_closed_case_takes_measures_dated_after_its_closure_only() -> None:
    closed = [Fact("received", 1, RECEIVED), Fact("closed", 2, day(2))]

    check_new(RECEIVED, closed, added(3, "1", day(3)))
    with pytest.raises(OccurredTooEarly, match="the closure"):
        check_new(RECEIVED, closed, added(3, "1", day(1)))
    # A closure need not follow a measure: they belong after the finding.
    check_new(RECEIVED, [*closed[:1], added(2, "1", day(3))], Fact("closed", 3, day(2)))


def test_the_due_time_is_kept_in_the_facts_as_given() -> None:
    facts = case(added(2, "1", day(1), due=day(1) + timedelta(hours=5)))

    [stored] = [d for d in deadlines(facts, DEFAULT_POLICY, CAL) if d.clock == "improvement:1"]
    assert stored.due_at == day(1, 17)
