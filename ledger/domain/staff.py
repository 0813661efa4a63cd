"""The staff directory: who works in the complaints department, in which roles and when,
and how each proves who they are (DESIGN.md, principle 8).

It is one aggregate in one stream with a fixed id, so its history is in the log like any
complaint's, chained and sealed with it. Roles are granted and revoked from a moment on, so
the directory answers "did li hold handling_team at 16:40 on 24 September?" for any moment.
Tokens are kept only as the SHA-256 of the secret, which is printed once and never stored.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime

from eventsourcing.domain import Aggregate, event

from ledger.domain.errors import (
    DirectoryRefused,
    IdentityNotProven,
    NotAuthorised,
    TokenRefused,
)
from ledger.domain.events import register
from ledger.domain.values import Actor, Method, Proof, Role, Stamp, Unit

STAFF_DIRECTORY_ID = uuid.UUID("4fa01c7b-5c40-5d9e-8f60-1b2c3d4e5f60")
STAFF_REF = "@staff"  # the directory's name in the command log (never a complaint reference)


@dataclass
class Grant:
    """A role held from ``start`` until ``end`` (open-ended while None)."""

    role: Role
    start: datetime
    end: datetime | None = None

    def covers(self, moment: datetime) -> bool:
        return self.start <= moment and (self.end is None or moment < self.end)


@dataclass
class Member:
    id: str
    name: str
    unit: Unit
    email: str | None
    login: str  # the PostgreSQL login that proves this member on the command line
    grants: list[Grant] = field(default_factory=list)

    def holds(self, role: Role, moment: datetime) -> bool:
        return any(g.role is role and g.covers(moment) for g in self.grants)

    def roles_at(self, moment: datetime) -> list[Role]:
        return sorted({g.role for g in self.grants if g.covers(moment)})

    def open_grant(self, role: Role) -> Grant | None:
        return next((g for g in self.grants if g.role is role and g.end is None), None)


@dataclass
class Token:
    token_id: str
    staff_id: str
    expires_at: datetime
    revoked_at: datetime | None = None


def token_id_of(token_hash: str) -> str:
    """A token's public name: the start of its hash (enough to tell a member's tokens apart)."""
    return token_hash[:12]


class StaffDirectory(Aggregate):
    """Every member of staff, their roles over time, their tokens and the ledger's
    authentication setting."""

    @staticmethod
    def create_id() -> uuid.UUID:
        return STAFF_DIRECTORY_ID

    @event("Opened")
    def __init__(self) -> None:
        self.ref = STAFF_REF
        self.members: dict[str, Member] = {}
        self.tokens: dict[str, Token] = {}  # by hash
        self.service_logins: set[str] = set()
        self.authentication_required_from: datetime | None = None

    # ------------------------------------------------------------------ queries

    def member_by_login(self, login: str) -> Member | None:
        return next((m for m in self.members.values() if m.login == login), None)

    def holds(self, staff_id: str, role: Role, moment: datetime) -> bool:
        member = self.members.get(staff_id)
        return member is not None and member.holds(role, moment)

    def requires_authentication(self, moment: datetime) -> bool:
        since = self.authentication_required_from
        return since is not None and since <= moment

    def authenticate(self, token_hash: str, now: datetime) -> Member:
        """The member a token proves, or ``TokenRefused``."""
        token = self.tokens.get(token_hash)
        if token is None:
            raise TokenRefused("the token is not one the staff directory issued")
        if token.revoked_at is not None:
            raise TokenRefused(f"token {token.token_id} was revoked")
        if now >= token.expires_at:
            raise TokenRefused(f"token {token.token_id} expired at {token.expires_at.isoformat()}")
        return self.members[token.staff_id]

    def authorise(
        self, claimed: Actor, proof: Proof, occurred_at: datetime, now: datetime
    ) -> Actor:
        """The actor as recorded: ``claimed`` (the member and role the command names) once
        ``proof`` shows the caller is that member (or a service login acting for them), and
        the member holds the role both when the action happened and now."""
        if proof.method is Method.TOKEN:
            if claimed.id != proof.staff_id:
                raise IdentityNotProven(
                    f"the token is {proof.staff_id}'s; it cannot act as {claimed.id}"
                )
        elif proof.method is Method.DATABASE:
            login = proof.credential or ""
            if login not in self.service_logins:
                owner = self.member_by_login(login)
                if owner is None:
                    raise IdentityNotProven(
                        f"database login {login!r} is no staff member's login and not a service "
                        "login; connect as your own login (staff add --login)"
                    )
                if owner.id != claimed.id:
                    raise IdentityNotProven(
                        f"database login {login!r} is {owner.id}'s; it cannot act as {claimed.id}"
                    )
        elif self.requires_authentication(now):
            raise IdentityNotProven(
                "the ledger requires authenticated writes (staff require authenticated): "
                "use the HTTP API with a token, or the command line on PostgreSQL as your login"
            )
        member = self.members.get(claimed.id)
        if member is None:
            raise NotAuthorised(f"{claimed.id} is not in the staff directory")
        for moment, when in ((occurred_at, "when it happened"), (now, "now")):
            if not member.holds(claimed.role, moment):
                held = ", ".join(member.roles_at(moment)) or "none"
                raise NotAuthorised(
                    f"{claimed.id} does not hold the role {claimed.role} {when} "
                    f"({moment.isoformat()}); roles held then: {held}"
                )
        return Actor(claimed.id, claimed.role, proof.method, proof.credential)

    # ------------------------------------------------------------------ commands

    def add(
        self,
        stamp: Stamp,
        *,
        staff_id: str,
        name: str,
        unit: Unit,
        email: str | None,
        login: str | None,
        roles: tuple[Role, ...],
        effective_from: datetime,
    ) -> None:
        if staff_id in self.members:
            raise DirectoryRefused(f"{staff_id} is already in the staff directory")
        if not self.members and Role.LEADERSHIP not in roles:
            raise DirectoryRefused(
                "the first member of the staff directory must be granted leadership "
                "(who else could add the others?)"
            )
        login = login or staff_id
        self._check_login_free(login)
        # One event with every first role: a command records at most one event of a kind
        # (verify relies on it to tell a command applied twice).
        self._member_added(
            *_parts(stamp), staff_id=staff_id, name=name, unit=unit, email=email, login=login,
            roles=list(dict.fromkeys(roles)), start=effective_from,
        )  # fmt: skip

    def grant(self, stamp: Stamp, staff_id: str, role: Role, effective_from: datetime) -> None:
        member = self._member(staff_id)
        if member.open_grant(role) is not None:
            raise DirectoryRefused(f"{staff_id} already holds the role {role}")
        self._role_granted(*_parts(stamp), staff_id=staff_id, role=role, start=effective_from)

    def revoke(self, stamp: Stamp, staff_id: str, role: Role, effective_from: datetime) -> None:
        member = self._member(staff_id)
        grant = member.open_grant(role)
        if grant is None:
            raise DirectoryRefused(f"{staff_id} does not hold the role {role}")
        if effective_from < grant.start:
            raise DirectoryRefused(
                f"{staff_id} holds {role} from {grant.start.isoformat()}; a revocation "
                "cannot take effect before that"
            )
        if role is Role.LEADERSHIP and not any(
            m.open_grant(Role.LEADERSHIP) for m in self.members.values() if m.id != staff_id
        ):
            raise DirectoryRefused(
                f"{staff_id} is the last leader; grant leadership to someone else first"
            )
        self._role_revoked(*_parts(stamp), staff_id=staff_id, role=role, end=effective_from)

    def issue_token(
        self, stamp: Stamp, staff_id: str, token_hash: str, expires_at: datetime
    ) -> str:
        self._member(staff_id)
        if token_hash in self.tokens:
            raise DirectoryRefused("a token with this hash was already issued")
        if expires_at <= stamp.occurred_at:
            raise DirectoryRefused("a token must expire after it is issued")
        self._token_issued(
            *_parts(stamp), staff_id=staff_id, token_hash=token_hash, expires_at=expires_at
        )
        return token_id_of(token_hash)

    def revoke_tokens(self, stamp: Stamp, staff_id: str, token_id: str | None) -> None:
        """Revoke one of the member's tokens, or (no ``token_id``) every one still valid."""
        self._member(staff_id)
        live = [
            t
            for t in self.tokens.values()
            if t.staff_id == staff_id
            and t.revoked_at is None
            and t.expires_at > stamp.occurred_at
            and (token_id is None or t.token_id == token_id)
        ]
        if not live:
            which = f"token {token_id}" if token_id else "tokens"
            raise DirectoryRefused(f"{staff_id} has no valid {which} to revoke")
        self._token_revoked(
            *_parts(stamp), staff_id=staff_id, token_ids=sorted(t.token_id for t in live)
        )

    def require_authentication(self, stamp: Stamp) -> None:
        if self.authentication_required_from is not None:
            raise DirectoryRefused(
                "authenticated writes are already required since "
                f"{self.authentication_required_from.isoformat()}"
            )
        self._authentication_required(*_parts(stamp))

    def allow_service_login(self, stamp: Stamp, login: str) -> None:
        self._check_login_free(login)
        self._service_login_allowed(*_parts(stamp), login=login)

    def _member(self, staff_id: str) -> Member:
        member = self.members.get(staff_id)
        if member is None:
            raise DirectoryRefused(f"{staff_id} is not in the staff directory")
        return member

    def _check_login_free(self, login: str) -> None:
        owner = self.member_by_login(login)
        if owner is not None:
            raise DirectoryRefused(f"database login {login!r} is already {owner.id}'s")
        if login in self.service_logins:
            raise DirectoryRefused(f"database login {login!r} is already a service login")

    # ------------------------------------------------------------------ events

    @event("MemberAdded")
    def _member_added(
        self,
        actor: Actor,
        occurred_at: datetime,
        command_id: str,
        staff_id: str,
        name: str,
        unit: str,
        email: str | None,
        login: str,
        roles: list[str],
        start: datetime,
    ) -> None:
        grants = [Grant(Role(role), start) for role in roles]
        self.members[staff_id] = Member(staff_id, name, Unit(unit), email, login, grants)

    @event("RoleGranted")
    def _role_granted(
        self, actor: Actor, occurred_at: datetime, command_id: str, staff_id: str, role: str,
        start: datetime,
    ) -> None:  # fmt: skip
        self.members[staff_id].grants.append(Grant(Role(role), start))

    @event("RoleRevoked")
    def _role_revoked(
        self, actor: Actor, occurred_at: datetime, command_id: str, staff_id: str, role: str,
        end: datetime,
    ) -> None:  # fmt: skip
        grant = self.members[staff_id].open_grant(Role(role))
        if grant is not None:
            grant.end = end

    @event("TokenIssued")
    def _token_issued(
        self, actor: Actor, occurred_at: datetime, command_id: str, staff_id: str,
        token_hash: str, expires_at: datetime,
    ) -> None:  # fmt: skip
        self.tokens[token_hash] = Token(token_id_of(token_hash), staff_id, expires_at)

    @event("TokenRevoked")
    def _token_revoked(
        self, actor: Actor, occurred_at: datetime, command_id: str, staff_id: str,
        token_ids: list[str],
    ) -> None:  # fmt: skip
        for token in self.tokens.values():
            if token.token_id in token_ids and token.staff_id == staff_id:
                token.revoked_at = occurred_at

    @event("AuthenticationRequired")
    def _authentication_required(
        self, actor: Actor, occurred_at: datetime, command_id: str
    ) -> None:
        self.authentication_required_from = occurred_at

    @event("ServiceLoginAllowed")
    def _service_login_allowed(
        self, actor: Actor, occurred_at: datetime, command_id: str, login: str
    ) -> None:
        self.service_logins.add(login)


def _parts(stamp: Stamp) -> tuple[Actor, datetime, str]:
    return stamp.actor, stamp.occurred_at, stamp.command_id


# The version of each event's stored shape (ledger.domain.events, docs/design.md).
register(
    StaffDirectory,
    {
        "Opened": 1,
        "MemberAdded": 1,
        "RoleGranted": 1,
        "RoleRevoked": 1,
        "TokenIssued": 1,
        "TokenRevoked": 1,
        "AuthenticationRequired": 1,
        "ServiceLoginAllowed": 1,
    },
)
