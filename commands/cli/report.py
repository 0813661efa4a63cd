"""Human rendering of the SLA report (shared by ``demo`` and ``report sla``)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import click

from commands.cli.output import due_time, duration, local_time, render_table

# What each status means, said under the report's heading: supervisors read these words.
LEGEND = (
    "breached: the step was done, but after its deadline",
    "overdue:  the step is not done and its deadline has passed",
    "at_risk:  the step is not done and most of its time is gone (the plan's warning share)",
)


def print_sla_report(report: dict[str, Any]) -> None:
    click.echo(f"SLA report as of {local_time(report['as_of'])}")
    click.echo("\n".join(LEGEND))
    click.echo()
    rows = [
        {
            "ref": i["ref"],
            "clock": i["clock"],
            "status": i["status"],
            "due": due_time(datetime.fromisoformat(i["due_at"])),
            "late by": duration(i["late_by_seconds"]),
            "team": i["team"],
            "handler": i["handler"],
        }
        for i in report["items"]
    ]
    if rows:
        click.echo(render_table(rows, list(rows[0])))
    else:
        click.echo("every clock is on time")
    totals = report["totals"]
    statuses = ["breached", "overdue", "at_risk"]
    for by in ("clock", "team", "channel"):
        counts = [{by: _name(name), **n} for name, n in totals[by].items()]
        if by == "clock":
            counts.append({by: "all", **totals["all"]})
        click.echo()
        click.echo(render_table(counts, [by, *statuses]))


def _name(key: str) -> str:
    # Totals are keyed by text; a clock of a complaint nobody was assigned yet has team "None".
    return "(unassigned)" if key == "None" else key
