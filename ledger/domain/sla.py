"""Deadlines and verdicts of a complaint's clocks: a pure function of its facts.

``deadlines`` is what a read model stores; ``status_at`` judges one deadline at an instant;
``evaluate`` does both for an as-of report. Nothing here reads a clock or a database, so any
verdict can be re-derived later from the same facts, policy and calendar. The rules are
explained for supervisors and auditors in ``docs/sla.md``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from ledger.domain.calendar import WorkCalendar
from ledger.domain.policy import (
    DEFAULT_POLICY,
    NEVER_PAUSED,
    ClockRule,
    Policy,
    Unit,
    check_extension,
    parse_policy,
    policy_from_dict,
    policy_to_dict,
)
from ledger.domain.values import ClockName

__all__ = [
    "DEFAULT_POLICY",
    "INTAKE_RECORD",
    "CaseFacts",
    "ClockRule",
    "Deadline",
    "Extension",
    "Pause",
    "Policy",
    "Round",
    "Unit",
    "Verdict",
    "check_extension",
    "deadlines",
    "evaluate",
    "parse_policy",
    "policy_from_dict",
    "policy_to_dict",
    "status_at",
]

INTAKE_RECORD = "intake_record"

_STOPPED_BY = {
    ClockName.INVESTIGATION: "findings_at",
    ClockName.PLAN: "planned_at",
    ClockName.EXECUTION: "executed_at",
    ClockName.SUMMARY: "closed_at",
}
ROUND_CLOCKS = tuple(_STOPPED_BY)


def _aware(moment: datetime | None, what: str) -> None:
    if moment is not None and moment.tzinfo is None:
        raise ValueError(
            f"{what} {moment.isoformat()} has no time zone; the ledger needs aware times"
        )


def _upto(moment: datetime | None, t: datetime) -> datetime | None:
    return moment if moment is not None and moment <= t else None


@dataclass(frozen=True)
class Pause:
    """The case waited on the customer from ``start`` until ``end`` (``None``: still waiting)."""

    start: datetime
    end: datetime | None


@dataclass(frozen=True)
class Extension:
    """A granted ``DeadlineExtended``: ``days`` more for ``clock``, decided at ``at``."""

    clock: ClockName
    days: int
    at: datetime


@dataclass(frozen=True)
class Round:
    """One pass through the stages: round 1 starts at receipt, each later one at a reopening."""

    started_at: datetime
    findings_at: datetime | None = None
    planned_at: datetime | None = None
    executed_at: datetime | None = None
    closed_at: datetime | None = None

    def stop(self, clock: ClockName) -> datetime | None:
        stopped_at: datetime | None = getattr(self, _STOPPED_BY[clock])
        return stopped_at

    def upto(self, t: datetime) -> Round:
        return Round(
            self.started_at,
            _upto(self.findings_at, t),
            _upto(self.planned_at, t),
            _upto(self.executed_at, t),
            _upto(self.closed_at, t),
        )


@dataclass(frozen=True)
class CaseFacts:
    """What happened to one complaint, by ``occurred_at`` (the intake record by store time)."""

    received_at: datetime
    intake_recorded_at: datetime
    triaged_at: datetime | None
    outcome_at: datetime | None
    withdrawn_at: datetime | None
    rounds: tuple[Round, ...]
    extensions: tuple[Extension, ...] = ()
    pauses: tuple[Pause, ...] = ()

    def __post_init__(self) -> None:
        for name in ("received_at", "intake_recorded_at", "triaged_at", "outcome_at"):
            _aware(getattr(self, name), name)
        _aware(self.withdrawn_at, "withdrawn_at")
        for r in self.rounds:
            for moment in (r.started_at, r.findings_at, r.planned_at, r.executed_at, r.closed_at):
                _aware(moment, "round time")
        for e in self.extensions:
            _aware(e.at, "extension time")
        for p in self.pauses:
            _aware(p.start, "pause start")
            _aware(p.end, "pause end")

    def as_of(self, t: datetime) -> CaseFacts:
        """The facts as known at ``t``: later facts dropped, a pause open at ``t`` ends at ``t``.

        ``intake_recorded_at`` is kept; ``status_at`` treats a recording after ``t`` as not done.
        """
        return CaseFacts(
            received_at=self.received_at,
            intake_recorded_at=self.intake_recorded_at,
            triaged_at=_upto(self.triaged_at, t),
            outcome_at=_upto(self.outcome_at, t),
            withdrawn_at=_upto(self.withdrawn_at, t),
            rounds=tuple(r.upto(t) for r in self.rounds if r.started_at <= t),
            extensions=tuple(e for e in self.extensions if e.at <= t),
            pauses=tuple(
                Pause(p.start, p.end if p.end is not None and p.end <= t else t)
                for p in self.pauses
                if p.start <= t
            ),
        )


@dataclass(frozen=True)
class Deadline:
    """One clock of one case: when it started, when it is due, and how it stopped (if it did)."""

    clock: str
    started_at: datetime
    due_at: datetime
    met_at: datetime | None
    cancelled: bool
    estimated: bool


@dataclass(frozen=True)
class Verdict:
    """A deadline judged at an as-of instant."""

    clock: str
    due_at: datetime
    met_at: datetime | None
    status: str
    late_by_seconds: int
    estimated: bool

    def as_dict(self) -> dict[str, Any]:
        return {
            "clock": self.clock,
            "due_at": self.due_at.astimezone(UTC).isoformat(),
            "met_at": None if self.met_at is None else self.met_at.astimezone(UTC).isoformat(),
            "status": self.status,
            "late_by_seconds": self.late_by_seconds,
            "estimated": self.estimated,
        }


def _due(
    rule: ClockRule, start: datetime, extra_days: int, calendar: WorkCalendar, tz: ZoneInfo
) -> tuple[datetime, bool]:
    if rule.unit == "hours":
        # In UTC, so an hour is an elapsed hour even across a daylight-saving change.
        return start.astimezone(UTC) + timedelta(hours=rule.limit, days=extra_days), False
    return calendar.add_days(
        start, rule.limit + extra_days, tz, working=rule.unit == "working_days"
    )


def _round_of(facts: CaseFacts, moment: datetime) -> int:
    """The round in progress at ``moment`` (1-based): the latest one started at or before it."""
    number = 1
    for i, r in enumerate(facts.rounds, start=1):
        if r.started_at <= moment:
            number = i
    return number


def _paused(pauses: tuple[Pause, ...], start: datetime, stop: datetime | None) -> timedelta:
    """Paused time inside the clock's run; an open pause on a running clock counts nothing yet."""
    total = timedelta(0)
    for p in pauses:
        end = p.end if p.end is not None else stop
        if end is None:
            continue
        lo = max(p.start, start)
        hi = end if stop is None else min(end, stop)
        if hi > lo:
            total += hi - lo
    return total


