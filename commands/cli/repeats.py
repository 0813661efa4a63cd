"""Repeat and linked complaints (issue 15), the reads: ``related`` and ``index backfill``.

``related`` reads the blind index and the link table (no secret needed, so a read-only login
runs it, without loading the write path); ``index backfill`` files the complaints received
before the index existed. ``link`` is in ``commands.cli.links``; docs/repeats.md explains.
"""

from __future__ import annotations

from typing import Any

import click

from commands.cli.base import cli
from commands.cli.freshness import freshness_options, lag_line, say_lag
from commands.cli.output import db_option, echo_json, format_option, local_time, render_table
from ledger.store.root import open_ledger
from projections.query import open_query

RELATED_COLUMNS = ["relation", "ref", "received_at", "status", "matched"]


@cli.command()
@click.argument("ref")
@freshness_options
@db_option
@format_option("table", "json")
def related(ref: str, no_catch_up: bool, max_lag: int | None, db: str, fmt: str) -> None:
    """The same complainant's other complaints (found by the blind index) and the
    complaints linked to REF; no personal data, so every read role may run it.

    \b
    Example:
      complaint-ledger related TS-20261128-0001 --format json
    """
    with open_query(db, catch_up=not no_catch_up, units=("cases",)) as query:
        lag = query.lag("cases", max_lag)
        found = query.related(ref)
        known = query.known(ref)
    if not known:
        behind = "" if lag.events == 0 else f" in the read models ({lag_line(lag)})"
        raise click.ClickException(f"no complaint has reference {ref!r}{behind}")
    if fmt == "json":
        echo_json({**found, "lag": lag.events})
        return
    click.echo(render_table(related_rows(found), RELATED_COLUMNS))
    say_lag(lag, fmt)


def related_rows(found: dict[str, Any]) -> list[dict[str, Any]]:
    """The rows of ``related`` (and of ``show``) as a person reads them."""
    rows = [
        {
            "relation": "same complainant",
            "ref": r["ref"],
            "received_at": local_time(r["received_at"]),
            "status": r["status"] or "-",
            "matched": ", ".join(r["matched"]),
        }
        for r in found["same_complainant"]
    ]
    rows += [
        {
            "relation": f"linked {r['direction']}",
            "ref": r["ref"],
            "received_at": "-",
            "status": r["status"] or "-",
            "matched": "-",
        }
        for r in found["links"]
    ]
    return rows


@cli.group()
def index() -> None:
    """The blind index of complainants (operators)."""


@index.command("backfill")
@db_option
def index_backfill(db: str) -> None:
    """Index the complaints received before the blind index existed (erased ones stay out),
    and file again the rows of complaints an earlier release normalised differently.

    Needs a login that may read the personal-data keys and write the index (the owner or
    a writer of sql/roles.sql); running it again adds only what is missing. Run it once
    after upgrading to a release that changes the normalisation (docs/repeats.md).

    \b
    Example:
      complaint-ledger index backfill
    """
    from ledger.store.backfill import backfill_index

    with open_ledger(db) as ledger:
        done = backfill_index(ledger)
    click.echo(f"indexed {done.complaints} complaints ({done.rows} rows)")
    if done.reindexed:
        click.echo(
            f"re-indexed {done.reindexed} complaints whose identifiers are now normalised "
            "differently"
        )
