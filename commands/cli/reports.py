"""Reports from the read models: ``list``, ``report sla``, ``report stats``, ``audit``.

Each reads the read models as they stand and says how far behind the log they are. Where the
connection may write them, the runner catches them up first (unless ``--no-catch-up``), so an
action just recorded shows at once on the embedded default.
"""

from __future__ import annotations

import csv
import sys
from collections.abc import Iterator
from contextlib import AbstractContextManager
from dataclasses import replace
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any

import click
import orjson

from commands.cli.base import cli
from commands.cli.freshness import freshness_options, lag_line, say_lag
from commands.cli.output import (
    csv_rows,
    db_option,
    duration,
    echo_json,
    format_option,
    local_times,
    parse_time,
    render_table,
)
from commands.cli.report import print_sla_report
from projections import cursors
from projections.queries import CaseFilter, audit_rows, audit_summary, cases_summary
from projections.sla_pages import Position, sla_page, sla_stream, sla_summary

if TYPE_CHECKING:
    from projections.lean import Lag
    from projections.query import Query


def _open_query(url: str, **options: Any) -> AbstractContextManager[Query]:
    """``projections.query.open_query``, loaded when first used: it loads the ledger's store
    (the library, psycopg, the cipher), which a lean read (``projections.lean``) does without."""
    from projections.query import open_query

    return open_query(url, **options)


LIST_COLUMNS = ["ref", "status", "stage", "channel", "category", "severity", "team", "handler",
                "received_at"]  # fmt: skip
PAGE = 5_000  # rows of ``list`` read and written at a time
STATS_COLUMNS = ["month", "channel", "category", "severity", "received", "closed",
                 "closed_on_time", "withdrawn", "median handling", "refund_total",
                 "mean_satisfaction"]  # fmt: skip
AUDIT_COLUMNS = ["position", "version", "action", "actor_id", "actor_role", "actor_method",
                 "occurred_at", "recorded_at", "backdated", "summary_zh",
                 "summary_en"]  # fmt: skip


def emit(
    rows: list[dict[str, Any]], columns: list[str], fmt: str, times: tuple[str, ...] = ()
) -> None:
    if fmt == "json":
        echo_json(rows)
    elif fmt == "csv":
        writer = csv.DictWriter(sys.stdout, fieldnames=list(rows[0]) if rows else columns,
                                lineterminator="\n")  # fmt: skip
        writer.writeheader()
        writer.writerows(csv_rows(rows))
    elif rows:
        click.echo(render_table([local_times(r, times) for r in rows], columns))
    else:
        click.echo("nothing matches")


def _date(value: str | None, option: str) -> date | None:
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise click.ClickException(f"{option}: {value!r} is not a date like 2026-11-01") from None


@cli.command("list")
@click.option("--open", "open_only", is_flag=True, help="Only open complaints.")
@click.option("--stage", type=click.Choice(["intake", "investigation", "plan", "execution",
                                            "summary", "closed", "withdrawn"]))  # fmt: skip
