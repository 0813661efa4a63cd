"""``serve``: the HTTP API over one ledger (see commands/http/)."""

from __future__ import annotations

from typing import Any

import click

from commands.cli.alerts import channel_options, settings_from
from commands.cli.base import cli
from commands.cli.output import db_option, evidence_dir_option
from ledger.store.evidence import evidence_folder
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
@click.option(
    "--alerts",
    "with_alerts",
    is_flag=True,
    help="Also run the alerter (alerts follow) with the channel options below.",
)
@channel_options
@evidence_dir_option
@db_option
def serve(
    host: str,
    port: int,
    follow: bool,
    with_alerts: bool,
    evidence_dir: str | None,
    db: str,
    **o: Any,
) -> None:
    """Serve the HTTP API: commands at POST /v1/commands, reads under /v1, /openapi.json;
    and the supervisor console at /console/ (docs/console.md).

    Callers authenticate with a token from `staff token`; the token's member acts. The
    console's sessions are signed with LEDGER_CONSOLE_SECRET (else a key of this process).
    With --alerts, alerts are sent as they fall due (docs/alerts.md). An erasure deletes
    the complaint's files from the evidence folder (--evidence-dir).

    \b
    Example:
      complaint-ledger serve --port 8000 --db postgresql://app@localhost/complaints
    """
    import uvicorn

    from commands.http.app import create_app

    settings = settings_from(o, required=with_alerts)
    if settings is not None and not with_alerts:
        raise click.UsageError("the channel options take effect with --alerts")
    alerter = None
    if settings is not None:
        from consumers.alerts.process import AlertFollower

        alerter = AlertFollower(db, settings)
    with open_ledger(db) as ledger:
        ledger.evidence_dir = evidence_folder(db, evidence_dir)
        app = create_app(ledger, follow=db if follow else None)
        if alerter is not None:
            alerter.start()
        try:
            uvicorn.run(app, host=host, port=port, log_level="info", timeout_graceful_shutdown=5)
        finally:
            if alerter is not None:
                alerter.stop()
