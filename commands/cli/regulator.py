"""The regulator's quarterly report (issue 15, item 4): ``report regulator`` reads the read
models, or replays the log as of a moment (``projections.regulator``). The reply to a
referral is a write, in ``commands.cli.regulator_reply``, so that a report never loads the
write path.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import click

from commands.cli.freshness import freshness_options, say_lag
from commands.cli.output import (
    db_option,
    echo_json,
    format_option,
    parse_time,
    render_table,
)
from commands.cli.reports import _open_query, emit, report
from projections.regulator import Quarter, QuarterInvalid


@report.command("regulator")
@click.option("--quarter", required=True, metavar="YYYYQN", help="The quarter, e.g. 2026Q3.")
@click.option(
    "--as-of",
    metavar="TIME",
    help="Only what had been recorded by TIME, judged at TIME (replays the log; default: "
    "the read models now).",
)
@freshness_options
@db_option
@format_option("table", "json", "csv")
def report_regulator(
    quarter: str, as_of: str | None, no_catch_up: bool, max_lag: int | None, db: str, fmt: str
) -> None:
    """The regulator's quarterly figures for the complaints received in a quarter: by
    classification code, business type, business channel, intake channel and outcome; each
    clock met, breached and open; handling time; referrals and the replies to them.
    docs/reports.md defines every figure.

    \b
    Example:
      complaint-ledger report regulator --quarter 2026Q3 --format json
    """
    try:
        period = Quarter.parse(quarter)
    except QuarterInvalid as e:
        raise click.ClickException(f"--quarter: {e}") from None
    moment = parse_time(as_of, "--as-of")
    with _open_query(db, catch_up=not no_catch_up, units=("cases",)) as query:
        lag = query.lag("cases", max_lag)
        data = query.regulator_report(period, moment or datetime.now(UTC), moment is not None)
    data["source"] = "ledger" if moment is not None else "read_models"
    if fmt == "json":
        echo_json({**data, "lag": lag.events})
    elif fmt == "csv":
        emit(csv_rows(data), [], "csv")
    else:
        click.echo(table(data))
    say_lag(lag, fmt)


def csv_rows(data: dict[str, Any]) -> list[dict[str, Any]]:
    """The report as one long table: section, key, figure, value."""
    rows: list[dict[str, Any]] = [
        {"section": "total", "key": "received", "figure": "count", "value": data["received"]}
    ]
    for section, key in (("by_code", "code"), ("by_business_type", "code"),
                         ("by_business_channel", "code"), ("by_channel", "channel"),
                         ("by_outcome", "outcome")):  # fmt: skip
        rows += [{"section": section, "key": r[key], "figure": "count", "value": r["count"]}
                 for r in data[section]]  # fmt: skip
    figures = ("met", "breached", "overdue", "open", "cancelled", "share_met")
    for clock in data["clocks"]:
        rows += [{"section": "clocks", "key": clock["clock"], "figure": k, "value": clock[k]}
                 for k in figures]  # fmt: skip
    hours = data["handling_time"]
    rows += [{"section": "handling_time", "key": "hours", "figure": k, "value": hours[k]}
             for k in ("closed", "mean", "p90")]  # fmt: skip
    rows += [{"section": "referrals", "key": REFERRAL_KEY, "figure": k, "value": v}
             for k, v in data["referrals"].items()]  # fmt: skip
    return rows


REFERRAL_KEY = "regulator_referral"


def _share(value: float | None) -> str:
    return "-" if value is None else f"{value:.1%}"


def table(data: dict[str, Any]) -> str:
    """The report for a person: one small table per section."""
    hours, referrals = data["handling_time"], data["referrals"]
    parts = [
        f"Regulator report {data['quarter']} ({data['from']} to {data['to']}, "
        f"{data['timezone']}), as of {data['as_of']}: {data['received']} complaints received",
        render_table(data["by_code"], ["code", "count"]),
        # The regulator's business type and channel: headed by their names, as both are codes.
        *(
            render_table(
                [{name: r["code"], "count": r["count"]} for r in data[f"by_{name}"]],
                [name, "count"],
            )
            for name in ("business_type", "business_channel")
        ),
        render_table(data["by_channel"], ["channel", "count"]),
        render_table(data["by_outcome"], ["outcome", "count"]),
        render_table(
            [{**c, "share_met": _share(c["share_met"])} for c in data["clocks"]],
            ["clock", "met", "breached", "overdue", "open", "cancelled", "share_met"],
        ),
        f"handling time (receipt to closure, hours): {hours['closed']} closed, "
        f"mean {hours['mean'] if hours['mean'] is not None else '-'}, "
        f"p90 {hours['p90'] if hours['p90'] is not None else '-'}",
        "regulator referrals: " + ", ".join(f"{k} {v}" for k, v in referrals.items()),
    ]
    return "\n\n".join(parts)
