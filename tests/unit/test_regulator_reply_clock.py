"""The regulator-reply clock (issue 15, item 4): referrals only, 15 calendar days, a late reply
stays breached, and what a policy without it gets."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from ledger.domain.calendar import WorkCalendar, package_year
from ledger.domain.errors import PolicyInvalid
from ledger.domain.facts import CaseFacts, Fact
from ledger.domain.policy import DEFAULT_POLICY, parse_policy, policy_from_dict, policy_to_dict
from ledger.domain.sla import deadlines, evaluate
from ledger.domain.values import ClockName

SH = ZoneInfo("Asia/Shanghai")
CAL = WorkCalendar({2026: package_year(2026)})
RECEIVED = datetime(2026, 9, 24, 10, 0, tzinfo=SH)
DUE = datetime(2026, 10, 10, 0, 0, tzinfo=SH)  # the end of the 15th day after the 24th


def day(d: int, month: int = 10, hour: int = 9) -> datetime:
    return datetime(2026, month, d, hour, 0, tzinfo=SH)


def case(*facts: tuple[str, datetime], referral: bool = True) -> CaseFacts:
    first = [Fact("received", 1, RECEIVED)]
    if referral:
        first.append(Fact("referred", 1, RECEIVED))
    later = (Fact(kind, n, moment) for n, (kind, moment) in enumerate(facts, start=2))
    return CaseFacts(RECEIVED, (*first, *later))


def reply(facts: CaseFacts) -> list[tuple[str, datetime, datetime | None]]:
    return [
        (d.clock, d.due_at.astimezone(SH), None if d.met_at is None else d.met_at.astimezone(SH))
        for d in deadlines(facts, DEFAULT_POLICY, CAL)
        if d.clock.startswith("regulator_reply")
    ]


def test_a_complaint_that_is_no_referral_has_no_reply_clock() -> None:
    assert reply(case(("replied", day(1)), referral=False)) == []


def test_it_runs_15_calendar_days_from_receipt_to_the_first_reply() -> None:
    facts = case(("replied", day(8)), ("replied", day(20)))  # a supplement stops nothing

    assert reply(facts) == [("regulator_reply", DUE, day(8))]
    verdict = {v.clock: v for v in evaluate(facts, DEFAULT_POLICY, CAL, day(30))}
    assert verdict["regulator_reply"].status == "met"


def test_a_late_reply_stays_breached_and_no_reply_is_overdue() -> None:
    late = {v.clock: v for v in evaluate(case(("replied", day(12))), DEFAULT_POLICY, CAL, day(30))}
    none = {v.clock: v for v in evaluate(case(), DEFAULT_POLICY, CAL, day(30))}

    assert late["regulator_reply"].status == "breached"
    assert late["regulator_reply"].late_by_seconds == 2 * 86400 + 9 * 3600
    assert none["regulator_reply"].status == "overdue"


def test_a_reopening_does_not_start_it_again() -> None:
    facts = case(("replied", day(8)), ("closed", day(9)), ("reopened", day(12)))

    assert [c for c, _, _ in reply(facts)] == ["regulator_reply"]


def test_a_policy_without_the_clock_gets_15_calendar_days() -> None:
    stored = policy_to_dict(DEFAULT_POLICY)
    del stored["clocks"]["regulator_reply"]  # as stored before the clock existed
    del stored["clocks"]["acknowledgement"]

    policy = policy_from_dict(stored)

    assert policy == DEFAULT_POLICY
    rule = policy.rule(ClockName.REGULATOR_REPLY)
    assert (rule.limit, rule.unit, rule.pausable, rule.extension_steps) == (15, "days", False, ())


def test_a_policy_may_set_its_own_limit_but_never_a_pause() -> None:
    clocks = [f'[clocks.{c}]\nlimit = 2\nunit = "days"' for c in ClockName]
    policy = parse_policy("\n".join(['version = "reply-2"', *clocks]), "toml")
    paused = "\n".join(['version = "reply-3"', *clocks, "pausable = true"])

    assert policy.rule(ClockName.REGULATOR_REPLY).limit == 2
    with pytest.raises(PolicyInvalid, match="regulator_reply clock never pauses"):
        parse_policy(paused, "toml")
