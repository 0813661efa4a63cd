"""A complaint's intake: its receipt, the initial judgment (triage), escalation, the agency
named, assignment."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from ledger.domain.actions.guards import (
    CLOCK_SKEW,
    ESCALATING_SEVERITIES,
    check_not_future,
    check_open,
    check_time,
    coded,
    record,
)
from ledger.domain.codes import Business, Cause
from ledger.domain.errors import OccurredInFuture, OccurredTooEarly
from ledger.domain.sealed import PersonKey, SealedComplainant, SealedText
from ledger.domain.values import Channel, Severity, Stamp

if TYPE_CHECKING:
    from ledger.domain.complaint import Complaint


LEADERSHIP_GROUP = "leadership_group"  # the unit escalations go to unless another is named
# The reason of an escalation for public attention: the ledger's own words, kept plain.
PUBLIC_ATTENTION = "public attention (舆情)"


def receive(
    cls: type[Complaint],
    *,
    ref: str,
    stamp: Stamp,
    now: datetime,
    channel: Channel,
    received_at: datetime,
    complainant: SealedComplainant,
    person_key: PersonKey | None,
    account_ref: SealedText | None,
    collector: str | None,
    content: SealedText,
    category: str,
    tags: tuple[str, ...],
    referral_number: str | None,
    policy_version: str,
) -> Complaint:
    """Record a new complaint; ``complainant`` is already sealed with ``person_key``,
    which is saved with the ``Received`` event (see ``take_key_changes``)."""
    if received_at > now + CLOCK_SKEW:
        raise OccurredInFuture(f"received_at {received_at.isoformat()} is in the future")
    check_not_future(stamp.occurred_at, now)
    if stamp.occurred_at < received_at:
        raise OccurredTooEarly(
            f"occurred_at {stamp.occurred_at.isoformat()} is before the complaint was "
            f"received ({received_at.isoformat()})"
        )
    complaint = cls(
        ref=ref,
        channel=channel,
        received_at=received_at,
        complainant=complainant,
        account_ref=account_ref,
        collector=collector,
        content=content,
        category=category,
        tags=list(tags),
        referral_number=referral_number,
        policy_version=policy_version,
        actor=stamp.actor,
        occurred_at=stamp.occurred_at,
        command_id=stamp.command_id,
    )
    if person_key is not None:
        complaint.key_changes.new.append(person_key)
    return complaint


def triage(
    self: Complaint,
    stamp: Stamp,
    now: datetime,
    severity: Severity,
    category: str,
    assessment: SealedText,
    escalate_to: str | None = None,
    public_attention: bool = False,
    cause: Cause | None = None,
    business: Business | None = None,
) -> None:
    """The initial judgment. An urgent or major one escalates (to ``escalate_to``, which
    starts the acknowledgement clock, when given); public attention escalates at once.
    ``cause`` is a cause code, ``business`` the regulator's business type and channel, that
    the handler checked against the code list in force."""
    check_open(self, stamp, now, "triage")
    check_time(self, "triaged", stamp)
    record(
        self,
        "Triaged",
        stamp,
        severity=severity,
        category=category,
        assessment=assessment,
        **coded(cause, business),
    )
    if public_attention:
        self.raise_escalation(stamp, PUBLIC_ATTENTION, escalate_to or LEADERSHIP_GROUP, True, True)
    elif severity in ESCALATING_SEVERITIES and not self.escalated:
        record(self, "Escalated", stamp, reason=f"triaged as {severity}", automatic=True)
        if escalate_to is not None:
            record(self, "EscalationAddressed", stamp, to=escalate_to, public_attention=False)
    elif escalate_to is not None:
        self.raise_escalation(stamp, f"triaged as {severity}", escalate_to, False, True)


def escalate(
    self: Complaint,
    stamp: Stamp,
    now: datetime,
    reason: SealedText,
    to: str | None = None,
    public_attention: bool = False,
) -> None:
    """Escalate; one that names who it goes to starts the acknowledgement clock."""
    check_open(self, stamp, now, "escalate")
    check_time(self, "escalated", stamp)
    self.raise_escalation(stamp, reason, to, public_attention, automatic=False)


def raise_escalation(
    self: Complaint,
    stamp: Stamp,
    reason: SealedText | str,
    to: str | None,
    public_attention: bool,
    automatic: bool,
) -> None:
    record(self, "Escalated", stamp, reason=reason, automatic=automatic)
    if to is not None:
        record(self, "EscalationAddressed", stamp, to=to, public_attention=public_attention)


def name_agency(self: Complaint, stamp: Stamp, agency: str) -> None:
    """The outsourced collection agency the complaint is about (at receipt or triage)."""
    if agency != self.agency:
        record(self, "AgencyNamed", stamp, agency=agency)


def assign(self: Complaint, stamp: Stamp, now: datetime, handler: str, team: str) -> None:
    check_open(self, stamp, now, "assign")
    check_time(self, "assigned", stamp)
    record(self, "Assigned", stamp, handler=handler, team=team)
