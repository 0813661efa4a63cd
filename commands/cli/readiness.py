"""``training`` and ``drill``: the plan's training sessions and drills (培训、演练).

``training record`` and ``drill run`` write (to the readiness book, like any command);
``training report`` and ``drill list`` only read (docs/drills.md, docs/organisation.md).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from commands.cli.base import cli
from commands.cli.output import db_option, format_option, local_time, render_table, to_json
from commands.cli.writes import submit, write_options
from commands.readiness_views import drill_rows, training_rows
from ledger.domain.values import Unit
from ledger.store.books import load_readiness_book, load_staff_directory
from ledger.store.root import open_ledger, open_reader

UNITS = click.Choice([str(u) for u in Unit])


@cli.group()
def training() -> None:
    """Training sessions on the plan: who attended, and who in each unit never did."""


@training.command("record")
@click.option("--topic", required=True, help="What the session covered.")
@click.option("--date", "day", required=True, metavar="YYYY-MM-DD", help="The day it was held.")
@click.option(
    "--attendee", "attendees", multiple=True, required=True, metavar="ID",
    help="A member of staff who attended (repeatable).",
)  # fmt: skip
@click.option("--unit", type=UNITS, help="The unit the session was for.")
@write_options
def training_record(topic: str, day: str, attendees: tuple[str, ...], unit: str | None,
                    **o: Any) -> None:  # fmt: skip
    """Record a training session; attendees must be in the staff directory (once it has members).

    \b
    Example:
      complaint-ledger training record --topic "应急预案：升级与批示" --date 2026-11-20 \\
        --attendee li --attendee wang --unit customer_service --actor chen --role leadership
    """
    fields = {"topic": topic, "date": day, "attendees": list(attendees), "unit": unit}
    submit("record_training", None, fields, o)


@training.command("report")
@click.option("--unit", type=UNITS, help="Only this unit.")
@db_option
@format_option("table", "json")
def training_report(unit: str | None, db: str, fmt: str) -> None:
    """Per unit: sessions, trained, never trained. Example: complaint-ledger training report"""
    with open_reader(db) as ledger:
        rows = training_rows(load_readiness_book(ledger), load_staff_directory(ledger), unit)
    if fmt == "json":
        click.echo(to_json(rows))
        return
    click.echo(render_table(
        [{**r, "unit": r["unit"] or "(no unit)", "trained": ", ".join(r["trained"]) or "-",
          "never_trained": ", ".join(r["never_trained"]) or "-"} for r in rows],
        ["unit", "sessions", "trained", "never_trained"],
    ))  # fmt: skip


@cli.group()
def drill() -> None:
    """Drills (演练): a scenario replayed against a plan version, scored, recorded."""


@drill.command("run")
@click.argument("scenario", type=click.Path(dir_okay=False))
@click.option("--policy", "version", required=True, metavar="VERSION", help="The plan version.")
@write_options
def drill_run(scenario: str, version: str, **o: Any) -> None:
    """Replay SCENARIO.jsonl in a scratch ledger against the plan VERSION, score it, record it.

    The scratch ledger is a temporary SQLite file, removed afterwards; the real ledger gets
    one DrillCompleted event with the scenario's SHA-256 and the score (docs/drills.md).

    \b
    Example:
      complaint-ledger drill run docs/drills/urgent-threat.jsonl --policy default-2026.1 \\
        --actor chen --role leadership --format json
    """
    from commands.drill_scenario import parse_scenario
    from commands.drills import record_drill, score_drill

    try:
        data = Path(scenario).read_bytes()
    except OSError as e:
        raise click.ClickException(f"cannot read {scenario}: {e.strerror}") from None
    parsed = parse_scenario(data)
    with open_ledger(o["db"]) as ledger:
        actor = {"id": o["actor"], "role": o["role"]}
        report = score_drill(ledger, parsed, version)
        result = record_drill(ledger, report, actor, o["command_id"], o["occurred_at"])
    report = result.report
    if o["fmt"] == "json":
        click.echo(to_json(report))
        return
    click.echo(
        f"{report['drill_id']}: {report['scenario']} against {version}: score {report['score']} "
        f"({report['checks']['passed']} of "
        f"{report['checks']['passed'] + report['checks']['failed']} checks passed)"
    )
    for step in report["failed_steps"]:
        click.echo(f"failed step, line {step['line']} ({step['command']}): {step['error']}")


@drill.command("list")
@db_option
@format_option("table", "json")
def drill_list(db: str, fmt: str) -> None:
    """List the drills recorded, with their scores. Example: complaint-ledger drill list"""
    with open_reader(db) as ledger:
        book = load_readiness_book(ledger)
    rows = drill_rows(book)
    if fmt == "json":
        click.echo(to_json(rows))
    elif rows:
        shown = [{**r, "completed_at": local_time(r["completed_at"]),
                  "scenario_sha256": r["scenario_sha256"][:12]} for r in rows]  # fmt: skip
        click.echo(render_table(shown, list(rows[0])))
    else:
        click.echo("no drill recorded yet")