@click.option("--severity", type=click.Choice(["normal", "urgent", "major"]))
@click.option("--team", help="Only this team's complaints.")
@click.option(
    "--breached", is_flag=True, help="Only complaints with a breached or overdue clock now."
)
@click.option("--limit", type=click.IntRange(min=1), help="At most N rows (a page).")
@click.option("--after", metavar="CURSOR", help="The page after CURSOR (a next_cursor given out).")
@click.option("--summary", is_flag=True, help="How many, per status and stage; no rows.")
@freshness_options
@db_option
@format_option("table", "json", "csv", "ndjson")
def list_(open_only: bool, stage: str | None, severity: str | None, team: str | None,
          breached: bool, limit: int | None, after: str | None, summary: bool,
          no_catch_up: bool, max_lag: int | None, db: str, fmt: str) -> None:  # fmt: skip
    """List complaints from the case_state read model.

    With --after, --format json writes a page, {"items": [...], "next_cursor": ...}: the
    cursor of the next page, or null on the last (--after start: the first page). Without
    it, --format json stays the JSON array it always was (--limit N: the first N rows).
    --summary counts them instead.

    \b
    Example:
      complaint-ledger list --open --breached
      complaint-ledger list --limit 100 --after start --format json
    """
    _check_list_options(summary, limit is not None or after is not None, fmt)
    start = None if after in (None, FIRST_PAGE) else cursors.decode(after, (str, str), "list")
    case_filter = CaseFilter(open_only, stage, severity, team, breached, limit)
    with _open_query(db, catch_up=not no_catch_up, units=("cases",)) as query:
        lag = query.lag("cases", max_lag)
        now = datetime.now(UTC)
        if summary:
            with query.transaction() as cur:
                counted = cases_summary(cur, case_filter, now)
            emit_summary(counted, fmt)
        elif (fmt == "table" and limit is not None) or (
            fmt in ("json", "table") and after is not None
        ):
            size = limit or PAGE
            page = query.cases(replace(case_filter, limit=size + 1), now,
                               None if start is None else (start[0], start[1]))  # fmt: skip
            more, rows = len(page) > size, page[:size]
            last = [rows[-1]["received_at"], rows[-1]["ref"]] if more else None
            emit_page(rows, None if last is None else cursors.encode(last), LIST_COLUMNS, fmt,
                      ("received_at",))  # fmt: skip
        elif fmt == "table":  # columns as wide as their widest value: every row first
            rows = query.cases(case_filter, now)
            emit(rows, LIST_COLUMNS, fmt, times=("received_at",))
        else:  # CSV and ndjson: every row (up to --limit, after --after) as it is read
            first = None if start is None else (start[0], start[1])
            stream(pages(query, case_filter, now, first), fmt)
    say_lag(lag, fmt)


# ``list --after start``: the first page, as a page object. ``list --limit N --format json``
# wrote a bare array before pages existed, and still does (a contract other systems read).
FIRST_PAGE = "start"


def _check_list_options(summary: bool, paged: bool, fmt: str) -> None:
    if summary and (paged or fmt in ("csv", "ndjson")):
        raise click.UsageError("--summary gives totals alone: leave out --limit, --after and "
                               "--format csv/ndjson")  # fmt: skip


def emit_summary(counted: dict[str, Any], fmt: str) -> None:
    """Totals as JSON, or as one table of name and count."""
    if fmt == "json":
        echo_json(counted)
        return
    rows = [{"of": "all", "name": "", "count": counted["all"]}]
    for by, counts in counted.items():
        if isinstance(counts, dict):
            rows += [{"of": by, "name": name, "count": n} for name, n in counts.items()]
    click.echo(render_table(rows, ["of", "name", "count"]))


def emit_page(rows: list[dict[str, Any]], next_cursor: str | None, columns: list[str], fmt: str,
              times: tuple[str, ...]) -> None:  # fmt: skip
    """A page: JSON ``{"items", "next_cursor"}``, or the table and the option to go on."""
    if fmt == "json":
        echo_json({"items": rows, "next_cursor": next_cursor})
        return
    emit(rows, columns, fmt, times)
    if next_cursor is not None:
        click.echo(f"more: --after {next_cursor}")


def pages(
    query: Query, f: CaseFilter, as_of: datetime, after: tuple[str, str] | None = None
) -> Iterator[list[dict[str, Any]]]:
    """The rows of ``list`` (after ``after``), ``PAGE`` at a time, each page read in a
    transaction of its own (so a slow reader of the output holds no transaction open)."""
    left = f.limit
    while left is None or left > 0:
        size = PAGE if left is None else min(PAGE, left)
        rows = query.cases(replace(f, limit=size), as_of, after)
        if rows:
            yield rows
        if len(rows) < size:
            return
        after = (rows[-1]["received_at"], rows[-1]["ref"])
        left = None if left is None else left - len(rows)


