"""Deadlines and verdicts of a complaint's clocks: a pure function of its facts.

``deadlines`` is what a read model stores; ``status_at`` judges one deadline at an instant;
``evaluate`` does both for an as-of report. Nothing here reads a clock or a database, so any
verdict can be re-derived later from the same facts, policy and calendar. The rules are
explained for supervisors and auditors in ``docs/sla.md``.

The facts lay out the clocks' runs (``layout``); each run is then judged either on every
fact (what a read model stores) or on the facts dated by an as-of instant. A stored
deadline says from when on it judges exactly as the as-of computation does (``fixed_from``):
only extensions and pauses dated later than the as-of instant make the two differ.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from ledger.domain.calendar import WorkCalendar
from ledger.domain.clocktime import ClockTime, whole_seconds_up
from ledger.domain.facts import CaseFacts, Fact
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
from ledger.domain.runs import INTAKE_RECORD, Item, Layout, Run, layout
from ledger.domain.values import ClockName

__all__ = [
    "DEFAULT_POLICY",
    "INTAKE_RECORD",
    "CaseFacts",
    "ClockRule",
    "Deadline",
    "Policy",
    "Unit",
    "Verdict",
    "check_extension",
    "deadlines",
    "evaluate",
    "extension_window",
    "parse_policy",
    "policy_from_dict",
    "policy_to_dict",
    "status_at",
]


@dataclass(frozen=True)
class Deadline:
    """One clock of one case: when it started, when it is due, and how it ended (if it did).

    ``withdrawn_at`` is the withdrawal that ended the clock while it was still open: before
    its deadline it cancels the clock, after it the clock stays breached. ``fixed_from`` is
    the earliest as-of instant from which ``status_at`` on this deadline gives what
    ``evaluate`` gives; None when no instant does (a pause still open while the clock runs).
    ``time`` is how the clock counts (None: every second); a clock that counts business
    hours is at risk from ``risk_at`` on.
    """

    clock: str
    started_at: datetime
    due_at: datetime
    met_at: datetime | None
    withdrawn_at: datetime | None
    estimated: bool
    recorded_after_due: bool = False
    fixed_from: datetime | None = None
    risk_at: datetime | None = None
    time: ClockTime | None = field(default=None, compare=False, repr=False)

    @property
    def cancelled(self) -> bool:
        return self.withdrawn_at is not None and self.withdrawn_at <= self.due_at

    @property
    def ended_at(self) -> datetime | None:
        return self.met_at if self.met_at is not None else self.withdrawn_at

    @property
    def late_seconds(self) -> int | None:
        """How late it ended, once it did (0 on time); None while open."""
        ended = self.ended_at
        if ended is None:
            return None
        return max(0, whole_seconds_up(ended - self.due_at))

    @property
    def late_business_seconds(self) -> int | None:
        """How late it ended in the time the clock counts (business hours of its schedule,
        else every second); None while open."""
        ended = self.ended_at
        if ended is None:
            return None
        return self.late_until(ended, self.late_seconds or 0)

    def late_until(self, moment: datetime, wall_seconds: int) -> int:
        """Counted seconds from the deadline to ``moment`` (``wall_seconds`` on a wall clock)."""
        if self.time is None or not self.time.business:
            return wall_seconds
        return self.time.late_seconds(self.due_at, moment)


@dataclass(frozen=True)
class Verdict:
    """A deadline judged at an as-of instant."""

    clock: str
    due_at: datetime
    met_at: datetime | None
    status: str
    late_by_seconds: int
    estimated: bool
    recorded_after_due: bool = False
    late_by_business_seconds: int | None = None  # None: the same as late_by_seconds

    @property
    def late_business(self) -> int:
        """Lateness in the time the clock counts (equal to ``late_by_seconds`` on a wall clock)."""
        found = self.late_by_business_seconds
        return self.late_by_seconds if found is None else found

    def as_dict(self) -> dict[str, Any]:
        return {
            "clock": self.clock,
            "due_at": self.due_at.astimezone(UTC).isoformat(),
            "met_at": None if self.met_at is None else self.met_at.astimezone(UTC).isoformat(),
            "status": self.status,
            "late_by_seconds": self.late_by_seconds,
            "late_by_business_seconds": self.late_business,
            "estimated": self.estimated,
            "recorded_after_due": self.recorded_after_due,
        }


def clock_time(rule: ClockRule, policy: Policy, calendar: WorkCalendar) -> ClockTime:
    """How ``rule``'s clock counts: its schedule's open time for an hour clock that names
    one, else every second (pauses and lateness of day clocks count every second too)."""
    schedule = policy.schedule(rule.clock) if rule.unit == "hours" else None
    return ClockTime(schedule, calendar, policy.zone)


def _due(
    rule: ClockRule, start: datetime, extra_days: int, time: ClockTime,
    paused: timedelta = timedelta(0),
) -> tuple[datetime, bool]:  # fmt: skip
    """The deadline: the limit and the extensions in the clock's unit, then the time paused
    (already counted as the clock counts). On a business-hours clock an extension's day is
    24 business hours, as it is 24 hours on a wall clock."""
    if rule.unit == "hours":
        return time.add(start, timedelta(hours=rule.limit, days=extra_days) + paused)
    due, estimated = time.calendar.add_days(
        start, rule.limit + extra_days, time.zone, working=rule.unit == "working_days"
    )
    return due + paused, estimated


def _dated(fact: Fact | None, as_of: datetime | None) -> Fact | None:
    return fact if fact is not None and (as_of is None or fact.at <= as_of) else None


def _paused(
    lay: Layout, start: datetime, until: datetime | None, as_of: datetime | None,
    time: ClockTime, known_before: datetime | None = None,
) -> tuple[timedelta, bool]:  # fmt: skip
    """Time paused while the clock ran, overlapping pauses counted once, in the time the
    clock counts (a pause while its schedule is closed takes nothing); True if guessed.

    As of an instant, a pause not yet over then counts up to it; on every fact, a pause
    never resumed counts up to the clock's end (nothing while it runs). ``known_before``
    keeps only what had been recorded before that moment (a resume not yet known leaves
    its pause open).
    """
    spans = []
    for pause, resume in lay.pauses:
        if known_before is not None and not _known(pause, known_before):
            continue
        if known_before is not None and resume is not None and not _known(resume, known_before):
            resume = None
        if as_of is not None and pause.at > as_of:
            continue
        end = resume.at if resume is not None else None
        if as_of is not None and (end is None or end > as_of):
            end = as_of
        end = until if end is None else (end if until is None else min(end, until))
        lo = max(pause.at, start)
        if end is not None and end > lo:
            spans.append((lo, end))
    total, reach, estimated = timedelta(0), None, False
    for lo, hi in sorted(spans):
        if reach is not None and lo < reach:
            lo = reach
        if hi > lo:
            counted, guessed = time.between(lo, hi)
            total += counted
            estimated = estimated or guessed
        reach = hi if reach is None else max(reach, hi)
    return total, estimated


def _known(fact: Fact, moment: datetime) -> bool:
    return fact.recorded is None or fact.recorded < moment


@dataclass(frozen=True)
class _Judged:
    deadline: Deadline
    extensions: tuple[Fact, ...]
    until: datetime | None


def _run_deadline(
    lay: Layout, run: Run, policy: Policy, calendar: WorkCalendar, as_of: datetime | None
) -> _Judged:
    """The deadline of ``run`` on every fact (``as_of`` None) or on the facts dated by then."""
    rule = policy.rule(run.clock)
    stop, withdrawal = _dated(run.stop, as_of), _dated(lay.withdrawal, as_of)
    ended = withdrawal is not None and (stop is None or stop.at > withdrawal.at)
    met = None if ended else stop
    until = withdrawal.at if withdrawal is not None and ended else (stop.at if stop else None)
    extensions = tuple(
        e
        for e in lay.extensions_of(run)
        if (as_of is None or e.at <= as_of) and (until is None or e.at <= until)
    )
    time = clock_time(rule, policy, calendar)
    pausable = rule.pausable and run.clock not in NEVER_PAUSED
    paused, guessed = (
        _paused(lay, run.started_at, until, as_of, time) if pausable else (timedelta(0), False)
    )
    due, estimated = _due(rule, run.started_at, sum(e.days for e in extensions), time, paused)
    estimated = estimated or guessed
    late_entry = False
    if met is not None and met.at <= due:
        if extensions or pausable:
            late_entry = _late_entry(lay, run, rule, time, met, extensions, until)
        else:  # nothing moved the deadline: late if the stop was recorded after it
            late_entry = met.recorded is not None and met.recorded > due
    deadline = Deadline(
        run.name,
        run.started_at.astimezone(UTC),
        due.astimezone(UTC),
        None if met is None else met.at.astimezone(UTC),
        withdrawal.at.astimezone(UTC) if withdrawal is not None and ended else None,
        estimated,
        late_entry,
        _fixed_from(lay, run, extensions, until, pausable) if as_of is None else None,
        *_risk(time, run.started_at, due, policy),
    )
    return _Judged(deadline, extensions, until)


def _risk(
    time: ClockTime, start: datetime, due: datetime, policy: Policy
) -> tuple[datetime | None, ClockTime]:
    """A business-hours clock's at-risk instant (a wall clock's is worked out from its
    deadline by ``status_at`` and the read model, as before schedules), and its time."""
    if not time.business:
        return None, time
    return time.risk_at(start, due, policy.at_risk_share).astimezone(UTC), time


def _fixed_from(
    lay: Layout, run: Run, extensions: tuple[Fact, ...], until: datetime | None, pausable: bool
) -> datetime | None:
    """From when on a stored deadline is exact: after every extension it counts and the end
    of every pause it counts; never while a pause is open on a clock still running."""
    moments = [run.started_at, *(e.at for e in extensions)]
    for pause, resume in lay.pauses if pausable else ():
        end = resume.at if resume is not None else until
        if (until is not None and pause.at >= until) or (end is not None and end <= run.started_at):
            continue
        if end is None:
            return None
        moments.append(end if until is None else min(end, until))
    return max(moments)


def _late_entry(
    lay: Layout, run: Run, rule: ClockRule, time: ClockTime,
    met: Fact, extensions: tuple[Fact, ...], until: datetime | None,
) -> bool:  # fmt: skip
    """Whether a met clock was overdue by what the ledger knew at some moment before all it
    rests on (its stop, its extensions, its pauses) had been recorded: a late entry."""
    pausable = rule.pausable and run.clock not in NEVER_PAUSED
    relevant = [met, *extensions]
    if pausable:
        relevant += [f for pair in lay.pauses for f in pair if f is not None]
    recorded = sorted(f.recorded for f in relevant if f.recorded is not None)
    if not recorded:
        return False
    earliest, _ = _due(rule, run.started_at, 0, time)
    if recorded[-1] <= earliest:
        return False  # everything was on record before even the unextended deadline
    for moment in recorded:
        if met.recorded is not None and moment > met.recorded:
            break
        days = sum(e.days for e in extensions if _known(e, moment))
        paused, _ = (
            _paused(lay, run.started_at, until, moment, time, known_before=moment)
            if pausable
            else (timedelta(0), False)
        )
        due, _ = _due(rule, run.started_at, days, time, paused)
        if moment > due:
            return True
    return False


def _intake_record(lay: Layout, policy: Policy, calendar: WorkCalendar) -> Deadline:
    """The record itself: due an intake limit after receipt, met when the intake was logged."""
    received = lay.received
    rule = policy.rule(ClockName.INTAKE)
    time = clock_time(rule, policy, calendar)
    due, estimated = _due(rule, lay.received_at, 0, time)
    late = received.recorded is not None and received.recorded > due >= received.at
    return Deadline(
        INTAKE_RECORD,
        lay.received_at.astimezone(UTC),
        due.astimezone(UTC),
        received.at.astimezone(UTC),
        None,
        estimated,
        late,
        lay.received_at.astimezone(UTC),
        *_risk(time, lay.received_at, due, policy),
    )


def _item_deadline(lay: Layout, item: Item) -> Deadline:
    """An improvement measure's clock: due when it was promised for, met when marked done.

    Nothing moves its deadline (no policy limit, pause or extension), so the one deadline
    judges it at every as-of instant (``fixed_from`` is its start); a withdrawal ends it like
    every other clock. Done on time but recorded after its deadline is a late entry.
    """
    done, w = item.done, lay.withdrawal
    ended = w is not None and (done is None or done.at > w.at)
    met = None if ended else done
    due = item.due_at
    late_entry = (
        met is not None and met.at <= due and met.recorded is not None and (met.recorded > due)
    )
    return Deadline(
        item.name,
        item.added.at.astimezone(UTC),
        due.astimezone(UTC),
        None if met is None else met.at.astimezone(UTC),
        w.at.astimezone(UTC) if w is not None and ended else None,
        False,
        late_entry,
        item.added.at.astimezone(UTC),
    )


def deadlines(facts: CaseFacts, policy: Policy, calendar: WorkCalendar) -> list[Deadline]:
    """Every clock of the case in report order, judged on every fact (corrections applied):
    the intake record, the first run of each clock, later runs as they started, then the
    improvement measures' clocks as they were added."""
    lay = layout(facts.corrected())
    return (
        [_intake_record(lay, policy, calendar)]
        + [_run_deadline(lay, run, policy, calendar, None).deadline for run in lay.runs]
        + [_item_deadline(lay, item) for item in lay.items]
    )


