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
    if "items" in report:
        print_sla_items(report)
    if "totals" in report:  # a page has none (--limit): report sla --summary gives them
        print_sla_totals(report["totals"])
    if report.get("changed"):
        click.echo("\nverdicts changed by a correction or a publication:")
        click.echo(
            render_table(
                [{"ref": c["ref"], "clock": c["clock"], "changed by": changed_by(c["changes"])}
                 for c in report["changed"]],
                ["ref", "clock", "changed by"],
            )
        )  # fmt: skip
    late = report.get("recorded_after_due", {"all": 0})
    if late["all"]:
        per_clock = ", ".join(f"{clock} {n}" for clock, n in late["clock"].items())
        click.echo(f"\nmet only by a late entry (recorded after the deadline): {late['all']} "
                   f"({per_clock})")  # fmt: skip


def print_sla_items(report: dict[str, Any]) -> None:
    """The items of a report or of a page, and the cursor of the next page."""
    rows = [
        {
            "ref": i["ref"],
            "clock": i["clock"],
            "status": i["status"],
            "due": due_time(datetime.fromisoformat(i["due_at"])),
            "late by": duration(i["late_by_seconds"]),
            "business late": duration(i.get("late_by_business_seconds", i["late_by_seconds"])),
            "team": i["team"],
            "handler": i["handler"],
            "changed by": changed_by(i.get("changes", [])),
        }
        for i in report["items"]
    ]
    if rows:
        columns = list(rows[0])
        if not any(r["changed by"] for r in rows):
            columns.remove("changed by")
        if all(r["business late"] == r["late by"] for r in rows):  # only wall clocks late
            columns.remove("business late")
        click.echo(render_table(rows, columns))
    else:
        click.echo("every clock is on time")
    if report.get("next_cursor"):
        click.echo(f"more: --after {report['next_cursor']}")


def print_sla_totals(totals: dict[str, Any]) -> None:
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


def changed_by(marks: list[dict[str, Any]]) -> str:
    """Which corrections or publications changed a verdict, and how: TS-1 v9 breached->met."""
    shown = []
    for m in marks:
        before = (m["before"] or {}).get("status", "-")
        after = (m["after"] or {}).get("status", "-")
        shown.append(f"{m['event']} " + (f"{before}->{after}" if before != after else "due moved"))
    return "; ".join(shown)
