"""The handlers of the plan's stages after intake: contact, findings, plan, execution,
outcome, callback, closure, reopening, withdrawal."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from commands.complaint_inputs import codes_in_force_for, sealer
from commands.handler_table import handles
from commands.models import (
    CloseComplaint,
    ContactCustomer,
    Envelope,
    ExecuteResolution,
    NotifyOutcome,
    PlanResolution,
    RecordCallback,
    RecordFindings,
    ReopenComplaint,
    WithdrawComplaint,
)
from ledger.domain.complaint import Complaint
from ledger.domain.values import Remedy, Stamp
from ledger.store.books import policy_in_force

if TYPE_CHECKING:
    from commands.handlers import Handler, LedgerPort


def contact(ledger: LedgerPort, cmd: ContactCustomer, stamp: Stamp, now: datetime) -> Complaint:
    complaint = ledger.get_complaint(cmd.ref)
    seal = sealer(ledger, complaint)
    complaint.contact(stamp, now, cmd.channel, cmd.reached, seal(cmd.summary))
    return complaint


def record_findings(
    ledger: LedgerPort, cmd: RecordFindings, stamp: Stamp, now: datetime
) -> Complaint:
    complaint = ledger.get_complaint(cmd.ref)
    seal = sealer(ledger, complaint)
    complaint.record_findings(stamp, now, cmd.substantiated, seal(cmd.findings), cmd.evidence)
    return complaint


def plan(ledger: LedgerPort, cmd: PlanResolution, stamp: Stamp, now: datetime) -> Complaint:
    complaint = ledger.get_complaint(cmd.ref)
    remedies = tuple(Remedy(r.kind, r.amount, r.detail) for r in cmd.remedies)
    complaint.plan(stamp, now, remedies)
    return complaint


def execute(ledger: LedgerPort, cmd: ExecuteResolution, stamp: Stamp, now: datetime) -> Complaint:
    complaint = ledger.get_complaint(cmd.ref)
    complaint.execute(stamp, now, sealer(ledger, complaint)(cmd.detail))
    return complaint


def notify_outcome(
    ledger: LedgerPort, cmd: NotifyOutcome, stamp: Stamp, now: datetime
) -> Complaint:
    complaint = ledger.get_complaint(cmd.ref)
    seal = sealer(ledger, complaint)
    complaint.notify_outcome(stamp, now, cmd.channel, seal(cmd.summary))
    return complaint


def record_callback(
    ledger: LedgerPort, cmd: RecordCallback, stamp: Stamp, now: datetime
) -> Complaint:
    complaint = ledger.get_complaint(cmd.ref)
    seal = sealer(ledger, complaint)
    if not cmd.reached:
        complaint.record_unreached_callback(stamp, now, seal(cmd.comment or ""))
        return complaint
    assert cmd.satisfaction is not None  # the model demands it of a reached callback
    complaint.record_callback(stamp, now, cmd.satisfaction, seal(cmd.comment or ""))
    return complaint


def close(ledger: LedgerPort, cmd: CloseComplaint, stamp: Stamp, now: datetime) -> Complaint:
    complaint = ledger.get_complaint(cmd.ref)
    seal = sealer(ledger, complaint)
    cause, business = codes_in_force_for(
        ledger, cmd.cause, cmd.business_type, cmd.business_channel, stamp
    )
    complaint.close(stamp, now, seal(cmd.root_cause), seal(cmd.improvement), cause, business)
    return complaint


def reopen(ledger: LedgerPort, cmd: ReopenComplaint, stamp: Stamp, now: datetime) -> Complaint:
    complaint = ledger.get_complaint(cmd.ref)
    policy = policy_in_force(ledger, complaint.received_at)
    reason = sealer(ledger, complaint)(cmd.reason)
    complaint.reopen(stamp, now, reason, restarts=policy.reopen_restarts)
    return complaint


def withdraw(ledger: LedgerPort, cmd: WithdrawComplaint, stamp: Stamp, now: datetime) -> Complaint:
    complaint = ledger.get_complaint(cmd.ref)
    complaint.withdraw(stamp, now, sealer(ledger, complaint)(cmd.reason))
    return complaint


RESOLUTION_HANDLERS: dict[type[Envelope], Handler] = dict(
    [
        handles(ContactCustomer, contact),
        handles(RecordFindings, record_findings),
        handles(PlanResolution, plan),
        handles(ExecuteResolution, execute),
        handles(NotifyOutcome, notify_outcome),
        handles(RecordCallback, record_callback),
        handles(CloseComplaint, close),
        handles(ReopenComplaint, reopen),
        handles(WithdrawComplaint, withdraw),
    ]
)
