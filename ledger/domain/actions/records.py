"""Records beside the stages, allowed after closure too: the regulator's reply, notes, links,
evidence, erasure of personal data, alerts."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from ledger.domain.actions.guards import check_not_future, check_recordable, check_time, record
from ledger.domain.alerting import AlertFields
from ledger.domain.errors import AlreadyErased, LinkRefused, NotAReferral, OccurredTooEarly
from ledger.domain.sealed import SealedText
from ledger.domain.values import Channel, EvidenceKind, Stamp

if TYPE_CHECKING:
    from ledger.domain.complaint import Complaint


def reply_regulator(self: Complaint, stamp: Stamp, now: datetime, summary: SealedText) -> None:
    """The company's reply to the regulator that referred the complaint (issue 15): the
    first stops the regulator-reply clock; later ones (supplements) stop nothing. Allowed
    after closure, since the reply reports the result."""
    check_recordable(self, stamp, now, "reply-regulator")
    if self.channel is not Channel.REGULATOR_REFERRAL or not self.referral_number:
        raise NotAReferral(
            f"{self.ref} was received by {self.channel}, not as a regulator_referral with "
            "a referral number; there is no regulator to reply to"
        )
    check_time(self, "replied", stamp)
    record(self, "RegulatorReplied", stamp, summary=summary)


def add_note(self: Complaint, stamp: Stamp, now: datetime, text: SealedText) -> None:
    check_recordable(self, stamp, now, "add-note")
    check_time(self, "note", stamp)
    record(self, "NoteAdded", stamp, text=text)


def link(
    self: Complaint, stamp: Stamp, now: datetime, other: str, reason: SealedText, linked_back: bool
) -> None:
    """Link this complaint to ``other``, about the same incident (allowed after closure).
    ``linked_back``: ``other`` already names this one among its links."""
    check_recordable(self, stamp, now, "link")
    if other == self.ref:
        raise LinkRefused(f"{self.ref} cannot be linked to itself")
    if other in self.links or linked_back:
        raise LinkRefused(f"{self.ref} and {other} are already linked")
    check_time(self, "linked", stamp)
    record(self, "ComplaintLinked", stamp, other=other, reason=reason)


def attach_evidence(
    self: Complaint, stamp: Stamp, now: datetime, sha256: str, size: int, kind: EvidenceKind,
    location: SealedText, filename: SealedText | None, note: SealedText | None,
) -> None:  # fmt: skip
    """Evidence (a recording, document or screenshot) by its SHA-256 and size, and where
    it is kept; also after closure (a callback's recording). Not once the complainant's
    personal data is erased: the file is theirs too, and an erasure happens once, so
    nothing would delete a file attached afterwards."""
    check_recordable(self, stamp, now, "attach")
    if self.personal_data_erased:
        raise AlreadyErased(
            f"{self.ref}: the complainant's personal data was erased; no evidence may be "
            "attached to it"
        )
    check_time(self, "evidence", stamp)
    record(self, "EvidenceAttached", stamp, sha256=sha256, size=size, kind=kind, location=location,
        filename=filename, note=note,
    )  # fmt: skip


def erase_personal_data(self: Complaint, stamp: Stamp, now: datetime, reason: str) -> None:
    """Destroy the key of the complainant's personal data (allowed in any status)."""
    check_not_future(stamp.occurred_at, now)
    if stamp.occurred_at < self.received_at:
        raise OccurredTooEarly(
            f"occurred_at {stamp.occurred_at.isoformat()} is before the complaint was "
            f"received ({self.received_at.isoformat()})"
        )
    if self.personal_data_erased:
        raise AlreadyErased(f"{self.ref}: the complainant's personal data was already erased")
    record(self, "PersonalDataErased", stamp, reason=reason, key_id=self.complainant.key_id)
    self.key_changes.destroyed.append(self.complainant.key_id)


def record_alert(
    self: Complaint, stamp: Stamp, now: datetime, alert: AlertFields, sent: bool, error: str | None
) -> None:
    """Record that an alert about this complaint was sent (or failed for good): allowed
    in any status, and no action on the case (the clocks and the time rule ignore it)."""
    check_not_future(stamp.occurred_at, now)
    if stamp.occurred_at < self.received_at:
        raise OccurredTooEarly(
            f"occurred_at {stamp.occurred_at.isoformat()} is before the complaint was "
            f"received ({self.received_at.isoformat()})"
        )
    if sent:
        record(self, "AlertSent", stamp, **alert.as_fields())
    else:
        record(self, "AlertFailed", stamp, **alert.as_fields(), error=error or "")
