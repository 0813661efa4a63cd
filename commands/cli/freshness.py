"""What every read of the read models shares: ``--no-catch-up``, ``--max-lag`` and the line
that says how far behind the log the answer is."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

import click

from projections.lean import Lag

if TYPE_CHECKING:
    from ledger.store.root import Ledger
    from projections.db import Cursor

F = TypeVar("F", bound=Callable[..., Any])


def freshness_options(fn: F) -> F:
    fn = click.option(
        "--max-lag",
        type=click.IntRange(min=0),
        metavar="N",
        help="Fail (exit 1) when the read models are more than N events behind the log.",
    )(fn)
    return click.option(
        "--no-catch-up",
        is_flag=True,
        help="Read the read models as they stand, without catching them up first.",
    )(fn)


def lag_line(lag: Lag) -> str:
    if lag.events is None:
        return (
            f"lag: unknown (read models at position {lag.position}; this login may not "
            "read the log)"
        )
    if lag.events == 0:
        return f"lag: 0 events (read models at position {lag.position}, the head of the log)"
    return (
        f"lag: {lag.events} event{'' if lag.events == 1 else 's'} behind the log (read "
        f"models at position {lag.position} of {lag.head})"
    )


def say_lag(lag: Lag, fmt: str) -> None:
    """The lag as the last line of a table; on standard error beside machine output, so a
    JSON array or a CSV file stays exactly what it was."""
    click.echo(lag_line(lag), err=fmt != "table")


T = TypeVar("T")


def published(
    db: str, from_log: Callable[[Ledger], T], from_read_model: Callable[[Cursor], T]
) -> tuple[T, Lag | None]:
    """What was published (policies, calendars, code lists): read from the log, or, for a
    login that may not read it (a ``ledger_reader``), from the ``publications`` read model as
    it stands, with its lag."""
    from ledger.store.root import open_reader
    from projections.query import Query

    with open_reader(db) as ledger:
        query = Query(ledger)
        if query.reads_log():
            return from_log(ledger), None
        lag = query.lag("cases")
        with query.transaction() as cur:
            return from_read_model(cur), lag
