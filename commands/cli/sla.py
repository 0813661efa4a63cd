"""``sla``: one complaint's clocks, their deadlines and verdicts at a moment."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import click

from commands.cli.base import cli
from commands.cli.output import (
    DISPLAY_TIMEZONE,
    db_option,
    format_option,
    local_time,
    render_table,
    to_json,
)
from commands.cli.reads import parse_time
from ledger.store import open_ledger
from projections.clocks import clock_report


def duration(seconds: int) -> str:
    """A lateness a supervisor reads at a glance: 2d 3h 05m."""
    if seconds <= 0:
        return "-"
    days, rest = divmod(seconds, 86_400)
    hours, rest = divmod(rest, 3_600)
    minutes = -(-rest // 60)
    text = f"{hours}h {minutes:02d}m" if hours or days else f"{minutes}m"
    return f"{days}d {text}" if days else text


def due_time(moment: datetime) -> str:
    """A deadline at local midnight is the end of the day before: shown as 24:00 of that day."""
    local = moment.astimezone(DISPLAY_TIMEZONE)
    if (local.hour, local.minute, local.second) == (0, 0, 0):
        return f"{(local - timedelta(days=1)):%Y-%m-%d} 24:00:00"
    return f"{local:%Y-%m-%d %H:%M:%S}"


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
