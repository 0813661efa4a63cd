"""The handlers that act on the clocks: extend, re-date (correct), pause, resume."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from commands.complaint_inputs import directory_vouches, sealer
from commands.handler_table import handles
from commands.models import CorrectOccurrence, Envelope, ExtendDeadline, PauseClocks, ResumeClocks
from ledger.domain.complaint import Complaint
from ledger.domain.values import Stamp
from ledger.store.books import policy_in_force, work_calendar

if TYPE_CHECKING:
    from commands.handlers import Handler, LedgerPort


def extend(ledger: LedgerPort, cmd: ExtendDeadline, stamp: Stamp, now: datetime) -> Complaint:
    complaint = ledger.get_complaint(cmd.ref)
    policy = policy_in_force(ledger, complaint.received_at)
    complaint.extend(
        stamp,
        now,
        cmd.clock,
        cmd.days,
        sealer(ledger, complaint)(cmd.reason),
        cmd.approved_by,
        policy,
        work_calendar(ledger),
        approver_vouched=directory_vouches(ledger),
    )
    return complaint


def correct(ledger: LedgerPort, cmd: CorrectOccurrence, stamp: Stamp, now: datetime) -> Complaint:
    complaint = ledger.get_complaint(cmd.ref)
    complaint.correct(
        stamp,
        now,
        cmd.event,
        cmd.corrected_occurred_at,
        sealer(ledger, complaint)(cmd.reason),
        cmd.approved_by,
        policy_in_force(ledger, complaint.received_at),
        work_calendar(ledger),
        approver_vouched=directory_vouches(ledger),
    )
    return complaint


def pause(ledger: LedgerPort, cmd: PauseClocks, stamp: Stamp, now: datetime) -> Complaint:
    complaint = ledger.get_complaint(cmd.ref)
    policy = policy_in_force(ledger, complaint.received_at)
    reason = sealer(ledger, complaint)(cmd.reason)
    complaint.pause(stamp, now, reason, allowed=any(r.pausable for r in policy.rules))
    return complaint


def resume(ledger: LedgerPort, cmd: ResumeClocks, stamp: Stamp, now: datetime) -> Complaint:
    complaint = ledger.get_complaint(cmd.ref)
    complaint.resume(stamp, now, sealer(ledger, complaint)(cmd.reason))
    return complaint


CLOCK_HANDLERS: dict[type[Envelope], Handler] = dict(
    [
        handles(ExtendDeadline, extend),
        handles(CorrectOccurrence, correct),
        handles(PauseClocks, pause),
        handles(ResumeClocks, resume),
    ]
)