def status_at(d: Deadline, as_of: datetime, at_risk_share: float) -> Verdict:
    """Judge one deadline at ``as_of``; a stop or withdrawal dated after ``as_of`` has not
    happened yet."""
    met_at = d.met_at if d.met_at is not None and d.met_at <= as_of else None
    withdrawn = d.withdrawn_at is not None and d.withdrawn_at <= as_of
    late, late_end = 0, None
    if met_at is not None:
        status = "met" if met_at <= d.due_at else "breached"
        if status == "breached":
            late, late_end = whole_seconds_up(met_at - d.due_at), met_at
    elif withdrawn and d.cancelled:
        status = "cancelled"
    elif withdrawn:
        assert d.withdrawn_at is not None
        status, late = "breached", whole_seconds_up(d.withdrawn_at - d.due_at)
        late_end = d.withdrawn_at
    elif as_of > d.due_at:
        status = "overdue"
        late, late_end = whole_seconds_up(as_of - d.due_at), as_of
    elif d.risk_at is not None:  # business hours: the share of the open time
        status = "at_risk" if as_of >= d.risk_at else "pending"
    else:
        allowed = d.due_at - d.started_at
        share = (as_of - d.started_at) / allowed if allowed > timedelta(0) else 1.0
        status = "at_risk" if share >= at_risk_share else "pending"
    entry = status == "met" and d.recorded_after_due
    business = None if late_end is None else d.late_until(late_end, late)
    return Verdict(d.clock, d.due_at, met_at, status, late, d.estimated, entry, business)


