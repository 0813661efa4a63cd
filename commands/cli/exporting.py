"""``export-commands``: the ledger as the JSON Lines commands that rebuild it."""

from __future__ import annotations

import json
from typing import IO

import click

from commands.cli.base import cli
from commands.cli.output import db_option
from commands.export import Exporter
from ledger.store.root import open_reader


@cli.command("export-commands")
@click.option("--out", type=click.File("w", encoding="utf-8"), default="-",
              help="Where to write (default: standard output).")  # fmt: skip
@db_option
def export_commands(out: IO[str], db: str) -> None:
    """Write every command of the ledger, in log order, as JSON Lines for ``apply``.

    Applied to an empty ledger they rebuild the same complaints and read models. The output
    holds the complainants' personal data in clear (none for erased complaints): keep it safe.

    \b
    Example:
      complaint-ledger export-commands --out ledger.jsonl
    """
    with open_reader(db) as ledger:
        for command in Exporter(ledger).commands():
            out.write(json.dumps(command, ensure_ascii=False) + "\n")
