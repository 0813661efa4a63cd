"""Human rendering of the SLA report (shared by ``demo`` and, later, ``report sla``)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import click

from commands.cli.output import due_time, duration, local_time, render_table


def print_sla_report(report: dict[str, Any]) -> None:
    click.echo(f"SLA report as of {local_time(report['as_of'])}")
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
    click.echo()
    click.echo(
        render_table(
            [{"clock": name, **counts} for name, counts in totals["clock"].items()]
            + [{"clock": "all", **totals["all"]}],
            ["clock", "breached", "overdue", "at_risk"],
        )
    )
