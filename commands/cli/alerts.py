"""``alerts``: send the alerts the policy's rules call for, once each (see consumers/alerts/).

The command line is where a consumer is started, so this module (and ``serve``) may import
``consumers``; nothing else under ``commands`` does (tests/unit/test_layout.py).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from datetime import timedelta
from typing import TYPE_CHECKING, Any, TypeVar

import click

from commands.cli.base import cli
from commands.cli.output import db_option, format_option, parse_time, to_json

if TYPE_CHECKING:
    from consumers.alerts.alerter import AlertSettings, PassReport

F = TypeVar("F", bound=Callable[..., Any])
FORMATS = ("wecom", "dingtalk", "plain")


def channel_options(fn: F) -> F:
    """The channels and the alerter's identity, shared by ``alerts run|follow`` and ``serve``."""
    options = [
        click.option("--smtp", metavar="HOST:PORT", help="Send e-mail through this SMTP server."),
        click.option("--mail-from", metavar="ADDR", help="The sender of the mails (with --smtp)."),
        click.option("--starttls", is_flag=True, help="Upgrade the SMTP connection (STARTTLS)."),
        click.option("--smtp-user", metavar="USER", help="Log in to the SMTP server as USER."),
        click.option(
            "--smtp-password",
            envvar="LEDGER_SMTP_PASSWORD",
            metavar="SECRET",
            help="The SMTP password (better: the LEDGER_SMTP_PASSWORD variable).",
        ),
        click.option("--webhook", metavar="URL", help="POST each alert as JSON to URL."),
        click.option(
            "--webhook-format",
            type=click.Choice(FORMATS),
            default="plain",
            show_default=True,
            help="wecom / dingtalk group robots, or a plain JSON object.",
        ),
        click.option(
            "--alerter",
            default="alerts",
            show_default=True,
            metavar="ID",
            help="The staff member (role operator) the alerts are recorded by.",
        ),
        click.option("--tries", default=3, show_default=True, type=click.IntRange(1, 10)),
        click.option(
            "--backoff",
            default=1.0,
            show_default=True,
            type=click.FloatRange(0, 600),
            help="Seconds before the second try, doubled before each later one.",
        ),
        click.option(
            "--horizon",
            default=72.0,
            show_default=True,
            type=click.FloatRange(0, min_open=True),
            help="Hours: escalations and referrals older than this are not alerted.",
        ),
    ]
    return functools.reduce(lambda f, option: option(f), reversed(options), fn)


def settings_from(o: dict[str, Any], required: bool = True) -> AlertSettings | None:
    """The alerter's settings from ``channel_options``; None when no channel is given and
    none is ``required``."""
    from consumers.alerts.alerter import AlertSettings
    from consumers.alerts.channels import SmtpSettings, parse_host_port

    if o["smtp"] is None and o["webhook"] is None:
        if not required:
            return None
        raise click.UsageError("give a channel: --smtp HOST:PORT and/or --webhook URL")
    smtp = None
    if o["smtp"] is not None:
        if not o["mail_from"]:
            raise click.UsageError("--smtp needs --mail-from ADDR")
        try:
            host, port = parse_host_port(o["smtp"])
        except ValueError as e:
            raise click.UsageError(str(e)) from None
        smtp = SmtpSettings(
            host, port, o["mail_from"], o["starttls"], o["smtp_user"], o["smtp_password"]
        )
    webhook = o["webhook"]
    if webhook is not None and not webhook.startswith(("http://", "https://")):
        raise click.UsageError(f"--webhook must be an http:// or https:// URL, not {webhook!r}")
    return AlertSettings(
        smtp=smtp,
        webhook=webhook,
        webhook_format=o["webhook_format"],
        actor=o["alerter"],
        tries=o["tries"],
        backoff=o["backoff"],
        horizon=timedelta(hours=o["horizon"]),
    )


@cli.group()
def alerts() -> None:
    """Alerts before and after a deadline breaks, by e-mail and webhook (docs/alerts.md)."""


@alerts.command("run")
@click.option("--as-of", metavar="TIME", help="Judge the clocks at TIME (default: now).")
@channel_options
@db_option
@format_option("table", "json")
def run(as_of: str | None, db: str, fmt: str, **o: Any) -> None:
    """Send every alert due now (or at --as-of) that was not sent before, then stop.

    \b
    Example:
      complaint-ledger alerts run --smtp mail.example.com:25 --mail-from ledger@example.com
    """
    from consumers.alerts.alerter import Alerter
    from ledger.store.root import open_ledger

    settings = settings_from(o)
    assert settings is not None
    moment = parse_time(as_of, "--as-of")
    with open_ledger(db) as ledger:
        report = Alerter(ledger, settings).run_pass(moment)
    _show(report, fmt)
    if report.unreadable:  # the others' alerts went; these complaints were not judged
        more = len(report.unreadable) - 1
        also = f" (and {more} more complaint(s) like it)" if more else ""
        raise click.ClickException(f"not judged: {report.unreadable[0]}{also}")


@alerts.command("follow")
@click.option("--interval", default=5.0, show_default=True, help="Seconds between passes.")
@channel_options
@db_option
def follow(interval: float, db: str, **o: Any) -> None:
    """Send alerts as they fall due, until stopped (Ctrl-C or SIGTERM); restartable.

    \b
    Example:
      complaint-ledger alerts follow --webhook-format wecom \\
        --webhook 'https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=KEY'
    """
    from consumers.alerts.alerter import follow as following
    from consumers.alerts.stopping import stop_on_signals
    from ledger.store.root import open_ledger
    from projections.follow import wakeups

    settings = settings_from(o)
    assert settings is not None
    stop_on_signals()
    with open_ledger(db) as ledger:
        try:
            for report in following(ledger, settings, interval, wakeups(ledger, interval)):
                if report.sent or report.failed:
                    click.echo(_line(report), err=True)
        except KeyboardInterrupt:
            click.echo("stopped", err=True)


def _show(report: PassReport, fmt: str) -> None:
    if fmt == "json":
        click.echo(to_json({**report.as_dict(), "alerts": report.sent + report.failed}))
    else:
        click.echo(_line(report))


def _line(report: PassReport) -> str:
    counts = report.as_dict()
    line = f"sent {counts['sent']}, failed {counts['failed']}, skipped {counts['skipped']}"
    return line + (f", unreadable {counts['unreadable']}" if counts["unreadable"] else "")
