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
from ledger.store.root import open_ledger
from projections.clocks import clock_report


@cli.command()
@click.argument("ref")
@click.option("--as-of", metavar="TIME", help="Judge the clocks at TIME (default: now).")
@click.option("--policy", "version", metavar="VERSION", help="What-if: judge under this policy.")
@db_option
@format_option("table", "json")
def sla(ref: str, as_of: str | None, version: str | None, db: str, fmt: str) -> None:
    """Show a complaint's clocks: due, met, status and lateness.

    Statuses: met, breached (done late), pending, at_risk, overdue, cancelled. With
    --policy the case is judged under another published version; nothing is written.

    \b
    Example:
      complaint-ledger sla TS-20261128-0001 --as-of 2026-11-30T09:00:00+08:00
    """
    moment = parse_time(as_of, "--as-of") or datetime.now(UTC)
    with open_ledger(db) as ledger:
        report = clock_report(ledger, ref, moment, version)
    if fmt == "json":
        click.echo(to_json([v.as_dict() for v in report.verdicts]))
        return
    what_if = (
        ""
        if version in (None, report.pinned_version)
        else f" (what-if; pinned: {report.pinned_version})"
    )
    when = local_time(moment.isoformat())
    click.echo(f"{ref} under policy {report.policy.version}{what_if}, as of {when}")
    rows = [
        {
            "clock": v.clock,
            "status": v.status,
            "due": due_time(v.due_at),
            "met": local_time(v.met_at.isoformat() if v.met_at else None),
            "late by": duration(v.late_by_seconds),
            "estimated": "yes" if v.estimated else "",
        }
        for v in report.verdicts
    ]
    click.echo(render_table(rows, ["clock", "status", "due", "met", "late by", "estimated"]))
