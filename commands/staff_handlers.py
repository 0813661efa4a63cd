"""The staff directory's handlers: load the directory (opened on the first member), decide."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from commands.handler_table import handles
from commands.models import Envelope
from commands.staff_models import (
    AddStaff,
    AllowServiceLogin,
    GrantRole,
    IssueToken,
    RequireAuthentication,
    RevokeRole,
    RevokeToken,
)
from ledger.domain.staff import StaffDirectory
from ledger.domain.values import Stamp
from ledger.store.books import load_staff_directory

if TYPE_CHECKING:
    from commands.handlers import Handler, LedgerPort


def _directory(ledger: LedgerPort) -> StaffDirectory:
    return load_staff_directory(ledger) or StaffDirectory()


def add_staff(ledger: LedgerPort, cmd: AddStaff, stamp: Stamp, now: datetime) -> StaffDirectory:
    directory = _directory(ledger)
    directory.add(
        stamp,
        staff_id=cmd.staff_id,
        name=cmd.name,
        unit=cmd.unit,
        email=cmd.email,
        login=cmd.login,
        roles=cmd.roles,
        effective_from=cmd.effective_from or stamp.occurred_at,
    )
    return directory


def grant_role(ledger: LedgerPort, cmd: GrantRole, stamp: Stamp, now: datetime) -> StaffDirectory:
    directory = _directory(ledger)
    directory.grant(stamp, cmd.staff_id, cmd.role, cmd.effective_from or stamp.occurred_at)
    return directory


def revoke_role(ledger: LedgerPort, cmd: RevokeRole, stamp: Stamp, now: datetime) -> StaffDirectory:
    directory = _directory(ledger)
    directory.revoke(stamp, cmd.staff_id, cmd.role, cmd.effective_from or stamp.occurred_at)
    return directory


def issue_token(ledger: LedgerPort, cmd: IssueToken, stamp: Stamp, now: datetime) -> StaffDirectory:
    directory = _directory(ledger)
    directory.issue_token(stamp, cmd.staff_id, cmd.token_hash, cmd.expires_at)
    return directory


def revoke_token(
    ledger: LedgerPort, cmd: RevokeToken, stamp: Stamp, now: datetime
) -> StaffDirectory:
    directory = _directory(ledger)
    directory.revoke_tokens(stamp, cmd.staff_id, cmd.token_id)
    return directory


def require_authentication(
    ledger: LedgerPort, cmd: RequireAuthentication, stamp: Stamp, now: datetime
) -> StaffDirectory:
    directory = _directory(ledger)
    directory.require_authentication(stamp)
    return directory


def allow_service_login(
    ledger: LedgerPort, cmd: AllowServiceLogin, stamp: Stamp, now: datetime
) -> StaffDirectory:
    directory = _directory(ledger)
    directory.allow_service_login(stamp, cmd.login)
    return directory


STAFF_HANDLERS: dict[type[Envelope], Handler] = dict(
    [
        handles(AddStaff, add_staff),
        handles(GrantRole, grant_role),
        handles(RevokeRole, revoke_role),
        handles(IssueToken, issue_token),
        handles(RevokeToken, revoke_token),
        handles(RequireAuthentication, require_authentication),
        handles(AllowServiceLogin, allow_service_login),
    ]
)
