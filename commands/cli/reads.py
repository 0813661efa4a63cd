"""Read subcommands that replay a complaint from its events."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import click

from commands.cli.base import cli
from commands.cli.output import (
    db_option,
    due_time,
    format_option,
    local_time,
    parse_time,
    printable,
    render_table,
    to_json,
)
from ledger.integrity.history import complaint_view
from ledger.store.root import open_reader
from projections.repeats import related_now


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
        view.update(related_now(ledger, ref))
    if fmt == "json":
        click.echo(to_json(view))
        return
    for key, value in view.items():
        if key in ("history", "complainant", "personal_data_erased", "remedies", "extensions",
                   "improvements", "same_complainant", "links", "attachments"):  # fmt: skip
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
    for item in view["improvements"]:
        click.echo(printable(f"{'improvement ' + item['id']:>17}: {_improvement(item)}"))
    for other in view["same_complainant"]:
        line = f"{other['ref']} received {local_time(other['received_at'])}, {other['status']}"
        click.echo(printable(f"{'same complainant':>17}: {line} ({', '.join(other['matched'])})"))
    for linked in view["links"]:
        click.echo(printable(f"{'linked ' + linked['direction']:>17}: {linked['ref']}"))
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


def _improvement(item: dict[str, Any]) -> str:
    """``action — owner X, due …, done … (late)`` or ``…, open``."""
    due = due_time(datetime.fromisoformat(item["due"]))
    if item["done_at"] is None:
        state = "open"
    else:
        state = f"done {local_time(item['done_at'])}" + (" (late)" if item["late"] else "")
    return f"{item['action']} — owner {item['owner']}, due {due}, {state}"
