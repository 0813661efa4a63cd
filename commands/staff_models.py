"""The staff directory's commands (leadership only): who works here, in which roles from
when, and the tokens that prove them on the HTTP API."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, StringConstraints

from commands.envelope import Envelope
from commands.fields import Moment, Name
from ledger.domain.values import Role, Unit

STAFF_COMMANDS = ("add_staff", "grant_role", "revoke_role", "issue_token", "revoke_token",
                  "require_authentication", "allow_service_login")  # fmt: skip

Email = Annotated[
    str, StringConstraints(strip_whitespace=True, max_length=254, pattern=r"^[^@\s]+@[^@\s]+$")
]
# The SHA-256 of a token, in hex: the token itself never reaches the ledger.
TokenHash = Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{64}$")]
TokenId = Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{12}$")]


class _DirectoryCommand(Envelope):
    @property
    def target(self) -> str:
        return "the staff directory"


class AddStaff(_DirectoryCommand):
    """Add a member with their first roles; the first member must be granted leadership."""

    action = "add_staff"
    command: Literal["add_staff"] = "add_staff"
    staff_id: Name
    name: Name
    unit: Unit
    roles: tuple[Role, ...] = Field(min_length=1, max_length=len(Role))
    email: Email | None = None
    login: Name | None = None  # the member's PostgreSQL login (default: the staff id)
    effective_from: Moment | None = None


class GrantRole(_DirectoryCommand):
    action = "grant_role"
    command: Literal["grant_role"] = "grant_role"
    staff_id: Name
    role: Role
    effective_from: Moment | None = None


class RevokeRole(_DirectoryCommand):
    action = "revoke_role"
    command: Literal["revoke_role"] = "revoke_role"
    staff_id: Name
    role: Role
    effective_from: Moment | None = None


class IssueToken(_DirectoryCommand):
    """Record a token's hash; the token is made and shown by whoever issues it."""

    action = "issue_token"
    command: Literal["issue_token"] = "issue_token"
    staff_id: Name
    token_hash: TokenHash
    expires_at: Moment


class RevokeToken(_DirectoryCommand):
    action = "revoke_token"
    command: Literal["revoke_token"] = "revoke_token"
    staff_id: Name
    token_id: TokenId | None = None  # default: every valid token of the member


class RequireAuthentication(_DirectoryCommand):
    """From now on, refuse writes whose actor is only asserted."""

    action = "require_authentication"
    command: Literal["require_authentication"] = "require_authentication"


class AllowServiceLogin(_DirectoryCommand):
    """Let a PostgreSQL login (an integration's) act for any member it names."""

    action = "allow_service_login"
    command: Literal["allow_service_login"] = "allow_service_login"
    login: Name
