"""The acknowledgement clock (issue 15): when it runs, how long, and what a policy without it
gets."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from ledger.domain.calendar import WorkCalendar, package_year
from ledger.domain.facts import CaseFacts, Fact
from ledger.domain.policy import DEFAULT_POLICY, parse_policy, policy_from_dict, policy_to_dict
from ledger.domain.sla import deadlines, evaluate
from ledger.domain.values import ClockName

SH = ZoneInfo("Asia/Shanghai")
CAL = WorkCalendar({2026: package_year(2026)})
RECEIVED = datetime(2026, 9, 24, 10, 0, tzinfo=SH)


def at(hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 9, 24, hour, minute, tzinfo=SH)


def case(*facts: tuple[str, datetime]) -> CaseFacts:
    return CaseFacts(
        RECEIVED,
        (Fact("received", 1, RECEIVED),
         *(Fact(kind, n, moment) for n, (kind, moment) in enumerate(facts, start=2))),
    )  # fmt: skip


def acknowledgement(facts: CaseFacts) -> list[tuple[str, datetime, datetime | None]]:
    return [
        (d.clock, d.due_at.astimezone(SH), None if d.met_at is None else d.met_at.astimezone(SH))
        for d in deadlines(facts, DEFAULT_POLICY, CAL)
        if d.clock.startswith("acknowledgement")
    ]


def test_an_escalation_that_names_no_one_starts_no_clock() -> None:
    assert acknowledgement(case(("triaged", at(10, 30)), ("escalated", at(10, 30)))) == []


def test_it_runs_an_hour_from_the_addressed_escalation_to_the_acknowledgement() -> None:
    facts = case(("escalated", at(11)), ("addressed", at(11)), ("acknowledged", at(11, 40)))

    assert acknowledgement(facts) == [("acknowledgement", at(12), at(11, 40))]


def test_one_wait_at_a_time_and_a_new_run_after_the_acknowledgement() -> None:
    facts = case(
        ("addressed", at(11)),
        ("addressed", at(11, 30)),  # still waiting: no second run
        ("acknowledged", at(12, 30)),  # 30 minutes late
        ("addressed", at(14)),
    )

    assert acknowledgement(facts) == [
        ("acknowledgement", at(12), at(12, 30)),
        ("acknowledgement#2", at(15), None),
    ]
    verdicts = {v.clock: v for v in evaluate(facts, DEFAULT_POLICY, CAL, at(16))}
    assert verdicts["acknowledgement"].status == "breached"
    assert verdicts["acknowledgement"].late_by_seconds == 30 * 60
    assert verdicts["acknowledgement#2"].status == "overdue"


def test_a_policy_without_the_clock_gets_an_hour_counted_like_intake() -> None:
    stored = policy_to_dict(DEFAULT_POLICY)
    del stored["clocks"]["acknowledgement"]  # as stored before the clock existed

    policy = policy_from_dict(stored)

    assert policy == DEFAULT_POLICY
    rule = policy.rule(ClockName.ACKNOWLEDGEMENT)
    assert (rule.limit, rule.unit, rule.schedule) == (1, "hours", None)


def test_a_policy_may_set_its_own_limit() -> None:
    text = "\n".join(
        ['version = "ack-2"']
        + [f'[clocks.{c}]\nlimit = 2\nunit = "hours"' for c in ClockName]
    )  # fmt: skip
    policy = parse_policy(text, "toml")

    assert policy.rule(ClockName.ACKNOWLEDGEMENT).limit == 2
