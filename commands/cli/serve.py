"""``serve``: the HTTP API over one ledger (see commands/http/)."""

from __future__ import annotations

import click

from commands.cli.base import cli
from commands.cli.output import db_option
from ledger.store.root import open_ledger


@cli.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=8000, show_default=True, type=click.IntRange(0, 65535))
@click.option(
    "--follow/--no-follow",
    default=True,
    show_default=True,
    help="Keep the read models fresh in the background (else run projections follow).",
)
@db_option
def serve(host: str, port: int, follow: bool, db: str) -> None:
    """Serve the HTTP API: commands at POST /v1/commands, reads under /v1, /openapi.json;
    and the supervisor console at /console/ (docs/console.md).

    Callers authenticate with a token from `staff token`; the token's member acts. The
    console's sessions are signed with LEDGER_CONSOLE_SECRET (else a key of this process).

    \b
    Example:
      complaint-ledger serve --port 8000 --db postgresql://app@localhost/complaints
    """
    import uvicorn

    from commands.http.app import create_app

    with open_ledger(db) as ledger:
        app = create_app(ledger, follow=db if follow else None)
        uvicorn.run(app, host=host, port=port, log_level="info", timeout_graceful_shutdown=5)
