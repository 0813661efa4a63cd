"""``projections``: run, follow and rebuild the read models; see their position and lag."""

from __future__ import annotations

import signal
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import click

from commands.cli.base import cli
from commands.cli.output import db_option, format_option, render_table, to_json
from ledger.store.root import open_ledger
from projections.follow import wakeups
from projections.query import open_query
from projections.runner import READ_MODELS, Runner


@contextmanager
def progress_bar(label: str) -> Iterator[Callable[[int, int], None] | None]:
    """A progress bar on a terminal; nothing when output is piped."""
    if not sys.stderr.isatty():
        yield None
        return
    with click.progressbar(length=1, label=label, file=sys.stderr) as bar:

        def update(position: int, head: int) -> None:
            bar.length = max(head, 1)
            bar.update(position - bar.pos)

        yield update


@cli.group()
def projections() -> None:
    """The read models (case_state, sla_clocks, audit_trail, statistics)."""


@projections.command("status")
@db_option
@format_option("table", "json")
def status(db: str, fmt: str) -> None:
    """Show each projection's position in the log and its lag (reads only).

    \b
    Example:
      complaint-ledger projections status
    """
    with open_query(db, catch_up=False) as query:
        rows = query.status()
    click.echo(to_json(rows) if fmt == "json" else render_table(rows, list(rows[0])))


BATCH = click.option(
    "--batch-size", default=5000, show_default=True, help="Events applied per transaction."
)


@projections.command("run")
@BATCH
@db_option
def run(batch_size: int, db: str) -> None:
    """Catch every read model up with the log, then exit.

    \b
    Example:
      complaint-ledger projections run
    """
    with open_ledger(db) as ledger, progress_bar("catching up") as progress:
        applied = Runner(ledger, batch_size).catch_up_all(progress)
    click.echo(f"applied {applied} event(s) across the read models")


@projections.command("follow")
@click.option("--interval", default=1.0, show_default=True, help="Seconds between polls (SQLite).")
@db_option
def follow(interval: float, db: str) -> None:
    """Keep the read models up to date until stopped (Ctrl-C).

    On PostgreSQL the runner is woken by LISTEN/NOTIFY when events are appended; on SQLite it
    polls every --interval seconds.

    \b
    Example:
      complaint-ledger projections follow --db postgresql://postgres@localhost/complaints
    """
    signalled = _stop_on_signals()
    with open_ledger(db) as ledger:
        runner = Runner(ledger)
        try:
            for _ in wakeups(ledger, interval):
                applied = runner.catch_up_all()
                if applied:
                    click.echo(f"applied {applied} event(s)", err=True)
        except KeyboardInterrupt:
            click.echo("stopped", err=True)
        except Exception:
            # The interrupt may land inside a function SQLite calls back (the statistics'
            # rounding), which SQLite reports as its own error: after a signal, any failure
            # of the batch it cut short is the stop (the batch's transaction was rolled back).
            if not signalled():
                raise
            click.echo("stopped", err=True)


def _stop_on_signals() -> Callable[[], bool]:
    """Ctrl-C and a service manager's SIGTERM both end ``follow`` cleanly, between batches or
    inside one (its transaction is rolled back). Set explicitly because a process started with
    SIGINT ignored (a shell's background job, and everything it starts) would never stop.
    Returns whether such a signal has come."""
    received: list[int] = []

    def interrupt(signum: int, frame: object) -> None:
        received.append(signum)
        raise KeyboardInterrupt

    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, interrupt)
    return lambda: bool(received)


# What ``rebuild`` takes: a read model's name, or the name ``status`` shows for the projection
# that keeps it (``cases`` keeps case_state and sla_clocks).
REBUILDABLE = sorted({*READ_MODELS, *READ_MODELS.values()})


@projections.command("rebuild")
@click.argument("name", required=False, type=click.Choice(REBUILDABLE))
@click.option(
    "--workers",
    type=click.IntRange(min=1),
    help="Processes that fold the log's complaints, split by a hash of their id "
    "[default: the number of cores].",
)
@BATCH
@db_option
def rebuild(name: str | None, workers: int | None, batch_size: int, db: str) -> None:
    """Rebuild read models from the log into fresh tables, then swap them in atomically.

    NAME is a read model or a projection as status names it (cases: case_state and
    sla_clocks); with no NAME, all of them. --workers processes fold the complaints, each
    its share, stream by stream; what was appended meanwhile is then applied in log order.
    Readers keep seeing the old tables until the swap; a rebuild that fails or is killed
    leaves them in place, and running it again starts the fold afresh (or finishes the
    catch-up, if the fold was done).

    \b
    Example:
      complaint-ledger projections rebuild sla_clocks --workers 2
    """
    from projections.cores import usable_cores

    units = (
        ("cases", "audit_trail", "statistics") if name is None else (READ_MODELS.get(name, name),)
    )
    with open_ledger(db) as ledger, progress_bar("rebuilding") as progress:
        runner = Runner(ledger, batch_size, url=db)
        applied = runner.rebuild(units, progress, workers=workers or usable_cores())
    models = [m for m, unit in READ_MODELS.items() if unit in units]
    click.echo(f"rebuilt {', '.join(models)} from {applied} event(s)")
