"""``apply``: JSON Lines of commands, the integration interface for other systems."""

from __future__ import annotations

from typing import IO, Any

import click
from pydantic import ValidationError

from commands.bulk import apply_in_batches
from commands.cli.base import cli
from commands.cli.output import (
    db_option,
    deciders,
    evidence_dir_option,
    format_option,
    printable,
    to_json,
    workers_option,
)
from commands.cli.progress import Progress
from commands.errors import describe_validation_error
from commands.evidence import purge_evidence
from commands.handlers import Outcome
from commands.jsonlines import read_lines, scan_commands
from ledger.store.evidence import evidence_folder
from ledger.store.root import open_ledger


@cli.command()
@click.argument("file", type=click.File("rb"))
@click.option(
    "--bulk",
    is_flag=True,
    help="Save many complaints per transaction (large files); same rules, same validation.",
)
@click.option(
    "--batch-size", default=500, show_default=True, help="Commands per transaction with --bulk."
)
@workers_option
@evidence_dir_option
@db_option
@format_option("table", "json")
def apply(
    file: IO[bytes],
    bulk: bool,
    batch_size: int,
    workers: int,
    evidence_dir: str | None,
    db: str,
    fmt: str,
) -> None:
    """Apply JSON Lines of commands, each line atomic.

    A bad line is reported with its number and the rest go on; the exit code is 1 if any line
    failed. FILE may be - for standard input. With --bulk, lines are decided in memory and saved
    a batch at a time; a batch that meets a concurrent writer is applied again line by line.
    --workers decides a bulk batch's lines in that many processes, split by complaint.
    On a terminal, the number of lines done so far is shown on standard error. An erase
    deletes the complaint's files from the evidence folder, as erase does.

    \b
    Example:
      complaint-ledger apply commands.jsonl
    """
    counts = {"applied": 0, "duplicates": 0}
    errors: list[dict[str, Any]] = []

    progress = Progress(getattr(file, "name", "-"), "lines")

    erased: list[str] = []

    def count(_: int, outcome: Outcome) -> None:
        counts["duplicates" if outcome.duplicate else "applied"] += 1
        if outcome.command == "erase":
            erased.append(outcome.ref)
        progress.advance()

    with open_ledger(db) as ledger, deciders(db, workers if bulk else 1) as pool, progress:
        failures = apply_in_batches(
            ledger,
            scan_commands(read_lines(file), () if pool is None else pool.unparsed),
            batch_size=batch_size if bulk else 1,
            on_outcome=count,
            deciders=pool,
        )
        for failure in failures:
            e = failure.error
            message = describe_validation_error(e) if isinstance(e, ValidationError) else str(e)
            errors.append({"line": failure.position, "error": message})
            progress.echo(f"Error: line {failure.position}: {printable(message)}")
            progress.advance()
        for ref in erased:  # recorded (each batch is saved before it is counted): files go
            purge_evidence(ledger, ref, evidence_folder(db, evidence_dir))
    errors.sort(key=lambda e: int(e["line"]))
    summary = {**counts, "failed": len(errors), "errors": errors}
    if fmt == "json":
        click.echo(to_json(summary))
    else:
        click.echo(
            f"applied {counts['applied']}, already applied {counts['duplicates']}, "
            f"failed {len(errors)}"
        )
    if errors:
        raise SystemExit(1)
