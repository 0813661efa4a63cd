"""The handlers of a complaint's intake: receive (with its reference), triage, assign."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from commands.complaint_inputs import addressee, codes_in_force_for, sealer
from commands.handler_table import handles
from commands.models import AssignComplaint, Envelope, ReceiveComplaint, TriageComplaint
from ledger.domain.actions.intake import LEADERSHIP_GROUP, PUBLIC_ATTENTION
from ledger.domain.complaint import Complaint
from ledger.domain.errors import DuplicateReference
from ledger.domain.sealed import SealedText
from ledger.domain.values import Complainant, Stamp, reference_id
from ledger.store.blind_index import index_entries, index_time
from ledger.store.books import policy_in_force
from ledger.store.crypto import seal_complainant, seal_text

if TYPE_CHECKING:
    from commands.handlers import Handler, LedgerPort


REFERENCE_TIMEZONE = ZoneInfo("Asia/Shanghai")  # the day a reference is numbered in


def receive(ledger: LedgerPort, cmd: ReceiveComplaint, stamp: Stamp, now: datetime) -> Complaint:
    if cmd.ref is None:
        ref = next_reference(ledger, cmd.received_at)
    elif ledger.has_complaint(cmd.ref):
        raise DuplicateReference(f"a complaint with reference {cmd.ref!r} was already received")
    else:
        ref = cmd.ref
    person = cmd.complainant
    # Personal data is encrypted here, before any event exists: plaintext never reaches the store.
    sealed, key = seal_complainant(
        Complainant(person.name, person.phone, person.id_number, person.address),
        reference_id(ref),
    )

    def seal(text: str) -> SealedText:
        return seal_text(text, key, reference_id(ref))

    complaint = Complaint.receive(
        ref=ref,
        stamp=stamp,
        now=now,
        channel=cmd.channel,
        received_at=cmd.received_at.astimezone(UTC),
        complainant=sealed,
        person_key=key,
        account_ref=None if cmd.account_ref is None else seal(cmd.account_ref),
        collector=cmd.collector,
        content=seal(cmd.content),
        category=cmd.category,
        tags=cmd.tags,
        referral_number=cmd.referral_number,
        policy_version=policy_in_force(ledger, cmd.received_at).version,
    )
    # The blind index of the complainant, written with the events (ledger.store.blind_index).
    complaint.key_changes.index.extend(
        index_entries(
            ledger.index_secret(),
            key_id=key.key_id,
            ref=ref,
            received_at=index_time(cmd.received_at),
            phone=person.phone,
            id_number=person.id_number,
            account_ref=cmd.account_ref,
        )
    )
    if cmd.agency is not None:
        complaint.name_agency(stamp, cmd.agency)
    if cmd.public_attention:  # media or public-opinion risk escalates at once
        to = addressee(ledger, cmd.escalate_to or LEADERSHIP_GROUP)
        complaint.raise_escalation(stamp, PUBLIC_ATTENTION, to, True, automatic=True)
    return complaint


def next_reference(ledger: LedgerPort, received_at: datetime) -> str:
    """The first free ``TS-YYYYMMDD-NNNN`` of the local day of receipt."""
    # isoformat, not strftime: strftime writes the year 1 as "1", not "0001".
    day = received_at.astimezone(REFERENCE_TIMEZONE).date().isoformat().replace("-", "")

    def taken(n: int) -> bool:
        return ledger.has_complaint(f"TS-{day}-{n:04d}")

    # Numbers are handed out in order, so "taken" is true up to some n: search for the edge.
    high = 1
    while taken(high):
        high *= 2
    low = high // 2
    while high - low > 1:
        middle = (low + high) // 2
        if taken(middle):
            low = middle
        else:
            high = middle
    return f"TS-{day}-{high:04d}"


def triage(ledger: LedgerPort, cmd: TriageComplaint, stamp: Stamp, now: datetime) -> Complaint:
    complaint = ledger.get_complaint(cmd.ref)
    seal = sealer(ledger, complaint)
    to = None if cmd.escalate_to is None else addressee(ledger, cmd.escalate_to)
    cause, business = codes_in_force_for(
        ledger, cmd.cause, cmd.business_type, cmd.business_channel, stamp
    )
    complaint.triage(
        stamp,
        now,
        cmd.severity,
        cmd.category,
        seal(cmd.assessment),
        to,
        cmd.public_attention,
        cause,
        business,
    )
    if cmd.agency is not None:
        complaint.name_agency(stamp, cmd.agency)
    return complaint


def assign(ledger: LedgerPort, cmd: AssignComplaint, stamp: Stamp, now: datetime) -> Complaint:
    complaint = ledger.get_complaint(cmd.ref)
    complaint.assign(stamp, now, cmd.handler, cmd.team)
    return complaint


INTAKE_HANDLERS: dict[type[Envelope], Handler] = dict(
    [
        handles(ReceiveComplaint, receive),
        handles(TriageComplaint, triage),
        handles(AssignComplaint, assign),
    ]
)