def stream(chunks: Iterator[list[dict[str, Any]]], fmt: str) -> None:
    """Write rows as they come: a JSON array (the bytes ``echo_json`` would write for all of
    them at once) or CSV, so a list of a million complaints needs memory for one page."""
    out = sys.stdout
    out.flush()
    if fmt == "csv":
        writer: csv.DictWriter[str] | None = None
        for rows in chunks:
            if writer is None:
                writer = csv.DictWriter(out, fieldnames=list(rows[0]), lineterminator="\n")
                writer.writeheader()
            writer.writerows(csv_rows(rows))
        if writer is None:
            csv.writer(out, lineterminator="\n").writerow(LIST_COLUMNS)
        out.flush()
        return
    raw, first = out.buffer, True
    if fmt == "ndjson":  # one JSON object a line, as it comes
        for rows in chunks:
            raw.write(b"".join(orjson.dumps(row, default=str) + b"\n" for row in rows))
        raw.flush()
        return
    for rows in chunks:
        for row in rows:
            # An item of an indented array, as orjson indents it: drop "[\n" and "\n]".
            item = orjson.dumps([row], default=str, option=orjson.OPT_INDENT_2)[2:-2]
            raw.write(b"[\n" + item if first else b",\n" + item)
            first = False
    raw.write(b"[]\n" if first else b"\n]\n")
    raw.flush()


@cli.group()
def report() -> None:
    """Supervisors' and regulators' reports."""


@report.command("sla")
@click.option("--as-of", metavar="TIME", help="Judge the clocks at TIME (default: now).")
@click.option(
    "--known-at",
    metavar="TIME",
    help="Only what had been recorded by TIME (events, policies, calendars); replays the log.",
)
@click.option("--from", "first", metavar="DATE", help="Complaints received on or after DATE.")
@click.option("--to", "last", metavar="DATE", help="Complaints received on or before DATE.")
@click.option("--summary", is_flag=True, help="Totals only, no items (counted by the database).")
@click.option("--limit", type=click.IntRange(min=1), help="At most N items (a page).")
@click.option("--after", metavar="CURSOR", help="The page after CURSOR (a next_cursor given out).")
@freshness_options
@db_option
@format_option("table", "json", "csv", "ndjson")
def report_sla(as_of: str | None, known_at: str | None, first: str | None, last: str | None,
               summary: bool, limit: int | None, after: str | None, no_catch_up: bool,
               max_lag: int | None, db: str, fmt: str) -> None:  # fmt: skip
    """Every breached, overdue and at-risk clock, then totals per clock, team and channel.

    --as-of asks what had happened by then (by all that is recorded now); --known-at what
    the ledger had recorded by then (the as-of moment defaults to it). --summary gives the
    totals alone; --limit N a page of N items and the cursor of the next (--after CURSOR);
    --format ndjson every item, one JSON object a line, as it is read. See docs/sla.md.

    \b
    Example:
      complaint-ledger report sla --as-of 2026-11-30T18:00:00+08:00 --format json
      complaint-ledger report sla --summary
      complaint-ledger report sla --limit 100 --format json
    """
    known = parse_time(known_at, "--known-at")
    period = _date(first, "--from"), _date(last, "--to")
    paged = limit is not None or after is not None
    _check_sla_options(summary, paged, limit, fmt, known)
    asked = parse_time(as_of, "--as-of")
    position = None
    if after is not None:
        position = Position.decode(after)
        position.agrees(asked, *period)
        asked, period = position.as_of, (position.first, position.last)
    moment = asked or known or datetime.now(UTC)
    lean = _lean_sla(db, not no_catch_up, max_lag, moment, period, summary, paged, known,
                     limit, position) if fmt != "ndjson" else None  # fmt: skip
    if lean is not None:
        data, lag = lean
        _say_sla(data, lag, fmt)
        return
    with _open_query(db, catch_up=not no_catch_up, units=("cases",)) as query:
        lag = query.lag("cases", max_lag)
        if fmt == "ndjson":
            out = sys.stdout.buffer
            sys.stdout.flush()
            sla_stream(query, moment, *period, lambda i: out.write(orjson.dumps(i) + b"\n"),
                       position)  # fmt: skip
            out.flush()
            say_lag(lag, fmt)
            return
        if summary and known is None:
            data = sla_summary(query, moment, *period)
        elif paged:
            data = sla_page(query, moment, *period, limit or PAGE, position)
        else:
            data = query.sla_report(moment, *period, known)
            if summary:  # replayed from the log: the whole report, without its lists
                data = {k: v for k, v in data.items() if k not in ("items", "changed")}
    _say_sla(data, lag, fmt)