def evaluate(
    facts: CaseFacts, policy: Policy, calendar: WorkCalendar, as_of: datetime
) -> list[Verdict]:
    """Every clock's verdict as of ``as_of``, on the facts dated by then; a case not yet
    received at ``as_of`` has none, and a run that had not started is not listed."""
    if as_of < facts.received_at:
        return []
    lay = layout(facts.corrected())
    share = policy.at_risk_share
    verdicts = [status_at(_intake_record(lay, policy, calendar), as_of, share)]
    for run in lay.runs:
        if run.started_at <= as_of:
            judged = _run_deadline(lay, run, policy, calendar, as_of)
            verdicts.append(status_at(judged.deadline, as_of, share))
    for item in lay.items:
        if item.added.at <= as_of:
            verdicts.append(status_at(_item_deadline(lay, item), as_of, share))
    return verdicts


@dataclass(frozen=True)
class Window:
    """What an extension of a clock dated ``at`` would extend: the run in progress then,
    judged as of then, the stop it has on record (at any date) and the days it already got."""

    run: Run
    verdict: Verdict
    stop: Fact | None
    previous_days: tuple[int, ...]


def extension_window(
    facts: CaseFacts, policy: Policy, calendar: WorkCalendar, clock: ClockName, at: datetime
) -> Window | None:
    """The run of ``clock`` in progress at ``at`` (None if none had started)."""
    lay = layout(facts.corrected())
    run = lay.run_at(clock, at)
    if run is None:
        return None
    judged = _run_deadline(lay, run, policy, calendar, at)
    verdict = status_at(judged.deadline, at, policy.at_risk_share)
    previous = tuple(e.days for e in lay.extensions_of(run))
    return Window(run, verdict, run.stop, previous)
