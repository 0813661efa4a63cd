"""The handlers of records beside the stages: evidence, the regulator's reply, notes,
links, erasure, alerts."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from commands.complaint_inputs import sealer
from commands.handler_table import handles
from commands.models import (
    AddNote,
    AttachEvidence,
    Envelope,
    EraseComplaintData,
    LinkComplaints,
    RecordAlert,
    ReplyRegulator,
)
from ledger.domain.alerting import AlertFields
from ledger.domain.complaint import Complaint
from ledger.domain.sealed import LinkEntry
from ledger.domain.values import Stamp
from ledger.store.blind_index import index_time

if TYPE_CHECKING:
    from commands.handlers import Handler, LedgerPort


def attach(ledger: LedgerPort, cmd: AttachEvidence, stamp: Stamp, now: datetime) -> Complaint:
    complaint = ledger.get_complaint(cmd.ref)
    seal = sealer(ledger, complaint)
    complaint.attach_evidence(
        stamp, now, cmd.sha256, cmd.size, cmd.kind, seal(cmd.location),
        None if cmd.filename is None else seal(cmd.filename),
        None if cmd.note is None else seal(cmd.note),
    )  # fmt: skip
    return complaint


def reply_regulator(
    ledger: LedgerPort, cmd: ReplyRegulator, stamp: Stamp, now: datetime
) -> Complaint:
    complaint = ledger.get_complaint(cmd.ref)
    complaint.reply_regulator(stamp, now, sealer(ledger, complaint)(cmd.summary))
    return complaint


def add_note(ledger: LedgerPort, cmd: AddNote, stamp: Stamp, now: datetime) -> Complaint:
    complaint = ledger.get_complaint(cmd.ref)
    complaint.add_note(stamp, now, sealer(ledger, complaint)(cmd.text))
    return complaint


def link(ledger: LedgerPort, cmd: LinkComplaints, stamp: Stamp, now: datetime) -> Complaint:
    complaint = ledger.get_complaint(cmd.ref)
    other = ledger.get_complaint(cmd.other)  # an unknown reference is refused here
    complaint.link(
        stamp, now, cmd.other, sealer(ledger, complaint)(cmd.reason), cmd.ref in other.links
    )
    complaint.key_changes.links.append(LinkEntry(cmd.ref, cmd.other, index_time(stamp.occurred_at)))
    return complaint


def erase(ledger: LedgerPort, cmd: EraseComplaintData, stamp: Stamp, now: datetime) -> Complaint:
    complaint = ledger.get_complaint(cmd.ref)
    complaint.erase_personal_data(stamp, now, cmd.reason)
    return complaint


def record_alert(ledger: LedgerPort, cmd: RecordAlert, stamp: Stamp, now: datetime) -> Complaint:
    complaint = ledger.get_complaint(cmd.ref)
    alert = AlertFields(cmd.rule, cmd.clock, cmd.recipient, cmd.address, cmd.channel, cmd.attempts)
    complaint.record_alert(stamp, now, alert, cmd.outcome == "sent", cmd.error)
    return complaint


RECORD_HANDLERS: dict[type[Envelope], Handler] = dict(
    [
        handles(AttachEvidence, attach),
        handles(ReplyRegulator, reply_regulator),
        handles(AddNote, add_note),
        handles(LinkComplaints, link),
        handles(EraseComplaintData, erase),
        handles(RecordAlert, record_alert),
    ]
)