def _lean_sla(url: str, catch_up: bool, max_lag: int | None, moment: datetime,
              period: tuple[date | None, date | None], summary: bool, paged: bool,
              known: datetime | None, limit: int | None,
              position: Position | None) -> tuple[dict[str, Any], Lag] | None:  # fmt: skip
    """The summary or a page read lean (``projections.lean``): the same rows and lag as the
    full path, without loading the ledger's store; None where the full path must answer
    (it then answers, or refuses, exactly as it always has). A read that fails is read
    again by the full path: reads never write, and the error is then worded as ever."""
    if known is not None or not (summary or paged):
        return None
    from projections.lean import open_lean

    lean = open_lean(url, catch_up=catch_up, max_lag=max_lag)
    if lean is None:
        return None
    try:
        lag = lean.lag("cases", max_lag)
        if summary:
            return sla_summary(lean, moment, *period), lag
        return sla_page(lean, moment, *period, limit or PAGE, position), lag
    except Exception:
        return None
    finally:
        lean.close()


def _say_sla(data: dict[str, Any], lag: Lag, fmt: str) -> None:
    if fmt == "json":
        echo_json({**data, "lag": lag.events})
        return
    if fmt == "csv":
        items = [{**i, "changes": orjson.dumps(i["changes"]).decode() if i["changes"] else ""}
                 for i in data["items"]]  # fmt: skip
        emit(items, [], "csv")
    else:
        print_sla_report(data)
    say_lag(lag, fmt)


def _check_sla_options(
    summary: bool, paged: bool, limit: int | None, fmt: str, known: datetime | None
) -> None:
    """Refuse the combinations ``report sla`` cannot honour, before anything is read."""
    if summary and (paged or fmt in ("csv", "ndjson")):
        raise click.UsageError("--summary gives totals alone: leave out --limit, --after and "
                               "--format csv/ndjson")  # fmt: skip
    if known is not None and (paged or fmt == "ndjson"):
        raise click.UsageError("--known-at replays the whole log for one report: it cannot be "
                               "paged or streamed (use --format json, or --summary)")  # fmt: skip
    if fmt == "ndjson" and limit is not None:
        raise click.UsageError("--format ndjson streams every item (after --after): page with "
                               "--limit and --format json")  # fmt: skip
    if fmt == "csv" and paged:
        raise click.UsageError("a page carries its next cursor: use --format json or table")


