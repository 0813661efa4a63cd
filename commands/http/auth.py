"""Who is calling: the member a bearer token of the staff directory proves, acting in the
role ``X-Acting-Role`` picks among the roles they hold now."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Annotated

from fastapi import Depends, Header, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from commands.http.problems import Problem, unauthorised
from ledger.domain.errors import TokenRefused
from ledger.domain.staff import token_id_of
from ledger.domain.values import Method, Proof, Role
from ledger.store.root import Ledger

bearer = HTTPBearer(auto_error=False, description="A token from `complaint-ledger staff token`.")


@dataclass(frozen=True)
class Caller:
    staff_id: str
    role: Role
    proof: Proof


def ledger_of(request: Request) -> Ledger:
    ledger: Ledger = request.app.state.ledger
    return ledger


def caller(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
    acting_role: Annotated[
        Role | None,
        Header(alias="X-Acting-Role", description="Which of the member's roles to act in."),
    ] = None,
) -> Caller:
    """The proven caller, or 401 (no token, or one that is unknown, expired or revoked),
    400 (several roles and none picked) or 403 (a role the member does not hold now)."""
    if credentials is None:
        raise unauthorised("an Authorization: Bearer token is required")
    token_hash = hashlib.sha256(credentials.credentials.encode()).hexdigest()
    return authenticate(ledger_of(request), token_hash, acting_role)


def authenticate(ledger: Ledger, token_hash: str, acting_role: Role | None) -> Caller:
    """The member whose token has the SHA-256 ``token_hash``, acting in ``acting_role`` (or
    the one role they hold now): the API's check, shared by the console's session."""
    directory = ledger.staff_directory()
    if directory is None:
        raise unauthorised("the staff directory is empty: no token is valid")
    now = datetime.now(UTC)
    try:
        member = directory.authenticate(token_hash, now)
    except TokenRefused as e:
        raise unauthorised(str(e)) from None
    held = member.roles_at(now)
    if acting_role is None and not held:
        raise Problem(403, f"{member.id} holds no role now")
    if acting_role is None and len(held) > 1:
        raise Problem(
            400, f"{member.id} holds the roles {', '.join(held)}; say which in X-Acting-Role"
        )
    if acting_role is None:
        acting_role = held[0]
    elif acting_role not in held:
        raise Problem(
            403,
            f"{member.id} does not hold the role {acting_role} now; "
            f"held: {', '.join(held) or 'none'}",
        )
    return Caller(member.id, acting_role, Proof(Method.TOKEN, token_id_of(token_hash), member.id))


CallerDep = Annotated[Caller, Depends(caller)]
LedgerDep = Annotated[Ledger, Depends(ledger_of)]
