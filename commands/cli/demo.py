"""``demo``: fill a ledger with a few dozen realistic complaints and show what happened."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime

import click

from commands.cli.base import cli
from commands.cli.output import db_option, render_table
from commands.cli.report import print_sla_report
from commands.handlers import handle
from commands.models import PublishCalendar, parse_command
from commands.synthetic import lifecycles
from ledger.errors import CalendarUnavailable
from ledger.registry import load_calendar_book
from ledger.store import Ledger, open_ledger
from projections.runner import Runner
from projections.sla_query import sla_report_at


@cli.command()
@click.option("--complaints", default=36, show_default=True, help="How many complaints.")
@click.option("--seed", default=2026, show_default=True, help="Same seed, same complaints.")
@db_option
def demo(complaints: int, seed: int, db: str) -> None:
    """Fill the ledger with realistic complaints received over the last three weeks.

    \b
    Example:
      complaint-ledger demo --db sqlite:///demo.db
    """
    now = datetime.now(UTC).replace(microsecond=0)
    rows = []
    events = 0
    with open_ledger(db) as ledger:
        publish_calendars(ledger, now)
        for life in lifecycles(complaints, now, seed=seed):
            # A fresh command id per run, so running the demo again adds new complaints.
            run = now.strftime("%Y%m%dT%H%M%S")
            first = handle(
                ledger,
                parse_command(
                    {**life.receive, "command_id": f"{run}-{life.receive['command_id']}"}
                ),
                now,
            )
            for step in life.with_ref(first.ref):
                handle(
                    ledger,
                    parse_command({**step, "command_id": f"{run}-{step['command_id']}"}),
                    now,
                )
            complaint = ledger.get_complaint(first.ref)
            events += complaint.version
            rows.append(
                {
                    "ref": complaint.ref,
                    "channel": str(complaint.channel),
                    "category": complaint.category,
                    "severity": complaint.severity and str(complaint.severity),
                    "stage": str(complaint.stage),
                    "escalated": complaint.escalated,
                    "reopened": complaint.reopened_count,
                    "events": complaint.version,
                }
            )
    click.echo(render_table(rows, list(rows[0]) if rows else ["ref"]))
    stages = Counter(r["stage"] for r in rows)
    click.echo(
        f"\n{len(rows)} complaints, {events} events recorded in {db}: "
        + ", ".join(f"{n} {stage}" for stage, n in sorted(stages.items()))
        + f"; {sum(1 for r in rows if r['escalated'])} escalated, "
        f"{sum(1 for r in rows if r['reopened'])} reopened."
    )
    click.echo()
    with open_ledger(db) as ledger:
        runner = Runner(ledger)
        runner.catch_up_all()
        report = sla_report_at(runner, now)
    print_sla_report(report)


def publish_calendars(ledger: Ledger, now: datetime) -> None:
    """As an operator would: publish the calendar of the demo's years if nobody has yet."""
    book = load_calendar_book(ledger)
    for year in sorted({now.year - 1, now.year}):
        if book is not None and year in book.years:
            continue
        command = PublishCalendar.model_validate(
            {
                "command_id": f"demo-calendar-{year}",
                "actor": {"id": "demo", "role": "leadership"},
                "year": year,
            }
        )
        try:
            handle(ledger, command, now)
        except CalendarUnavailable as e:
            click.echo(f"note: {e}", err=True)
