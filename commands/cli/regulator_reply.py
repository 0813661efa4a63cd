"""``reply-regulator`` (issue 15, item 4): the company's reply to the regulator that referred
a complaint; it builds the JSON object ``apply`` takes (``reply_regulator``)."""

from __future__ import annotations

from typing import Any

import click

from commands.cli.base import cli
from commands.cli.writes import submit, write_options


@cli.command("reply-regulator")
@click.argument("ref")
@click.option("--summary", help="What the company told the regulator (sealed, like a note).")
@write_options
def reply_regulator(ref: str, **o: Any) -> None:
    """Record the company's reply to the regulator that referred the complaint (stops the
    regulator_reply clock).

    \b
    Example:
      complaint-ledger reply-regulator TS-1 --summary "已核实并答复12378" --actor zhao \\
        --role handling_team
    """
    submit("reply_regulator", ref, {"summary": o["summary"]}, o)
