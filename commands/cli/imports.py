"""``import``: complaint histories from other systems' exports (the US CFPB database)."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import IO, Any

import click

from commands.cli.base import cli
from commands.cli.output import (
    db_option,
    deciders,
    format_option,
    render_table,
    to_json,
    workers_option,
)
from commands.cli.progress import Progress
from commands.importers.cfpb import COLUMNS, FilteredOut, read_rows
from commands.importers.records import Rejection, Row, find_header
from commands.importers.runner import import_rows
from ledger.domain.errors import ImportFileInvalid
from ledger.store.root import open_ledger

COUNTS = ("imported", "skipped", "filtered", "rejected", "events")


@cli.group("import")
def import_group() -> None:
    """Import complaint histories from other systems' exports (cfpb)."""


@import_group.command("cfpb")
@click.argument(
    "files",
    nargs=-1,
    required=True,
    metavar="FILE...",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
)
@click.option(
    "--product",
    "products",
    multiple=True,
    metavar="NAME",
    help='Only rows of this CFPB product, e.g. "Debt collection" (repeatable); '
    "other rows are counted as filtered.",
)
@click.option(
    "--batch-size",
    default=500,
    show_default=True,
    type=click.IntRange(min=1),
    help="About this many commands per transaction (always whole rows).",
)
@workers_option
@db_option
@format_option("table", "json")
def cfpb(
    files: tuple[Path, ...],
    products: tuple[str, ...],
    batch_size: int,
    workers: int,
    db: str,
    fmt: str,
) -> None:
    """Import CSV exports of the US CFPB Consumer Complaint Database.

    Each row becomes complaint CFPB-<Complaint ID> with its history (see docs/import-cfpb.md).
    A row that cannot be imported is reported with the line it starts on and nothing of it is
    saved; the rest go on, and the exit code is 1. Importing a file again appends nothing.

    \b
    Example:
      complaint-ledger import cfpb complaints.csv --product "Debt collection"
    """
    for path in files:
        with _open(path) as file:
            find_header(iter(file), COLUMNS[0], COLUMNS, str(path))
    tallies: list[dict[str, Any]] = []
    rejected: list[dict[str, Any]] = []
    with open_ledger(db) as ledger, deciders(db, workers) as pool:
        for path in files:
            tally: dict[str, Any] = {"file": str(path), **dict.fromkeys(COUNTS, 0)}
            tallies.append(tally)
            refused: list[dict[str, Any]] = []
            with _open(path) as file, Progress(str(path), "rows") as progress:
                rows = _unfiltered(read_rows(file, str(path), products), tally)
                for result in import_rows(ledger, rows, batch_size, pool):
                    progress.advance()
                    tally[result.status] += 1
                    tally["events"] += result.events
                    if result.status == "rejected":
                        refused.append(
                            {"file": str(path), "line": result.line, "reason": result.reason}
                        )
            rejected += sorted(refused, key=lambda r: int(r["line"]))
    for r in rejected:
        click.echo(f"Error: {r['file']} line {r['line']}: {r['reason']}", err=True)
    _report(tallies, rejected, fmt)
    if rejected:
        raise SystemExit(1)


def _open(path: Path) -> IO[str]:
    try:
        # Undecodable bytes reject their record, not the whole file (see records.py).
        return path.open(encoding="utf-8-sig", errors="surrogateescape", newline="")
    except OSError as e:
        raise ImportFileInvalid(f"{path}: cannot be read ({e.strerror})") from None


def _unfiltered(
    items: Iterable[Row | Rejection | FilteredOut], tally: dict[str, Any]
) -> Iterator[Row | Rejection]:
    for item in items:
        if isinstance(item, FilteredOut):
            tally["filtered"] += 1
        else:
            yield item


def _report(tallies: list[dict[str, Any]], rejected: list[dict[str, Any]], fmt: str) -> None:
    total = {c: sum(t[c] for t in tallies) for c in COUNTS}
    if fmt == "json":
        summary = {
            "imported": total["imported"],
            "skipped": total["skipped"],
            "rejected": rejected,
            "filtered": total["filtered"],
            "events": total["events"],
            "files": tallies,
        }
        click.echo(to_json(summary))
        return
    rows = [*tallies, {"file": "total", **total}] if len(tallies) > 1 else tallies
    click.echo(render_table(rows, ["file", *COUNTS]))
