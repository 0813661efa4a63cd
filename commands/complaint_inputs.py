"""What complaint handlers prepare from the ledger before deciding: text sealed under the
complaint's key, the cause code in force, an escalation's addressee, whether the staff
directory vouches for an approver."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from ledger.domain.codes import Cause
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


def cause_in_force(ledger: LedgerPort, code: str | None, stamp: Stamp) -> Cause | None:
    """The cause ``code`` names in the code list in force when the action happened (the
    latest published with ``effective_from`` at or before it, as the policy is chosen)."""
    if code is None:
        return None
    codes = codes_in_force(ledger, stamp.occurred_at)
    if codes is None:
        raise CauseUnknown(
            f"cause: no code list was in force at {stamp.occurred_at.isoformat()}; "
            "publish one first (codes publish)"
        )
    return codes.check(code)


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
