"""Who may act: the command's actor checked against how the caller was proven and against
the staff directory, once, in ``handle`` (so the command line, JSON Lines, ``--bulk`` and
the HTTP API all get the same answer)."""

from __future__ import annotations

from datetime import datetime
from typing import Protocol

from commands.envelope import Envelope
from ledger.domain.errors import IdentityNotProven, NotAuthorised
from ledger.domain.roles import check_role
from ledger.domain.staff import StaffDirectory
from ledger.domain.values import Actor, Method, Proof, Role


class DirectoryPort(Protocol):
    def staff_directory(self) -> StaffDirectory | None: ...


def authorise(ledger: DirectoryPort, command: Envelope, proof: Proof, now: datetime) -> Actor:
    """The actor to record on the command's events, or the error that refuses it.

    Until the directory has a member, the actor is taken at its word (``asserted``), as it
    always was. From then on the caller must be proven to be the member the command names
    (or a service login acting for them), and the member must hold the role both when the
    action happened (``occurred_at``) and now."""
    check_role(command.actor.role, command.action)
    claimed = Actor(command.actor.id, Role(command.actor.role))
    directory = ledger.staff_directory()
    if directory is None or not directory.members:
        if proof.method is Method.TOKEN:
            raise IdentityNotProven("the staff directory is empty: no token can be valid")
        return claimed
    occurred = command.occurred_at or now
    actor = directory.authorise(claimed, proof, occurred, now)
    approver = getattr(command, "approved_by", None)
    if approver is not None and not directory.holds(approver, Role.LEADERSHIP, occurred):
        raise NotAuthorised(
            f"approved_by: {approver} does not hold leadership in the staff directory "
            f"at {occurred.isoformat()}"
        )
    return actor
