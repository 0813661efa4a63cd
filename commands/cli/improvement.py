"""Improvement measures (溯源整改, issue 15): ``improvement add`` and ``improvement done``.

The writes build the same JSON objects ``apply`` takes (``add_improvement``,
``complete_improvement``); each measure's clock shows in ``sla`` and ``report sla`` as
``improvement:<id>``, and ``show`` lists the measures.
"""

from __future__ import annotations

from typing import Any

import click

from commands.cli.base import cli
from commands.cli.writes import submit, write_options


@cli.group()
def improvement() -> None:
    """Improvement measures (溯源整改): add them with an owner and a deadline, mark them done."""


@improvement.command("add")
@click.argument("ref")
@click.option("--action", "measure", help="What will change (sealed: it may name people).")
@click.option("--owner", help="The member of staff who owns the measure.")
@click.option(
    "--due",
    metavar="DATE",
    help="When it is due: a date (the end of that day, Shanghai time) or a time with offset.",
)
@write_options
def add(ref: str, **o: Any) -> None:
    """Add an improvement measure to a complaint, open or closed; it gets the next id
    (1, 2, …) and its own clock, improvement:<id>.

    \b
    Example:
      complaint-ledger improvement add TS-1 --action "修订外呼话术" --owner wang \\
        --due 2026-12-31 --actor zhao --role handling_team
    """
    fields = {"action": o["measure"], "owner": o["owner"], "due": o["due"]}
    submit("add_improvement", ref, fields, o)


@improvement.command("done")
@click.argument("ref")
@click.argument("improvement_id", metavar="ID")
@click.option("--text", help="What was done (sealed).")
@write_options
def done(ref: str, improvement_id: str, **o: Any) -> None:
    """Mark improvement ID of a complaint done: its owner or the leadership group, once.

    \b
    Example:
      complaint-ledger improvement done TS-1 1 --text "话术已上线" --actor wang \\
        --role handling_team
    """
    submit("complete_improvement", ref, {"improvement_id": improvement_id, "text": o["text"]}, o)
