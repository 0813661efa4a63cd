"""The escalation loop and accountability (issue 15): ``acknowledge``, ``instruct``,
``sign-off`` and ``accountability record | list | breaches``.

The writes build the same JSON objects ``apply`` takes; the lists read the read models.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import click

from commands.cli.base import cli
from commands.cli.freshness import freshness_options, say_lag
from commands.cli.output import db_option, format_option
from commands.cli.reports import emit
from commands.cli.writes import submit, write_options
from projections.queries import BREACH_KEYS
from projections.query import open_query

# The finding and decision are sealed under the complaint's key: ``show REF`` opens them.
ACCOUNTABILITY_COLUMNS = ["staff", "team", "ref", "version", "at", "by"]


@cli.command()
@click.argument("ref")
@write_options
def acknowledge(ref: str, **o: Any) -> None:
    """The leadership group acknowledges the complaint's escalation (stops the
    acknowledgement clock).

    \b
    Example:
      complaint-ledger acknowledge TS-1 --actor chen --role leadership
    """
    submit("acknowledge", ref, {}, o)


@cli.command()
@click.argument("ref")
@click.option("--text", help="The instruction (批示).")
@write_options
def instruct(ref: str, **o: Any) -> None:
    """Record a leadership instruction (批示) on an escalated complaint.

    \b
    Example:
      complaint-ledger instruct TS-1 --text "24小时内上报进展" --actor chen --role leadership
    """
    submit("instruct", ref, {"text": o["text"]}, o)


@cli.command("sign-off")
@click.argument("ref")
@click.option("--text", help="What was reported and the leadership group's decision.")
@write_options
def sign_off(ref: str, **o: Any) -> None:
    """The leadership group was reported the result and signs it off: an urgent or major
    complaint cannot be closed before.

    \b
    Example:
      complaint-ledger sign-off TS-1 --text "同意办结" --actor chen --role leadership
    """
    submit("sign_off", ref, {"text": o["text"]}, o)


@cli.group()
def accountability() -> None:
    """Accountability (责任追究): record findings about staff, list them, count breaches."""


@accountability.command("record")
@click.argument("ref")
@click.option("--staff", help="The member of staff held to account.")
@click.option("--team", help="Their team (default: the complaint's handling team).")
@click.option("--finding", help="What was found.")
@click.option("--decision", help="What was decided.")
@write_options
def record(ref: str, **o: Any) -> None:
    """Record an accountability finding and decision (leadership).

    \b
    Example:
      complaint-ledger accountability record TS-1 --staff zhao --finding "超时未处理" \\
        --decision "通报批评" --actor chen --role leadership
    """
    fields = {k: o[k] for k in ("staff", "team", "finding", "decision")}
    submit("record_accountability", ref, fields, o)


@accountability.command("list")
@click.option("--staff", help="Only this member of staff.")
@click.option("--team", help="Only this team.")
@freshness_options
@db_option
@format_option("table", "json", "csv")
def list_records(
    staff: str | None, team: str | None, no_catch_up: bool, max_lag: int | None, db: str,
    fmt: str,
) -> None:  # fmt: skip
    """Accountability records per staff member (or of one member or team).

    \b
    Example:
      complaint-ledger accountability list --team 处置一组
    """
    with open_query(db, catch_up=not no_catch_up, units=("cases",)) as query:
        lag = query.lag("cases", max_lag)
        rows = query.accountability(staff, team)
    emit(rows, ACCOUNTABILITY_COLUMNS, fmt, times=("at",))
    say_lag(lag, fmt)


@accountability.command("breaches")
@click.option(
    "--by",
    type=click.Choice(BREACH_KEYS),
    default="handler",
    show_default=True,
    help="Count per handler, team, collector or outsourced agency.",
)
@freshness_options
@db_option
@format_option("table", "json", "csv")
def breaches(by: str, no_catch_up: bool, max_lag: int | None, db: str, fmt: str) -> None:
    """Clocks breached and overdue now, per handler, team, collector or agency.

    \b
    Example:
      complaint-ledger accountability breaches --by agency
    """
    with open_query(db, catch_up=not no_catch_up, units=("cases",)) as query:
        lag = query.lag("cases", max_lag)
        rows = query.breaches(by, datetime.now(UTC))
    emit(rows, [by, "breached", "overdue", "clocks", "complaints"], fmt)
    say_lag(lag, fmt)
