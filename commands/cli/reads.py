"""Read subcommands that replay a complaint from its events."""

from __future__ import annotations

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
from ledger.integrity.history import complaint_view
from ledger.store.root import open_reader


@cli.command()
@click.argument("ref")
@click.option(
    "--as-of", metavar="TIME", help="Show the case as it stood at TIME: what had happened by then."
)
@click.option("--known-at", metavar="TIME", help="Show only what had been recorded by TIME.")
@db_option
@format_option("table", "json")
def show(ref: str, as_of: str | None, known_at: str | None, db: str, fmt: str) -> None:
    """Show a complaint as replayed from its events.

    --as-of keeps the actions dated by TIME (by all that is recorded now); --known-at keeps
    the events recorded by TIME. Both may be given.

    \b
    Example:
      complaint-ledger show TS-1 --format json
    """
    moment = parse_time(as_of, "--as-of")
    known = parse_time(known_at, "--known-at")
    with open_reader(db) as ledger:
        view = complaint_view(ledger, ref, moment, known)
    if fmt == "json":
        click.echo(to_json(view))
        return
    for key, value in view.items():
        if key in (
            "history", "complainant", "personal_data_erased", "remedies", "extensions",
            "attachments",
        ):  # fmt: skip
            continue
        if isinstance(value, list):
            value = ", ".join(map(str, value)) or "-"
        if key.endswith(("_at", "_since")):
            value = local_time(value)
        click.echo(printable(f"{key:>17}: {'-' if value is None else value}"))
    person = view["complainant"]
    who = " ".join(v for v in (person["name"], person["phone"]) if v) or "-"
    click.echo(printable(f"{'complainant':>17}: {who}"))
    for remedy in view["remedies"]:
        amount = f" {remedy['amount']} CNY" if remedy["amount"] else ""
        line = f"{'remedy':>17}: {remedy['kind']}{amount} {remedy['detail'] or ''}"
        click.echo(printable(line.rstrip()))
    for extension in view["extensions"]:
        click.echo(f"{'extension':>17}: {extension['clock']} +{extension['days']} days")
    for file in view["attachments"]:
        name = f" {file['filename']}" if file["filename"] else ""
        line = f"{'evidence file':>17}: {file['kind']} {file['sha256'][:12]} {file['size']} bytes"
        click.echo(printable(f"{line}{name}"))
    click.echo()
    rows = [
        {
            **r,
            "occurred_at": local_time(r["occurred_at"]),
            "recorded_at": local_time(r["recorded_at"]),
        }
        for r in view["history"]
    ]
    click.echo(
        render_table(
            rows, ["version", "event", "actor_id", "actor_role", "occurred_at", "recorded_at"]
        )
    )
