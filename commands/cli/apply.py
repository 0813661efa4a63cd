"""``apply``: JSON Lines of commands, the integration interface for other systems."""

from __future__ import annotations

import json
from typing import IO, Any

import click
from pydantic import ValidationError

from commands.cli.base import cli
from commands.cli.output import db_option, format_option, to_json
from commands.errors import describe_validation_error
from commands.handlers import handle
from commands.models import parse_command
from ledger.errors import LedgerError
from ledger.store import open_ledger


@cli.command()
@click.argument("file", type=click.File("r", encoding="utf-8"))
@db_option
@format_option("table", "json")
def apply(file: IO[str], db: str, fmt: str) -> None:
    """Apply JSON Lines of commands, each line atomic.

    A bad line is reported with its number and the rest go on; the exit code is 1 if any line
    failed. FILE may be - for standard input.

    \b
    Example:
      complaint-ledger apply commands.jsonl
    """
    applied = duplicates = 0
    errors: list[dict[str, Any]] = []
    with open_ledger(db) as ledger:
        for number, line in enumerate(file, start=1):
            if not line.strip():
                continue
            try:
                outcome = handle(ledger, parse_command(_load(line)))
            except (ValueError, LedgerError) as e:
                message = describe_validation_error(e) if isinstance(e, ValidationError) else str(e)
                errors.append({"line": number, "error": message})
                click.echo(f"Error: line {number}: {message}", err=True)
                continue
            if outcome.duplicate:
                duplicates += 1
            else:
                applied += 1
    summary = {
        "applied": applied,
        "duplicates": duplicates,
        "failed": len(errors),
        "errors": errors,
    }
    if fmt == "json":
        click.echo(to_json(summary))
    else:
        click.echo(f"applied {applied}, already applied {duplicates}, failed {len(errors)}")
    if errors:
        raise SystemExit(1)


def _load(line: str) -> Any:
    try:
        data = json.loads(line)
    except json.JSONDecodeError as e:
        raise ValueError(f"not valid JSON ({e.msg} at character {e.pos})") from None
    if not isinstance(data, dict):
        raise ValueError("a line must be a JSON object with a 'command' field")
    return data
