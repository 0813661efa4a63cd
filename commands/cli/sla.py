"""``sla``: one complaint's clocks, their deadlines and verdicts at a moment."""

from __future__ import annotations

from datetime import UTC, datetime

import click

from commands.cli.base import cli
from commands.cli.output import (
    db_option,
    due_time,
    duration,
    format_option,
    local_time,
    parse_time,
    render_table,
    to_json,
)
from commands.cli.report import changed_by
from ledger.store.root import open_reader
from projections.clocks import clock_report


@cli.command()
@click.argument("ref")
@click.option(
    "--as-of", metavar="TIME", help="Judge the clocks on what had happened by TIME (default: now)."
)
@click.option(
    "--known-at",
    metavar="TIME",
    help="Only what had been recorded by TIME: events, policies and calendars.",
)
@click.option("--policy", "version", metavar="VERSION", help="What-if: judge under this policy.")
@db_option
@format_option("table", "json")
def sla(
    ref: str, as_of: str | None, known_at: str | None, version: str | None, db: str, fmt: str
) -> None:
    """Show a complaint's clocks: due, met, status and lateness.

    Statuses: met, breached (done late), pending, at_risk, overdue, cancelled. A clock met
    only thanks to something recorded after its deadline is a late entry; a verdict changed
    by a correction or a later publication is marked (before -> after). With --policy the
    case is judged under another published version; nothing is written. With --known-at
    the as-of moment defaults to it.

    \b
    Example:
      complaint-ledger sla TS-20261128-0001 --as-of 2026-11-30T09:00:00+08:00
    """
    known = parse_time(known_at, "--known-at")
    moment = parse_time(as_of, "--as-of") or known or datetime.now(UTC)
    with open_reader(db) as ledger:
        report = clock_report(ledger, ref, moment, version, known)
    if fmt == "json":
        click.echo(to_json(report.as_dicts()))
        return
    what_if = (
        ""
        if report.policy.version == report.in_force
        else f" (what-if; in force: {report.in_force})"
    )
    when = local_time(moment.isoformat())
    knowing = "" if known is None else f", known at {local_time(known.isoformat())}"
    click.echo(f"{ref} under policy {report.policy.version}{what_if}, as of {when}{knowing}")
    rows = [
        {
            "clock": v.clock,
            "status": v.status,
            "due": due_time(v.due_at),
            "met": local_time(v.met_at.isoformat() if v.met_at else None),
            "late by": duration(v.late_by_seconds),
            "business late": duration(v.late_business),
            "estimated": "yes" if v.estimated else "",
            "marks": _marks(v.recorded_after_due, changed_by(report.changes.get(v.clock, []))),
        }
        for v in report.verdicts
    ]
    columns = ["clock", "status", "due", "met", "late by", "estimated", "marks"]
    if any(rule.schedule for rule in report.policy.rules):
        columns.insert(5, "business late")  # lateness in business hours, beside the wall clock's
    click.echo(render_table(rows, columns))


def _marks(late_entry: bool, changes: str) -> str:
    return "; ".join(m for m in ("late entry" if late_entry else "", changes) if m)