def _clock(
    facts: CaseFacts,
    policy: Policy,
    calendar: WorkCalendar,
    clock: ClockName,
    round_number: int | None,
    started_at: datetime,
    stop: datetime | None,
) -> Deadline:
    rule = policy.rule(clock)
    withdrawn = facts.withdrawn_at
    cancelled = withdrawn is not None and (stop is None or stop > withdrawn)
    met_at = None if cancelled or stop is None else stop.astimezone(UTC)
    ran_until = withdrawn if cancelled else stop
    extra = sum(
        e.days
        for e in facts.extensions
        if e.clock == clock
        and (round_number is None or _round_of(facts, e.at) == round_number)
        and (ran_until is None or e.at <= ran_until)
    )
    due, estimated = _due(rule, started_at, extra, calendar, policy.zone)
    if rule.pausable and clock not in NEVER_PAUSED:
        due += _paused(facts.pauses, started_at, ran_until)
    name = str(clock) if round_number in (None, 1) else f"{clock}#{round_number}"
    return Deadline(
        name, started_at.astimezone(UTC), due.astimezone(UTC), met_at, cancelled, estimated
    )


def deadlines(facts: CaseFacts, policy: Policy, calendar: WorkCalendar) -> list[Deadline]:
    """Every clock of the case in report order: intake record, round 1, regulatory, later rounds."""
    received = facts.received_at
    intake_due, intake_estimated = _due(
        policy.rule(ClockName.INTAKE), received, 0, calendar, policy.zone
    )
    result = [
        Deadline(
            INTAKE_RECORD,
            received.astimezone(UTC),
            intake_due.astimezone(UTC),
            facts.intake_recorded_at.astimezone(UTC),
            False,
            intake_estimated,
        ),
        _clock(facts, policy, calendar, ClockName.INTAKE, None, received, facts.triaged_at),
    ]
    regulatory = _clock(
        facts, policy, calendar, ClockName.REGULATORY, None, received, facts.outcome_at
    )
    if not facts.rounds:
        result.append(regulatory)
    for number, r in enumerate(facts.rounds, start=1):
        for clock in ROUND_CLOCKS:
            result.append(
                _clock(facts, policy, calendar, clock, number, r.started_at, r.stop(clock))
            )
        if number == 1:
            result.append(regulatory)
    return result


def _whole_seconds_up(delta: timedelta) -> int:
    """Seconds rounded up, so a breach by a fraction of a second is never reported as 0."""
    return -(-delta // timedelta(seconds=1))


def status_at(d: Deadline, as_of: datetime, at_risk_share: float) -> Verdict:
    """Judge one deadline at ``as_of``; a stop recorded after ``as_of`` has not happened yet."""
    met_at = d.met_at if d.met_at is not None and d.met_at <= as_of else None
    late = 0
    if d.cancelled:
        status = "cancelled"
    elif met_at is not None:
        status = "met" if met_at <= d.due_at else "breached"
        if status == "breached":
            late = _whole_seconds_up(met_at - d.due_at)
    elif as_of > d.due_at:
        status = "overdue"
        late = _whole_seconds_up(as_of - d.due_at)
    else:
        allowed = d.due_at - d.started_at
        share = (as_of - d.started_at) / allowed if allowed > timedelta(0) else 1.0
        status = "at_risk" if share >= at_risk_share else "pending"
    return Verdict(d.clock, d.due_at, met_at, status, late, d.estimated)


def evaluate(
    facts: CaseFacts, policy: Policy, calendar: WorkCalendar, as_of: datetime
) -> list[Verdict]:
    """Every clock's verdict as of ``as_of``; a case not yet received at ``as_of`` has none."""
    if as_of < facts.received_at:
        return []
    return [
        status_at(d, as_of, policy.at_risk_share)
        for d in deadlines(facts.as_of(as_of), policy, calendar)
    ]
