"""The plan's stages after intake: contact, findings, plan, execution, outcome, callback,
closure; and reopening and withdrawal."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from ledger.domain.actions.guards import (
    ESCALATING_SEVERITIES,
    check_open,
    check_recordable,
    check_time,
    coded,
    record,
)
from ledger.domain.codes import Business, Cause
from ledger.domain.errors import ComplaintNotClosed, OutOfOrder, SignOffRequired
from ledger.domain.sealed import SealedText
from ledger.domain.values import ClockName, ContactChannel, Remedy, Stamp, Status, Substantiated

if TYPE_CHECKING:
    from ledger.domain.complaint import Complaint


def contact(
    self: Complaint,
    stamp: Stamp,
    now: datetime,
    channel: ContactChannel,
    reached: bool,
    summary: SealedText,
) -> None:
    check_open(self, stamp, now, "contact")
    check_time(self, "contact", stamp)
    record(self, "CustomerContacted", stamp, channel=channel, reached=reached, summary=summary)


def record_findings(
    self: Complaint,
    stamp: Stamp,
    now: datetime,
    substantiated: Substantiated,
    findings: SealedText,
    evidence: tuple[str, ...],
) -> None:
    check_open(self, stamp, now, "record-findings")
    if self.triaged_at is None:
        raise OutOfOrder(f"{self.ref} has not been triaged; triage it before recording findings")
    check_time(self, "findings", stamp)
    record(
        self,
        "FindingsRecorded",
        stamp,
        substantiated=substantiated,
        findings=findings,
        evidence=list(evidence),
    )


def plan(self: Complaint, stamp: Stamp, now: datetime, remedies: tuple[Remedy, ...]) -> None:
    check_open(self, stamp, now, "plan")
    if self.findings_at is None:
        raise OutOfOrder(f"{self.ref} has no findings yet; record findings before a plan")
    check_time(self, "planned", stamp)
    record(self, "ResolutionPlanned", stamp, remedies=list(remedies))


def execute(self: Complaint, stamp: Stamp, now: datetime, detail: SealedText) -> None:
    check_open(self, stamp, now, "execute")
    if self.planned_at is None:
        raise OutOfOrder(f"{self.ref} has no resolution plan; plan before executing")
    if self.executed_at is not None:
        raise OutOfOrder(f"{self.ref}: the current plan was already executed")
    check_time(self, "executed", stamp)
    record(self, "ResolutionExecuted", stamp, detail=detail)


def notify_outcome(
    self: Complaint, stamp: Stamp, now: datetime, channel: ContactChannel, summary: SealedText
) -> None:
    check_open(self, stamp, now, "notify-outcome")
    if self.planned_at is None:
        raise OutOfOrder(
            f"{self.ref} has no resolution plan; there is no outcome to communicate yet"
        )
    check_time(self, "outcome", stamp)
    record(self, "OutcomeCommunicated", stamp, channel=channel, summary=summary)


def record_callback(
    self: Complaint, stamp: Stamp, now: datetime, satisfaction: int, comment: SealedText
) -> None:
    check_recordable(self, stamp, now, "record-callback")
    if not self.outcome_ever_communicated:
        raise OutOfOrder(
            f"{self.ref}: the outcome has not been communicated; a callback comes after it"
        )
    check_time(self, "callback", stamp)
    record(self, "CallbackRecorded", stamp, satisfaction=satisfaction, comment=comment)


def record_unreached_callback(
    self: Complaint, stamp: Stamp, now: datetime, comment: SealedText
) -> None:
    """A callback (回访) attempt that did not reach the complainant: allowed after closure
    like a reached one, and no action the clocks are judged on."""
    check_recordable(self, stamp, now, "record-callback")
    if not self.outcome_ever_communicated:
        raise OutOfOrder(
            f"{self.ref}: the outcome has not been communicated; a callback comes after it"
        )
    check_time(self, "callback", stamp)
    record(self, "CallbackNotReached", stamp, comment=comment)


def close(
    self: Complaint,
    stamp: Stamp,
    now: datetime,
    root_cause: SealedText,
    improvement: SealedText,
    cause: Cause | None = None,
    business: Business | None = None,
) -> None:
    """Close the case; ``cause`` and each of ``business``'s codes (checked by the handler)
    override the triage's."""
    check_open(self, stamp, now, "close")
    if self.executed_at is None:
        raise OutOfOrder(f"{self.ref}: the resolution has not been executed; cannot close")
    if self.outcome_at is None:
        raise OutOfOrder(
            f"{self.ref}: the outcome has not been communicated to the complainant; cannot close"
        )
    if self.severity in ESCALATING_SEVERITIES and self.signed_off_at is None:
        raise SignOffRequired(
            f"{self.ref} is {self.severity}: the leadership group must be reported the "
            "result and sign it off (sign-off) before it can be closed"
        )
    check_time(self, "closed", stamp)
    record(
        self,
        "Closed",
        stamp,
        root_cause=root_cause,
        improvement=improvement,
        **coded(cause, business),
    )


def reopen(
    self: Complaint,
    stamp: Stamp,
    now: datetime,
    reason: SealedText,
    restarts: tuple[ClockName, ...] = (),
) -> None:
    """Reopen a closed case: a new round of investigation, plan, execution and summary,
    and new runs of the clocks in ``restarts`` (the policy's ``reopen_restarts``); a
    restarted intake clock needs a new triage before findings."""
    check_recordable(self, stamp, now, "reopen")
    if self.status is not Status.CLOSED:
        raise ComplaintNotClosed(f"{self.ref} is not closed; only a closed case can be reopened")
    check_time(self, "reopened", stamp)
    record(self, "Reopened", stamp, reason=reason)
    if restarts:
        record(self, "ClocksRestarted", stamp, clocks=[str(c) for c in restarts])


def withdraw(self: Complaint, stamp: Stamp, now: datetime, reason: SealedText) -> None:
    check_open(self, stamp, now, "withdraw")
    check_time(self, "withdrawn", stamp)
    record(self, "Withdrawn", stamp, reason=reason)
