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

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from ledger.domain.calendar import WorkCalendar
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
from ledger.domain.runs import INTAKE_RECORD, Layout, Run, layout
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
    """

    clock: str
    started_at: datetime
    due_at: datetime
    met_at: datetime | None
    withdrawn_at: datetime | None
    estimated: bool
    recorded_after_due: bool = False
    fixed_from: datetime | None = None

    @property
    def cancelled(self) -> bool:
        return self.withdrawn_at is not None and self.withdrawn_at <= self.due_at

    @property
    def late_seconds(self) -> int | None:
        """How late it ended, once it did (0 on time); None while open."""
        ended = self.met_at if self.met_at is not None else self.withdrawn_at
        if ended is None:
            return None
        return max(0, _whole_seconds_up(ended - self.due_at))


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

    def as_dict(self) -> dict[str, Any]:
        return {
            "clock": self.clock,
            "due_at": self.due_at.astimezone(UTC).isoformat(),
            "met_at": None if self.met_at is None else self.met_at.astimezone(UTC).isoformat(),
            "status": self.status,
            "late_by_seconds": self.late_by_seconds,
            "estimated": self.estimated,
            "recorded_after_due": self.recorded_after_due,
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


def _whole_seconds_up(delta: timedelta) -> int:
    """Seconds rounded up, so a breach by a fraction of a second is never reported as 0."""
    return -(-delta // timedelta(seconds=1))


def _dated(fact: Fact | None, as_of: datetime | None) -> Fact | None:
    return fact if fact is not None and (as_of is None or fact.at <= as_of) else None


def _paused(
    lay: Layout, start: datetime, until: datetime | None, as_of: datetime | None,
    known_before: datetime | None = None,
) -> timedelta:  # fmt: skip
    """Time paused while the clock ran, overlapping pauses counted once.

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
    total, reach = timedelta(0), None
    for lo, hi in sorted(spans):
        if reach is not None and lo < reach:
            lo = reach
        if hi > lo:
            total += hi - lo
        reach = hi if reach is None else max(reach, hi)
    return total


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
    due, estimated = _due(
        rule, run.started_at, sum(e.days for e in extensions), calendar, policy.zone
    )
    pausable = rule.pausable and run.clock not in NEVER_PAUSED
    if pausable:
        due += _paused(lay, run.started_at, until, as_of)
    late_entry = False
    if met is not None and met.at <= due:
        if extensions or pausable:
            late_entry = _late_entry(lay, run, rule, calendar, policy, met, extensions, until)
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
    )
    return _Judged(deadline, extensions, until)


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
    lay: Layout, run: Run, rule: ClockRule, calendar: WorkCalendar, policy: Policy,
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
    earliest, _ = _due(rule, run.started_at, 0, calendar, policy.zone)
    if recorded[-1] <= earliest:
        return False  # everything was on record before even the unextended deadline
    for moment in recorded:
        if met.recorded is not None and moment > met.recorded:
            break
        days = sum(e.days for e in extensions if _known(e, moment))
        due, _ = _due(rule, run.started_at, days, calendar, policy.zone)
        if pausable:
            due += _paused(lay, run.started_at, until, moment, known_before=moment)
        if moment > due:
            return True
    return False


def _intake_record(lay: Layout, policy: Policy, calendar: WorkCalendar) -> Deadline:
    """The record itself: due an intake limit after receipt, met when the intake was logged."""
    received = lay.received
    due, estimated = _due(policy.rule(ClockName.INTAKE), lay.received_at, 0, calendar, policy.zone)
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
    )


def deadlines(facts: CaseFacts, policy: Policy, calendar: WorkCalendar) -> list[Deadline]:
    """Every clock of the case in report order, judged on every fact (corrections applied):
    the intake record, the first run of each clock, then later runs as they started."""
    lay = layout(facts.corrected())
    return [_intake_record(lay, policy, calendar)] + [
        _run_deadline(lay, run, policy, calendar, None).deadline for run in lay.runs
    ]


def status_at(d: Deadline, as_of: datetime, at_risk_share: float) -> Verdict:
    """Judge one deadline at ``as_of``; a stop or withdrawal dated after ``as_of`` has not
    happened yet."""
    met_at = d.met_at if d.met_at is not None and d.met_at <= as_of else None
    withdrawn = d.withdrawn_at is not None and d.withdrawn_at <= as_of
    late = 0
    if met_at is not None:
        status = "met" if met_at <= d.due_at else "breached"
        if status == "breached":
            late = _whole_seconds_up(met_at - d.due_at)
    elif withdrawn and d.cancelled:
        status = "cancelled"
    elif withdrawn:
        assert d.withdrawn_at is not None
        status, late = "breached", _whole_seconds_up(d.withdrawn_at - d.due_at)
    elif as_of > d.due_at:
        status = "overdue"
        late = _whole_seconds_up(as_of - d.due_at)
    else:
        allowed = d.due_at - d.started_at
        share = (as_of - d.started_at) / allowed if allowed > timedelta(0) else 1.0
        status = "at_risk" if share >= at_risk_share else "pending"
    entry = status == "met" and d.recorded_after_due
    return Verdict(d.clock, d.due_at, met_at, status, late, d.estimated, entry)


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
