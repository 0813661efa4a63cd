"""The clocks under the time rules: merged pauses, withdrawal breaches, new runs after a
re-plan or a reopening, late entries, and when a stored deadline is exact (no database).

Facts are written out with both times: ``f(kind, version, at, recorded)``. The complaint is
received on Thursday 24 September 2026 at 10:00 Shanghai time unless a test says otherwise.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta

import pytest

from ledger.domain.facts import CaseFacts, Correction, Fact
from ledger.domain.policy import DEFAULT_POLICY, Policy
from ledger.domain.sla import Deadline, deadlines, evaluate, status_at
from ledger.domain.values import ClockName
from tests.unit.test_sla import CAL, LATER, RECEIVED, sh, with_rule

PAUSING = with_rule(ClockName.INVESTIGATION, pausable=True)


def f(
    kind: str, version: int, at: datetime, recorded: datetime | None = None, **kw: object
) -> Fact:
    return Fact(kind, version, at, recorded or at, **kw)  # type: ignore[arg-type]


def facts(*later: Fact, corrections: tuple[Correction, ...] = ()) -> CaseFacts:
    return CaseFacts(RECEIVED, (f("received", 1, RECEIVED), *later), corrections)


def clock(
    case: CaseFacts, name: str, policy: Policy = DEFAULT_POLICY, as_of: datetime | None = None
) -> Deadline:
    if as_of is not None:
        raise AssertionError("use verdict() for an as-of judgment")
    return next(d for d in deadlines(case, policy, CAL) if d.clock == name)


def verdict(case: CaseFacts, name: str, as_of: datetime, policy: Policy = DEFAULT_POLICY) -> str:
    return next(v.status for v in evaluate(case, policy, CAL, as_of) if v.clock == name)


def test_overlapping_pauses_move_the_deadline_by_the_time_paused_once() -> None:
    case = facts(
        f("paused", 2, sh(9, 24, 12)),
        f("resumed", 3, sh(9, 26, 12)),  # 48 h
        f("paused", 4, sh(9, 25, 12)),  # inside the first (the old rules accepted it)
        f("resumed", 5, sh(9, 26, 12)),
    )

    result = clock(case, "investigation", PAUSING)

    assert result.due_at == sh(9, 25, 10) + timedelta(hours=48)


@pytest.mark.parametrize(
    ("withdrawn", "as_of", "status", "late"),
    [
        (sh(9, 25, 13), sh(9, 25, 12), "overdue", 7200),  # before the withdrawal
        (sh(9, 25, 13), LATER, "breached", 10800),  # overdue when withdrawn: stays breached
        (sh(9, 25, 9), LATER, "cancelled", 0),  # withdrawn before its deadline
        (sh(9, 25, 9), sh(9, 25, 8), "at_risk", 0),
    ],
)
def test_a_withdrawal_keeps_an_overdue_clock_breached_and_cancels_the_others(
    withdrawn: datetime, as_of: datetime, status: str, late: int
) -> None:
    case = facts(f("withdrawn", 2, withdrawn))

    result = next(
        v for v in evaluate(case, DEFAULT_POLICY, CAL, as_of) if v.clock == "investigation"
    )
    stored = status_at(clock(case, "investigation"), as_of, 0.75)

    assert (result.status, result.late_by_seconds) == (status, late)
    assert (stored.status, stored.late_by_seconds) == (status, late)


def test_a_new_plan_after_the_execution_starts_a_new_execution_run() -> None:
    case = facts(
        f("triaged", 2, sh(9, 24, 10, 30)),
        f("findings", 3, sh(9, 24, 15)),
        f("planned", 4, sh(9, 25, 9)),
        f("executed", 5, sh(9, 28, 9)),
        f("planned", 6, sh(9, 29, 9)),  # a new plan: executed only a month later
        f("executed", 7, sh(10, 30, 9)),
    )

    runs = {d.clock: d for d in deadlines(case, DEFAULT_POLICY, CAL)}

    assert status_at(runs["execution"], LATER, 0.75).status == "met"
    # From Tue 29 Sept: 30 Sept, 8, 9, 10 (make-up), 12, 13, 14 Oct -> end of 14 Oct.
    assert (runs["execution#2"].started_at, runs["execution#2"].due_at) == (
        sh(9, 29, 9),
        sh(10, 15),
    )
    assert status_at(runs["execution#2"], LATER, 0.75).status == "breached"
    assert "plan#2" not in runs


def test_a_reopening_that_restarts_intake_and_regulatory_adds_their_runs() -> None:
    restarts = frozenset({ClockName.INTAKE, ClockName.REGULATORY})
    case = facts(
        f("triaged", 2, sh(9, 24, 10, 30)),
        f("outcome", 3, sh(9, 30, 9)),
        f("reopened", 4, sh(11, 2, 10), restarts=restarts),
        f("triaged", 5, sh(11, 2, 12)),  # two hours for a one-hour intake
    )

    result = [(v.clock, v.status) for v in evaluate(case, DEFAULT_POLICY, CAL, sh(11, 3, 9))]

    assert result[7:] == [
        ("intake#2", "breached"),
        ("investigation#2", "at_risk"),
        ("plan#2", "pending"),
        ("execution#2", "pending"),
        ("summary#2", "pending"),
        ("regulatory#2", "pending"),
    ]
    assert ("regulatory", "met") in result


def test_a_reopening_recorded_before_restarts_existed_keeps_the_old_clocks() -> None:
    case = facts(f("triaged", 2, sh(9, 24, 10, 30)), f("reopened", 3, sh(11, 2, 10)))

    names = [d.clock for d in deadlines(case, DEFAULT_POLICY, CAL)]

    assert "intake#2" not in names
    assert "regulatory#2" not in names


def test_a_clock_met_by_an_action_recorded_after_its_deadline_is_a_late_entry() -> None:
    case = facts(f("findings", 2, sh(9, 25, 9), recorded=sh(9, 25, 11)))

    result = next(
        v for v in evaluate(case, DEFAULT_POLICY, CAL, LATER) if v.clock == "investigation"
    )

    assert (result.status, result.recorded_after_due) == ("met", True)


def test_a_clock_met_on_time_and_recorded_on_time_is_no_late_entry() -> None:
    case = facts(f("findings", 2, sh(9, 25, 9), recorded=sh(9, 25, 9, 30)))

    assert clock(case, "investigation").recorded_after_due is False


def test_an_extension_recorded_after_the_deadline_it_extends_makes_a_late_entry() -> None:
    case = facts(
        f("extended", 2, sh(9, 25, 9), recorded=sh(9, 25, 11), clock=ClockName.INVESTIGATION,
          days=1),
        f("findings", 3, sh(9, 25, 15), recorded=sh(9, 25, 15)),
    )  # fmt: skip

    result = clock(case, "investigation")

    assert (result.due_at, result.recorded_after_due) == (sh(9, 26, 10), True)


def test_a_second_extension_recorded_before_the_first_one_lapses_is_no_late_entry() -> None:
    investigation = {"clock": ClockName.INVESTIGATION, "days": 1}
    policy = with_rule(ClockName.INVESTIGATION, extension_steps=(1, 1))
    case = facts(
        f("extended", 2, sh(9, 25, 9), **investigation),
        # After the first deadline (25th 10:00) but before the extended one (26th 10:00).
        f("extended", 3, sh(9, 25, 12), **investigation),
        f("findings", 4, sh(9, 26, 15)),
    )

    result = clock(case, "investigation", policy)

    assert (result.due_at, result.recorded_after_due) == (sh(9, 27, 10), False)


def test_a_stored_deadline_is_exact_from_its_last_extension_on() -> None:
    case = facts(f("extended", 2, sh(9, 25, 9), clock=ClockName.INVESTIGATION, days=1))
    stored = clock(case, "investigation")

    def both(as_of: datetime) -> tuple[str, str]:
        return status_at(stored, as_of, 0.75).status, verdict(case, "investigation", as_of)

    assert stored.fixed_from == sh(9, 25, 9)
    # Before the extension was dated, the stored (extended) deadline says too little.
    assert both(sh(9, 25, 8)) == ("pending", "at_risk")
    assert both(sh(9, 25, 9)) == ("pending", "pending")
    assert both(sh(9, 26, 9)) == ("at_risk", "at_risk")


def test_a_pause_still_open_on_a_running_clock_leaves_its_stored_deadline_never_exact() -> None:
    case = facts(f("paused", 2, sh(9, 24, 12)))

    assert clock(case, "investigation", PAUSING).fixed_from is None
    # As of a moment in the pause, the clock stands still: due 25th 10:00 + 22 h.
    result = next(
        v for v in evaluate(case, PAUSING, CAL, sh(9, 25, 10)) if v.clock == "investigation"
    )
    assert (result.due_at, result.status) == (sh(9, 26, 8), "pending")


def test_corrections_apply_to_the_fact_they_name() -> None:
    case = facts(
        f("findings", 2, sh(9, 25, 12)),
        corrections=(Correction(3, 2, sh(9, 25, 9)),),
    )

    assert clock(case, "investigation").met_at == sh(9, 25, 9)
    assert case.corrected(0).facts[1].at == sh(9, 25, 12)


def test_known_at_keeps_what_had_been_recorded_by_then() -> None:
    case = facts(f("findings", 2, sh(9, 25, 9), recorded=sh(9, 25, 11)))

    earlier = case.known_at(sh(9, 25, 10))

    assert [x.kind for x in earlier.facts] == ["received"]
    assert verdict(earlier, "investigation", sh(9, 25, 10, 30)) == "overdue"
    assert verdict(case, "investigation", sh(9, 25, 10, 30)) == "met"


def test_an_extension_applies_to_the_execution_run_in_progress_when_it_was_dated() -> None:
    case = facts(
        f("triaged", 2, sh(9, 24, 10, 30)),
        f("findings", 3, sh(9, 24, 15)),
        f("planned", 4, sh(9, 25, 9)),
        f("executed", 5, sh(9, 28, 9)),
        f("planned", 6, sh(9, 29, 9)),
        f("extended", 7, sh(9, 30, 9), clock=ClockName.EXECUTION, days=7),
    )

    runs = {d.clock: d for d in deadlines(case, replace(DEFAULT_POLICY), CAL)}

    assert runs["execution"].due_at == sh(10, 13)
    assert runs["execution#2"].due_at == sh(10, 24)  # 7 more working days after 14 Oct
