"""Actions on a complaint's clocks: extension, pause, resume, and re-dating an action
(correction), with the checks that keep a breach from turning into a met deadline."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from ledger.domain.actions.guards import check_not_future, check_open, check_time, record
from ledger.domain.calendar import WorkCalendar
from ledger.domain.errors import CorrectionRefused, ExtensionRefused, OutOfOrder, PauseNotAllowed
from ledger.domain.facts import CLOCK_KINDS, CaseFacts, Fact
from ledger.domain.policy import Policy, check_extension
from ledger.domain.sealed import SealedText
from ledger.domain.sla import Window, extension_window
from ledger.domain.timerule import WORDS, check_correction
from ledger.domain.values import ClockName, Role, Stamp

if TYPE_CHECKING:
    from ledger.domain.complaint import Complaint


def extend(
    self: Complaint,
    stamp: Stamp,
    now: datetime,
    clock: ClockName,
    days: int,
    reason: SealedText,
    approved_by: str,
    policy: Policy,
    calendar: WorkCalendar,
    approver_vouched: bool = False,
) -> None:
    """Extend the run of ``clock`` in progress at the extension's date: only while it runs
    and before it lapses, so that an extension never turns a breach into a met deadline.
    ``approver_vouched``: the staff directory has vouched that the approver is a leader."""
    check_open(self, stamp, now, "extend")
    if not approver_vouched:
        _check_approver(stamp, approved_by, "an extension", ExtensionRefused)
    check_time(self, "extended", stamp)
    window = extension_window(self.facts, policy, calendar, clock, stamp.occurred_at)
    assert window is not None  # every clock runs from receipt
    _check_window(window, stamp.occurred_at, stopped_by_then=False)
    check_extension(policy, clock, days, list(window.previous_days), approved_by)
    record(
        self,
        "DeadlineExtended",
        stamp,
        clock=clock,
        days=days,
        reason=reason,
        approved_by=approved_by,
    )


def pause(self: Complaint, stamp: Stamp, now: datetime, reason: SealedText, allowed: bool) -> None:
    check_open(self, stamp, now, "pause")
    if not allowed:
        raise PauseNotAllowed(
            f"the SLA policy {self.policy_version} of {self.ref} does not let its clocks pause"
        )
    if self.paused_since is not None:
        raise OutOfOrder(f"{self.ref}: clocks are already paused since {self.paused_since}")
    check_time(self, "paused", stamp)
    record(self, "ClocksPaused", stamp, reason=reason)


def resume(self: Complaint, stamp: Stamp, now: datetime, reason: SealedText) -> None:
    check_open(self, stamp, now, "resume")
    if self.paused_since is None:
        raise OutOfOrder(f"{self.ref}: clocks are not paused")
    check_time(self, "resumed", stamp)
    record(self, "ClocksResumed", stamp, reason=reason)


def correct(
    self: Complaint,
    stamp: Stamp,
    now: datetime,
    version: int,
    corrected_at: datetime,
    reason: SealedText,
    approved_by: str,
    policy: Policy,
    calendar: WorkCalendar,
    approver_vouched: bool = False,
) -> None:
    """Re-date action ``version`` (one the clocks are judged on) to ``corrected_at``:
    leadership's decision, allowed in any status, within the bounds of the time rule.
    ``approver_vouched``: the staff directory has vouched that the approver is a leader."""
    check_not_future(stamp.occurred_at, now)
    if not approver_vouched:
        _check_approver(stamp, approved_by, "a correction", CorrectionRefused)
    target = next((f for f in self.timeline if f.version == version), None)
    if target is None or target.kind not in CLOCK_KINDS:
        what = "no such event" if target is None else f"event {version} is {_word(target)}"
        raise CorrectionRefused(
            f"{self.ref}: {what}; only the receipt's intake record and the actions the "
            "clocks are judged on can be re-dated"
        )
    check_not_future(corrected_at, now)
    if corrected_at == target.at:
        raise CorrectionRefused(
            f"event {version} is already dated {target.at.isoformat()}; nothing to correct"
        )
    check_correction(self.received_at, self.timeline, version, corrected_at)
    if target.kind == "extended":
        assert target.clock is not None
        others = CaseFacts(
            self.received_at,
            tuple(f for f in self.timeline if f.version != version),
            tuple(self.corrections),
        )
        window = extension_window(others, policy, calendar, target.clock, corrected_at)
        if window is not None:
            _check_window(window, corrected_at, stopped_by_then=True)
    record(
        self,
        "OccurrenceCorrected",
        stamp,
        event=version,
        corrected_occurred_at=corrected_at,
        previous_occurred_at=target.at,
        reason=reason,
        approved_by=approved_by,
    )


def _word(fact: Fact) -> str:
    return f"{WORDS.get(fact.kind, fact.kind).removeprefix('the ')}"


def _check_approver(
    stamp: Stamp, approved_by: str, what: str, error: type[ExtensionRefused | CorrectionRefused]
) -> None:
    """Without a staff directory to vouch for the approver, the approving leader must be the
    one who records the action (issue 12's rule until the directory existed)."""
    actor = stamp.actor
    if actor.role is not Role.LEADERSHIP or approved_by.strip() != actor.id:
        raise error(
            f"{what} is approved by the leadership member who records it: approved_by "
            f"{approved_by!r} is not {actor.id!r} ({actor.role})"
        )


def _check_window(window: Window, at: datetime, stopped_by_then: bool) -> None:
    """An extension dated ``at`` must find its clock's run still running and not yet due."""
    name, stop = window.run.name, window.stop
    if stop is not None and (not stopped_by_then or stop.at <= at):
        raise ExtensionRefused(
            f"the {name} clock stopped at {stop.at.isoformat()} ({_word(stop)}, event "
            f"{stop.version}); a clock that has stopped cannot be extended"
        )
    if window.verdict.status == "overdue":
        raise ExtensionRefused(
            f"the {name} clock was due at {window.verdict.due_at.isoformat()}; an extension "
            f"dated {at.isoformat()} comes after it lapsed"
        )
