"""What the leadership group does on a complaint, and what follows a finding: acknowledging
escalations, instructions, sign-off, accountability, improvement measures."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from ledger.domain.actions.guards import check_open, check_recordable, check_time, record
from ledger.domain.errors import ImprovementRefused, OutOfOrder, RoleNotAllowed
from ledger.domain.sealed import SealedText
from ledger.domain.values import Role, Stamp

if TYPE_CHECKING:
    from ledger.domain.complaint import Complaint


def acknowledge(self: Complaint, stamp: Stamp, now: datetime) -> None:
    """The leadership group acknowledges the escalations not yet acknowledged."""
    check_open(self, stamp, now, "acknowledge")
    if not self.escalated:
        raise OutOfOrder(f"{self.ref} has not been escalated; there is nothing to acknowledge")
    if self.acknowledged >= self.escalations:
        raise OutOfOrder(f"{self.ref}: every escalation has already been acknowledged")
    check_time(self, "acknowledged", stamp)
    record(self, "EscalationAcknowledged", stamp)


def instruct(self: Complaint, stamp: Stamp, now: datetime, text: SealedText) -> None:
    """A leadership instruction (批示) on an escalated complaint, also after closure."""
    check_recordable(self, stamp, now, "instruct")
    if not self.escalated:
        raise OutOfOrder(
            f"{self.ref} has not been escalated; instructions are given on escalated cases"
        )
    check_time(self, "instructed", stamp)
    record(self, "LeadershipInstructed", stamp, text=text)


def sign_off(self: Complaint, stamp: Stamp, now: datetime, text: SealedText) -> None:
    """The leadership group was reported the result and signs it off (before closure)."""
    check_open(self, stamp, now, "sign-off")
    if self.executed_at is None:
        raise OutOfOrder(
            f"{self.ref}: the resolution has not been executed; there is no result to sign off"
        )
    check_time(self, "signed_off", stamp)
    record(self, "SignedOff", stamp, text=text)


def record_accountability(
    self: Complaint, stamp: Stamp, now: datetime, staff: str, team: str | None, finding: SealedText,
    decision: SealedText,
) -> None:  # fmt: skip
    """Accountability (责任追究): a finding about a member of staff and the decision."""
    check_recordable(self, stamp, now, "accountability record")
    check_time(self, "accountability", stamp)
    record(
        self,
        "AccountabilityRecorded",
        stamp,
        staff=staff,
        team=team,
        finding=finding,
        decision=decision,
    )


def add_improvement(
    self: Complaint, stamp: Stamp, now: datetime, measure: SealedText, owner: str, due: datetime
) -> str:
    """An improvement measure (溯源整改) with its owner and deadline, also after closure
    (the measures follow the finding); its id is the next number of the complaint."""
    check_recordable(self, stamp, now, "improvement add")
    if due < self.received_at:
        raise ImprovementRefused(
            f"due {due.isoformat()} is before the complaint was received "
            f"({self.received_at.isoformat()})"
        )
    item = str(len(self.improvements) + 1)
    check_time(self, "improvement", stamp, item=item, due=due)
    record(
        self, "ImprovementAdded", stamp, improvement_id=item, measure=measure, owner=owner, due=due
    )
    return item


def complete_improvement(
    self: Complaint, stamp: Stamp, now: datetime, improvement_id: str, note: SealedText | None
) -> None:
    """Mark a measure done: its owner or the leadership group, once."""
    check_recordable(self, stamp, now, "improvement done")
    found = self.improvements.get(improvement_id)
    if found is None:
        known = ", ".join(self.improvements) or "none"
        raise ImprovementRefused(
            f"{self.ref} has no improvement {improvement_id!r} (its improvements: {known})"
        )
    if found.done_at is not None:
        raise ImprovementRefused(
            f"improvement {improvement_id} of {self.ref} was already marked done at "
            f"{found.done_at.isoformat()}"
        )
    actor = stamp.actor
    if actor.role is not Role.LEADERSHIP and actor.id != found.owner:
        raise RoleNotAllowed(
            f"improvement {improvement_id} of {self.ref} is owned by {found.owner!r}: only "
            f"its owner or the leadership group may mark it done, not {actor.id!r}"
        )
    check_time(self, "improved", stamp, item=improvement_id)
    record(self, "ImprovementCompleted", stamp, improvement_id=improvement_id, note=note)
