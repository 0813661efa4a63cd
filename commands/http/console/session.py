"""Who is looking at the console: a signed session cookie, or the API's bearer token.

Signing in with a staff token keeps only the token's SHA-256 and the chosen role in the
cookie (signed with itsdangerous, ``HttpOnly``, ``SameSite=Lax``), never the token: every
request checks them again against the staff directory with the API's own check
(``auth.authenticate``), so a revoked or expired token ends the session at once.

Forms carry a CSRF token: a random value kept in the same signed cookie (a visitor who has
not signed in gets one too, for the login form) and echoed in a hidden field; a POST whose
field does not match is refused with 403 before anything is read from it. A request that
carries ``Authorization: Bearer`` needs no CSRF token: a browser never adds that header to
a forged request by itself.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

from fastapi import Request, Response
from itsdangerous import BadSignature, URLSafeTimedSerializer

from commands.http.auth import Caller, authenticate
from commands.http.problems import Problem
from ledger.domain.errors import LedgerError
from ledger.domain.values import Role
from ledger.store.root import Ledger

COOKIE = "console_session"
MAX_AGE = 12 * 3600  # a working day: sign in again the next morning
# The key that signs sessions: set it to keep sessions across restarts and between several
# serve processes; otherwise each process makes its own (sessions end when it stops).
SECRET_ENV = "LEDGER_CONSOLE_SECRET"


class NotSignedIn(Exception):
    """A page that needs a member was asked for without one: go to the login page."""


@dataclass(frozen=True)
class Session:
    csrf: str
    token_hash: str | None = None
    role: str | None = None


def serializer(request: Request) -> URLSafeTimedSerializer:
    state = request.app.state
    if not hasattr(state, "console_signer"):
        secret = os.environ.get(SECRET_ENV) or secrets.token_hex(32)
        state.console_signer = URLSafeTimedSerializer(secret, salt="console-session")
    signer: URLSafeTimedSerializer = state.console_signer
    return signer


def session_of(request: Request) -> Session:
    """The request's session, or a fresh anonymous one (with a new CSRF token)."""
    cached: Session | None = getattr(request.state, "console_session", None)
    if cached is not None:
        return cached
    raw = request.cookies.get(COOKIE)
    found: Session | None = None
    if raw:
        try:
            data: dict[str, Any] = serializer(request).loads(raw, max_age=MAX_AGE)
            found = Session(str(data["c"]), data.get("t"), data.get("r"))
        except (BadSignature, KeyError, TypeError):
            found = None
    session = found or Session(secrets.token_urlsafe(24))
    request.state.console_session = session
    request.state.console_session_new = found is None
    return session


def save(request: Request, response: Response, session: Session) -> None:
    request.state.console_session = session
    value = serializer(request).dumps(
        {"c": session.csrf, "t": session.token_hash, "r": session.role}
    )
    response.set_cookie(
        COOKIE,
        value,
        max_age=MAX_AGE,
        httponly=True,
        samesite="lax",
        path="/console",
        secure=request.url.scheme == "https",
    )


def keep(request: Request, response: Response) -> None:
    """Send the cookie of a session made during this request (so its CSRF token holds)."""
    if getattr(request.state, "console_session_new", False):
        save(request, response, session_of(request))


def sign_in(request: Request, response: Response, token: str, role: Role | None) -> Caller:
    """Check ``token`` (and ``role``) as the API would, and start a session for it."""
    token_hash = _hash(token)
    caller = authenticate(ledger_of(request), token_hash, role)
    session = Session(secrets.token_urlsafe(24), token_hash, str(caller.role))
    save(request, response, session)
    return caller


def roles_to_choose(request: Request, token: str) -> list[str]:
    """The roles the token's member holds now, when there are several to choose from."""
    directory = ledger_of(request).staff_directory()
    if directory is None:
        return []
    now = datetime.now(UTC)
    try:
        held = directory.authenticate(_hash(token), now).roles_at(now)
    except LedgerError:
        return []
    return [str(r) for r in held] if len(held) > 1 else []


def sign_out(request: Request, response: Response) -> None:
    save(request, response, replace(session_of(request), token_hash=None, role=None))


def viewer(request: Request) -> Caller | None:
    """The member behind the request (bearer token first, then the session), or None. A
    session whose token no longer passes is treated as signed out; a bad bearer token is
    refused as the API refuses it."""
    header = request.headers.get("authorization", "")
    if header.lower().startswith("bearer "):
        token_hash = _hash(header[7:])
        role = request.headers.get("x-acting-role")
        return authenticate(ledger_of(request), token_hash, _role(role))
    session = session_of(request)
    if session.token_hash is None:
        return None
    try:
        return authenticate(ledger_of(request), session.token_hash, _role(session.role))
    except Problem as e:
        if e.status in (400, 401, 403):
            return None
        raise


def require(request: Request) -> Caller:
    who = viewer(request)
    if who is None:
        raise NotSignedIn()
    return who


def check_csrf(request: Request, given: str | None) -> None:
    """Refuse (403) a form POST whose CSRF field does not match the session's."""
    if request.headers.get("authorization", "").lower().startswith("bearer "):
        return
    expected = session_of(request).csrf
    if not given or not hmac.compare_digest(given, expected):
        raise Problem(403, "the form's CSRF token is missing or does not match: reload the page")


def ledger_of(request: Request) -> Ledger:
    ledger: Ledger = request.app.state.ledger
    return ledger


def _hash(token: str) -> str:
    return hashlib.sha256(token.strip().encode()).hexdigest()


def _role(value: str | None) -> Role | None:
    if not value:
        return None
    try:
        return Role(value)
    except ValueError:
        raise Problem(400, f"{value!r} is not a role") from None
