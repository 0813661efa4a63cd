"""The handlers of what goes to and comes from the leadership group: escalations,
instructions, sign-off, accountability, improvement measures."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING

from commands.complaint_inputs import addressee, sealer
from commands.handler_table import handles
from commands.models import (
    AcknowledgeEscalation,
    AddImprovement,
    CompleteImprovement,
    Envelope,
    EscalateComplaint,
    InstructComplaint,
    RecordAccountability,
    SignOff,
)
from ledger.domain.actions.intake import LEADERSHIP_GROUP
from ledger.domain.complaint import Complaint
from ledger.domain.errors import DirectoryRefused
from ledger.domain.values import Stamp

if TYPE_CHECKING:
    from commands.handlers import Handler, LedgerPort


def escalate(ledger: LedgerPort, cmd: EscalateComplaint, stamp: Stamp, now: datetime) -> Complaint:
    complaint = ledger.get_complaint(cmd.ref)
    to = cmd.to
    if to is None and cmd.public_attention:
        to = LEADERSHIP_GROUP
    to = None if to is None else addressee(ledger, to)
    complaint.escalate(stamp, now, sealer(ledger, complaint)(cmd.reason), to, cmd.public_attention)
    return complaint


def acknowledge(
    ledger: LedgerPort, cmd: AcknowledgeEscalation, stamp: Stamp, now: datetime
) -> Complaint:
    complaint = ledger.get_complaint(cmd.ref)
    complaint.acknowledge(stamp, now)
    return complaint


def instruct(ledger: LedgerPort, cmd: InstructComplaint, stamp: Stamp, now: datetime) -> Complaint:
    complaint = ledger.get_complaint(cmd.ref)
    complaint.instruct(stamp, now, sealer(ledger, complaint)(cmd.text))
    return complaint


def sign_off(ledger: LedgerPort, cmd: SignOff, stamp: Stamp, now: datetime) -> Complaint:
    complaint = ledger.get_complaint(cmd.ref)
    complaint.sign_off(stamp, now, sealer(ledger, complaint)(cmd.text))
    return complaint


def record_accountability(
    ledger: LedgerPort, cmd: RecordAccountability, stamp: Stamp, now: datetime
) -> Complaint:
    complaint = ledger.get_complaint(cmd.ref)
    directory = ledger.staff_directory()
    team = cmd.team or complaint.team
    if directory is not None and directory.members:
        member = directory.members.get(cmd.staff)
        if member is None:
            raise DirectoryRefused(f"staff: {cmd.staff!r} is not in the staff directory")
        team = team or str(member.unit)
    seal = sealer(ledger, complaint)
    complaint.record_accountability(
        stamp, now, cmd.staff, team, seal(cmd.finding), seal(cmd.decision)
    )
    return complaint


def add_improvement(
    ledger: LedgerPort, cmd: AddImprovement, stamp: Stamp, now: datetime
) -> Complaint:
    complaint = ledger.get_complaint(cmd.ref)
    directory = ledger.staff_directory()
    if directory is not None and directory.members and cmd.owner not in directory.members:
        raise DirectoryRefused(f"owner: {cmd.owner!r} is not in the staff directory")
    measure = sealer(ledger, complaint)(cmd.measure)
    complaint.add_improvement(stamp, now, measure, cmd.owner, cmd.due.astimezone(UTC))
    return complaint


def complete_improvement(
    ledger: LedgerPort, cmd: CompleteImprovement, stamp: Stamp, now: datetime
) -> Complaint:
    complaint = ledger.get_complaint(cmd.ref)
    note = None if cmd.text is None else sealer(ledger, complaint)(cmd.text)
    complaint.complete_improvement(stamp, now, cmd.improvement_id, note)
    return complaint


LEADERSHIP_HANDLERS: dict[type[Envelope], Handler] = dict(
    [
        handles(EscalateComplaint, escalate),
        handles(AcknowledgeEscalation, acknowledge),
        handles(InstructComplaint, instruct),
        handles(SignOff, sign_off),
        handles(RecordAccountability, record_accountability),
        handles(AddImprovement, add_improvement),
        handles(CompleteImprovement, complete_improvement),
    ]
)
