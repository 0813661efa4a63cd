"""``feed``: publish the log, event by event and in order, to a message stream (docs/feed.md).

The command line is where a consumer is started, so this module may import ``consumers``.
"""

from __future__ import annotations

import click

from commands.cli.base import cli
from commands.cli.output import db_option
from commands.cli.projections import _stop_on_signals, progress_bar


def _token(ctx: click.Context, param: click.Parameter, value: str) -> str:
    """A stream name or subject prefix NATS takes: no spaces, wildcards or empty tokens."""
    bad = param.name == "stream" and "." in value
    if not value or bad or any(c in value for c in " \t\r\n*>") or "" in value.split("."):
        raise click.BadParameter(f"{value!r} is not a valid NATS name")
    return value


@cli.group()
def feed() -> None:
    """Publish every event of the log to a message stream, for consumers outside the ledger."""


@feed.command("nats")
@click.option("--url", default="nats://127.0.0.1:4222", show_default=True, metavar="URL",
              help="The NATS server (JetStream enabled).")  # fmt: skip
@click.option("--stream", default="LEDGER", show_default=True, callback=_token,
              help="The JetStream stream (created if missing).")  # fmt: skip
@click.option("--subject-prefix", "prefix", default="ledger", show_default=True, metavar="P",
              callback=_token, help="Events go to P.<Aggregate>.<Event>.")  # fmt: skip
@click.option("--source", default="/complaint-ledger", show_default=True,
              help="The CloudEvents source attribute of every message.")  # fmt: skip
@click.option("--once", is_flag=True, help="Publish what is in the log, then exit.")
@click.option("--batch-size", default=2000, show_default=True, type=click.IntRange(1, 50_000),
              help="Events published, acknowledged and recorded together.")  # fmt: skip
@click.option("--interval", default=1.0, show_default=True, help="Seconds between polls (SQLite).")
@db_option
def nats(
    url: str,
    stream: str,
    prefix: str,
    source: str,
    once: bool,
    batch_size: int,
    interval: float,
    db: str,
) -> None:
    """Publish the log to NATS JetStream as CloudEvents, in order, each event once.

    Without --once it follows the log (woken by LISTEN/NOTIFY on PostgreSQL, polling on
    SQLite) until stopped, and waits out a server that goes away, connecting again with a
    growing pause. Its position is kept in the ledger's database: a restarted or killed feed
    resumes after the last batch the server acknowledged.

    \b
    Example:
      complaint-ledger feed nats --url nats://127.0.0.1:4222 --stream LEDGER --once
    """
    from consumers.feed.feeder import Feed, follow
    from consumers.feed.sinks import FeedError, NatsSink
    from ledger.store.root import open_reader
    from projections.follow import wakeups

    def connect() -> NatsSink:
        return NatsSink(url, stream, f"{prefix}.>")

    def retrying(e: FeedError, delay: float) -> None:
        click.echo(f"{e}; connecting again in {delay:g} s", err=True)

    with open_reader(db) as ledger:
        publisher = Feed(ledger, connect(), f"nats:{stream}", prefix=prefix, source=source,
                         batch_size=batch_size)  # fmt: skip
        try:
            if once:
                with progress_bar("publishing") as progress:
                    report = publisher.publish_pending(progress)
                click.echo(
                    f"published {report.stored} event(s) to {stream} "
                    f"({report.duplicates} already there), position {report.position}"
                )
                return
            _stop_on_signals()
            try:
                passes = follow(publisher, wakeups(ledger, interval), connect, retrying=retrying)
                for report in passes:
                    if report.stored or report.duplicates:
                        click.echo(
                            f"published {report.stored} event(s), position {report.position}",
                            err=True,
                        )
            except KeyboardInterrupt:
                click.echo("stopped", err=True)
        finally:
            publisher.sink.close()
