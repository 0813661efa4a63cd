"""What complaint handlers prepare from the ledger before deciding: text sealed under the
complaint's key, the codes in force (the cause, the regulator's business type and channel), an
escalation's addressee, whether the staff directory vouches for an approver."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from ledger.domain.codes import Business, Cause, CodeList
from ledger.domain.complaint import Complaint
from ledger.domain.errors import CauseUnknown, DirectoryRefused
from ledger.domain.sealed import SealedText
from ledger.domain.values import Stamp, Unit
from ledger.store.codelists import codes_in_force
from ledger.store.crypto import seal_text, withheld_text

if TYPE_CHECKING:
    from commands.handlers import LedgerPort


def sealer(ledger: LedgerPort, complaint: Complaint) -> Callable[[str], SealedText]:
    """Seals free text under the complaint's key before any event exists; once the key is
    destroyed, text given is withheld (never kept), as the complaint's other text reads."""
    key = ledger.complaint_key(complaint, current=True)
    if key is None:
        key_id = complaint.complainant.key_id
        return lambda _text: withheld_text(key_id)
    return lambda text: seal_text(text, key, complaint.id)


def codes_in_force_for(
    ledger: LedgerPort,
    cause: str | None,
    business_type: str | None,
    business_channel: str | None,
    stamp: Stamp,
) -> tuple[Cause | None, Business | None]:
    """The cause and the regulator's business type and business channel an action gives,
    all checked against the one code list in force when it happened (the latest published
    with ``effective_from`` at or before it, as the policy is chosen; read once). None for
    the cause, or for the business codes when neither is given."""
    if cause is None and business_type is None and business_channel is None:
        return None, None
    field = (
        "cause" if cause is not None else "business_type" if business_type else "business_channel"
    )
    codes = _codes_at(ledger, field, stamp)
    checked = None if cause is None else codes.check(cause)
    if business_type is None and business_channel is None:
        return checked, None
    return checked, codes.check_business(business_type, business_channel)


def _codes_at(ledger: LedgerPort, field: str, stamp: Stamp) -> CodeList:
    codes = codes_in_force(ledger, stamp.occurred_at)
    if codes is None:
        raise CauseUnknown(
            f"{field}: no code list was in force at {stamp.occurred_at.isoformat()}; "
            "publish one first (codes publish)"
        )
    return codes


def addressee(ledger: LedgerPort, to: str) -> str:
    """Who an escalation goes to: a unit of the plan's organisation, or (once the staff
    directory has members) one of them."""
    if to in {str(u) for u in Unit}:
        return to
    directory = ledger.staff_directory()
    if directory is not None and directory.members and to not in directory.members:
        units = ", ".join(str(u) for u in Unit)
        raise DirectoryRefused(
            f"an escalation goes to a unit ({units}) or a member of staff; {to!r} is neither"
        )
    return to


def directory_vouches(ledger: LedgerPort) -> bool:
    """Whether ``authorise`` checked ``approved_by`` against the staff directory (it does once
    the directory has a member): then the approver need not be the one who records."""
    directory = ledger.staff_directory()
    return directory is not None and bool(directory.members)
