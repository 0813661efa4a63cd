"""``staff``: the staff directory (who works here, in which roles from when) and its tokens.

Every change is a command like any other write (``--actor``/``--role`` name who acts), and
leadership's alone once the directory has a member; the first ``staff add`` must grant
leadership. ``staff list`` only reads.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import UTC, datetime, timedelta
from typing import Any

import click

from commands.cli.base import cli
from commands.cli.output import (
    db_option,
    format_option,
    local_time,
    parse_time,
    printable,
    render_table,
    to_json,
)
from commands.cli.writes import describe, run_command, submit, write_options
from ledger.domain.staff import StaffDirectory
from ledger.domain.values import Role, Unit
from ledger.store.books import load_staff_directory
from ledger.store.root import open_reader

ROLES = click.Choice([str(r) for r in Role])
TOKEN_PREFIX = "clt_"  # recognisable in a leaked file or a log, like other services' tokens


@cli.group()
def staff() -> None:
    """The staff directory: members, their roles over time, their API tokens."""


@staff.command("add")
@click.argument("staff_id", metavar="ID")
@click.option("--name", help="The member's name.")
@click.option("--unit", type=click.Choice([str(u) for u in Unit]), help="Where they work.")
@click.option("--grant", "roles", multiple=True, type=ROLES, help="A role (repeatable).")
@click.option("--email", help="Their e-mail address.")
@click.option("--login", help="Their PostgreSQL login (default: ID).")
@click.option("--from", "effective_from", metavar="TIME", help="Roles held from TIME.")
@write_options
def add(staff_id: str, **o: Any) -> None:
    """Add a member of staff with their roles (the first member must get leadership).

    \b
    Example:
      complaint-ledger staff add chen --name 陈静 --unit leadership_group \\
        --grant leadership --actor chen --role leadership
    """
    fields = {k: o[k] for k in ("name", "unit", "email", "login", "effective_from")}
    submit("add_staff", None, {"staff_id": staff_id, **fields, "roles": list(o["roles"])}, o)


@staff.command("grant")
@click.argument("staff_id", metavar="ID")
@click.argument("which", metavar="ROLE", type=ROLES)
@click.option("--from", "effective_from", metavar="TIME", help="Held from TIME (default: now).")
@write_options
def grant(staff_id: str, which: str, **o: Any) -> None:
    """Grant a member a role.

    \b
    Example:
      complaint-ledger staff grant li handling_team --actor chen --role leadership
    """
    fields = {"staff_id": staff_id, "role": which, "effective_from": o["effective_from"]}
    submit("grant_role", None, fields, o)


@staff.command("revoke")
@click.argument("staff_id", metavar="ID")
@click.argument("which", metavar="ROLE", type=ROLES)
@click.option("--from", "effective_from", metavar="TIME", help="Ends at TIME (default: now).")
@write_options
def revoke(staff_id: str, which: str, **o: Any) -> None:
    """Revoke a member's role.

    \b
    Example:
      complaint-ledger staff revoke li handling_team --actor chen --role leadership
    """
    fields = {"staff_id": staff_id, "role": which, "effective_from": o["effective_from"]}
    submit("revoke_role", None, fields, o)


@staff.command("token")
@click.argument("words", nargs=-1, required=True, metavar="ID | revoke ID")
@click.option("--expires", type=click.IntRange(1, 3650), default=90, show_default=True,
              metavar="DAYS", help="Days the token is valid.")  # fmt: skip
@click.option("--token", "token_id", metavar="TOKEN_ID", help="With revoke: only this token.")
@write_options
def token(words: tuple[str, ...], expires: int, token_id: str | None, **o: Any) -> None:
    """Issue an API token to a member (printed once, stored only as its hash), or revoke
    a member's tokens.

    \b
    Examples:
      complaint-ledger staff token li --expires 30 --actor chen --role leadership
      complaint-ledger staff token revoke li --actor chen --role leadership
    """
    if words[0] == "revoke" and len(words) == 2:
        submit("revoke_token", None, {"staff_id": words[1], "token_id": token_id}, o)
        return
    if len(words) != 1:
        raise click.UsageError("give one staff ID, or: revoke ID")
    if token_id is not None:
        raise click.UsageError("--token only goes with revoke")
    secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
    digest = hashlib.sha256(secret.encode()).hexdigest()
    issued = parse_time(o["occurred_at"], "--occurred-at") or datetime.now(UTC)
    expires_at = issued + timedelta(days=expires)
    fields = {"staff_id": words[0], "token_hash": digest, "expires_at": expires_at.isoformat()}
    outcome = run_command("issue_token", None, fields, o)
    answer = {**outcome.as_dict(), "staff_id": words[0], "token_id": digest[:12],
              "token": secret, "expires_at": expires_at.isoformat()}  # fmt: skip
    if o["fmt"] == "json":
        click.echo(to_json(answer))
        return
    click.echo(describe(outcome))
    click.echo(
        printable(
            f"token {digest[:12]} for {words[0]}, valid until {local_time(expires_at)} "
            "(shown only now; keep it secret):"
        )
    )
    click.echo(secret)


@staff.command("require")
@click.argument("what", type=click.Choice(["authenticated"]))
@write_options
def require(what: str, **o: Any) -> None:
    """From now on, refuse writes whose actor is only asserted (SQLite's command line).

    \b
    Example:
      complaint-ledger staff require authenticated --actor chen --role leadership
    """
    submit("require_authentication", None, {}, o)


@staff.command("allow-login")
@click.argument("login")
@write_options
def allow_login(login: str, **o: Any) -> None:
    """Let a PostgreSQL login (an integration's) act for any member it names.

    \b
    Example:
      complaint-ledger staff allow-login callcentre --actor chen --role leadership
    """
    submit("allow_service_login", None, {"login": login}, o)


@staff.command("list")
@db_option
@format_option("table", "json")
def list_staff(db: str, fmt: str) -> None:
    """List the members, their units and their roles over time.

    \b
    Example:
      complaint-ledger staff list --format json
    """
    with open_reader(db) as ledger:
        directory = load_staff_directory(ledger)
    rows = directory_rows(directory)
    if fmt == "json":
        click.echo(to_json(rows))
        return
    if not rows:
        click.echo("the staff directory is empty")
        return
    table = [
        {**row, "roles": ", ".join(_held(r) for r in row["roles"]), "email": row["email"]}
        for row in rows
    ]
    click.echo(render_table(table, ["id", "name", "unit", "email", "login", "roles"]))


def directory_rows(directory: StaffDirectory | None) -> list[dict[str, Any]]:
    """The members as plain data: ``{id, name, unit, email, login, roles: [{role, from,
    until}]}``, by id."""
    if directory is None:
        return []
    return [
        {
            "id": m.id,
            "name": m.name,
            "unit": str(m.unit),
            "email": m.email,
            "login": m.login,
            "roles": [
                {
                    "role": str(g.role),
                    "from": g.start.isoformat(),
                    "until": None if g.end is None else g.end.isoformat(),
                }
                for g in m.grants
            ],
        }
        for m in sorted(directory.members.values(), key=lambda m: m.id)
    ]


def _held(grant: dict[str, Any]) -> str:
    until = "" if grant["until"] is None else f" until {local_time(grant['until'])}"
    return f"{grant['role']} from {local_time(grant['from'])}{until}"