@report.command("stats")
@click.option("--from", "first", metavar="DATE", help="From this month (a date in it).")
@click.option("--to", "last", metavar="DATE", help="To this month (a date in it).")
@click.option(
    "--repeats",
    is_flag=True,
    help="Repeat complaints instead (blind index): complainants with more than one complaint "
    "received in the period, and the complaints after each one's first.",
)
@freshness_options
@db_option
@format_option("table", "json", "csv")
def report_stats(first: str | None, last: str | None, repeats: bool, no_catch_up: bool,
                 max_lag: int | None, db: str, fmt: str) -> None:  # fmt: skip
    """Monthly figures per channel, category and severity (--repeats: repeat complaints).

    \b
    Example:
      complaint-ledger report stats --from 2026-01-01
      complaint-ledger report stats --repeats --format json
    """
    period = _date(first, "--from"), _date(last, "--to")
    if repeats:  # the index is written with the events: exact, no read model to wait for
        with _open_query(db, catch_up=False) as query:
            figures = query.repeats(*period)
        if fmt == "json":
            echo_json(figures)
        elif fmt == "csv":
            emit([dict(figures)], list(figures), fmt)
        else:
            for name, value in figures.items():
                click.echo(f"{name.replace('_', ' '):>20}: {value}")
        return
    with _open_query(db, catch_up=not no_catch_up, units=("cases",)) as query:
        lag = query.lag("statistics", max_lag)
        rows = query.statistics(*period)
    emit(rows if fmt != "table" else [_readable_statistics(r) for r in rows], STATS_COLUMNS, fmt)
    say_lag(lag, fmt)


def _readable_statistics(row: dict[str, Any]) -> dict[str, Any]:
    """A row of statistics as a person reads it: the median handling time as a duration
    (``4d 11h 49m``), money to the fen, the mean score to one decimal."""
    hours, score = row["median_handling_hours"], row["mean_satisfaction"]
    return {
        **row,
        "median handling": None if hours is None else duration(round(hours * 3600)),
        "refund_total": f"{Decimal(row['refund_total']):.2f}",
        "mean_satisfaction": None if score is None else f"{score:.1f}",
    }


@cli.command()
@click.argument("ref")
@click.option("--limit", type=click.IntRange(min=1), help="At most N entries (a page).")
@click.option("--after", metavar="CURSOR", help="The page after CURSOR (a next_cursor given out).")
@click.option("--summary", is_flag=True, help="How many entries, per action; no entries.")
@freshness_options
@db_option
@format_option("table", "json", "csv", "ndjson")
def audit(ref: str, limit: int | None, after: str | None, summary: bool, no_catch_up: bool,
          max_lag: int | None, db: str, fmt: str) -> None:  # fmt: skip
    """One complaint's audit trail from the read model.

    With --limit (or --after), --format json writes {"items": [...], "next_cursor": ...}.

    \b
    Example:
      complaint-ledger audit TS-20261128-0001
    """
    paged = limit is not None or after is not None
    _check_list_options(summary, paged, fmt)
    start = None if after is None else cursors.decode(after, (int,), "an audit trail")[0]
    with _open_query(db, catch_up=not no_catch_up, units=("audit_trail",)) as query:
        lag = query.lag("audit_trail", max_lag)
        with query.transaction() as cur:
            if summary:
                counted = audit_summary(cur, ref)
                rows = [counted] if counted["all"] else []
            else:
                rows = audit_rows(cur, ref, None if limit is None else limit + 1, start)
    if not rows and start is None:
        behind = "" if lag.events == 0 else f" in the read models ({lag_line(lag)})"
        raise click.ClickException(f"no complaint has reference {ref!r}{behind}")
    if summary:
        emit_summary(counted, fmt)
    elif paged and fmt in ("json", "table"):
        size = limit or len(rows)
        more, rows = len(rows) > size, rows[:size]
        next_cursor = cursors.encode([rows[-1]["position"]]) if more else None
        emit_page(rows, next_cursor, AUDIT_COLUMNS, fmt, ("occurred_at", "recorded_at"))
    elif fmt == "ndjson":
        stream(iter([rows[:limit]]), fmt)
    else:
        emit(rows[:limit], AUDIT_COLUMNS, fmt, times=("occurred_at", "recorded_at"))
    say_lag(lag, fmt)


# ``report regulator`` lives beside ``reply-regulator``; imported last, as it adds itself to
# the ``report`` group defined above.
from commands.cli import regulator as _regulator  # noqa: E402,F401
