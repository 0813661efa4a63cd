"""Shared output options and renderers: human tables by default, JSON for machines."""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Callable, Iterable, Mapping, Sequence
from contextlib import AbstractContextManager, nullcontext
from datetime import datetime, timedelta
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

import click
import orjson
from click.core import ParameterSource

from projections.cores import usable_cores

DISPLAY_TIMEZONE = ZoneInfo("Asia/Shanghai")

# What must not reach a terminal as it is: C0 and C1 control characters (ESC starts the
# escape sequences that retitle a window, recolour or move the cursor; CR overwrites a line),
# DEL, and the invisible marks that reorder the text shown around them (bidirectional
# overrides and isolates) or break a line (U+2028, U+2029).
_UNSAFE = re.compile("[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]")

F = TypeVar("F", bound=Callable[..., Any])


def format_option(*choices: str) -> Callable[[F], F]:
    names = choices or ("table", "json")
    return click.option(
        "--format",
        "fmt",
        type=click.Choice(names),
        default=names[0],
        show_default=True,
        help="Output format.",
    )


def _empty_env_is_not_unset(ctx: click.Context, param: click.Parameter, value: str) -> str:
    # click takes an empty variable for an unset one; the ledger refuses an empty URL instead
    # of quietly writing ./complaints.db.
    source = ctx.get_parameter_source(param.name or "db")
    if source is ParameterSource.DEFAULT and os.environ.get("LEDGER_DB") == "":
        return ""
    return value


def db_option(fn: F) -> F:
    return click.option(
        "--db",
        envvar="LEDGER_DB",
        default="sqlite:///complaints.db",
        show_default=True,
        metavar="URL",
        callback=_empty_env_is_not_unset,
        help="sqlite:///path or postgresql://user@host/db (env LEDGER_DB).",
    )(fn)


def evidence_dir_option(fn: F) -> F:
    """``--evidence-dir``: the folder ``attach`` copies files into and an erasure deletes them
    from (``ledger.store.evidence.evidence_folder``)."""
    return click.option(
        "--evidence-dir",
        envvar="LEDGER_EVIDENCE_DIR",
        metavar="DIR",
        help="The evidence folder (env LEDGER_EVIDENCE_DIR; default: evidence/ beside a "
        "SQLite ledger's file, ./evidence for PostgreSQL).",
    )(fn)


def workers_option(fn: F) -> F:
    """``--workers``: processes deciding a bulk write's commands (``commands.bulk_workers``)."""
    return click.option(
        "--workers",
        # The writing process needs a core of its own (docs/performance.md, "The import writer
        # with worker processes"): on two cores one process alone was as fast or faster.
        default=max(1, usable_cores() - 1),
        show_default="the number of cores less one",
        type=click.IntRange(min=1),
        help="Processes that decide the commands of a bulk write, split by complaint "
        "(1: all in this process); this process alone writes.",
    )(fn)


def deciders(db: str, workers: int) -> AbstractContextManager[Any]:
    """The worker processes of ``--workers`` (none for 1), ended when the command ends."""
    if workers <= 1:
        return nullcontext(None)
    from commands.bulk_workers import Deciders  # only the bulk writes start processes

    return Deciders(db, workers)


def to_json(data: Any) -> str:
    """Indented JSON, non-ASCII kept; orjson because reports can hold 100,000s of items."""
    return orjson.dumps(data, default=str, option=orjson.OPT_INDENT_2).decode()


def echo_json(data: Any) -> None:
    """Write ``to_json(data)`` and a newline to standard output as UTF-8 bytes, without
    decoding tens of megabytes into a string and encoding them back."""
    sys.stdout.flush()
    out = sys.stdout.buffer
    out.write(
        orjson.dumps(data, default=str, option=orjson.OPT_INDENT_2 | orjson.OPT_APPEND_NEWLINE)
    )
    out.flush()


def printable(text: str) -> str:
    """``text`` as it may be written to a terminal: each unsafe character (``_UNSAFE``) shown
    as its escape (``\\x1b``, ``\\n``, ``\\u202e``), so that free text typed by anyone cannot
    act on the reader's terminal. Machine output (JSON) keeps the text as it is."""
    return _UNSAFE.sub(_escape, text)


def _escape(match: re.Match[str]) -> str:
    return match.group().encode("unicode_escape").decode("ascii")


def local_time(value: str | datetime | None) -> str:
    """A time shown to a person: in the plan's zone, to the second, with its UTC offset
    (``2026-11-30 12:11:44 +08:00``), so that nobody has to guess which clock it is on."""
    if value is None:
        return "-"
    moment = datetime.fromisoformat(value) if isinstance(value, str) else value
    return _with_offset(moment.astimezone(DISPLAY_TIMEZONE))


def _with_offset(local: datetime) -> str:
    offset = local.strftime("%z")  # +0800
    return f"{local:%Y-%m-%d %H:%M:%S} {offset[:3]}:{offset[3:]}"


def local_times(data: Mapping[str, Any], keys: Iterable[str]) -> dict[str, Any]:
    """``data`` with the times under ``keys`` as ``local_time`` shows them."""
    return {**data, **{k: local_time(data[k]) for k in keys}}


def render_table(rows: Sequence[dict[str, Any]], columns: Sequence[str]) -> str:
    """A plain table, columns as wide as their widest cell on a terminal (CJK characters
    take two columns, as ``wcwidth`` measures them)."""
    # Imported here, not at the top: loading wcwidth's tables is a noticeable share of a
    # command's start-up, and most commands (every write, every JSON answer) draw no table.
    from wcwidth import wcswidth

    def _width(text: str) -> int:
        width = wcswidth(text)
        return len(text) if width < 0 else width  # negative: a character it cannot measure

    cells = [[_cell(row.get(c)) for c in columns] for row in rows]
    widths = [max([_width(c)] + [_width(r[i]) for r in cells]) for i, c in enumerate(columns)]

    def _pad(text: str, width: int) -> str:
        return text + " " * (width - _width(text))

    lines = ["  ".join(_pad(c, w) for c, w in zip(columns, widths, strict=True)).rstrip()]
    lines.append("  ".join("-" * w for w in widths))
    lines += ["  ".join(_pad(v, w) for v, w in zip(r, widths, strict=True)).rstrip() for r in cells]
    return "\n".join(lines)


def _cell(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    return printable(str(value))


def parse_time(value: str | None, option: str) -> datetime | None:
    """An aware timestamp from the command line, or a clear error."""
    if value is None:
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise click.ClickException(
            f"{option}: {value!r} is not an ISO 8601 time, e.g. 2026-09-24T16:00:00+08:00"
        ) from None
    if moment.tzinfo is None:
        raise click.ClickException(f"{option}: {value!r} needs a UTC offset, e.g. +08:00")
    return moment


def duration(seconds: int) -> str:
    """A lateness a supervisor reads at a glance: 2d 3h 05m."""
    if seconds <= 0:
        return "-"
    days, rest = divmod(seconds, 86_400)
    hours, rest = divmod(rest, 3_600)
    minutes = -(-rest // 60)
    text = f"{hours}h {minutes:02d}m" if hours or days else f"{minutes}m"
    return f"{days}d {text}" if days else text


def due_time(moment: datetime) -> str:
    """A deadline at local midnight is the end of the day before, and reads as such: the last
    second of that day (``2026-12-04 23:59:59 +08:00``, not ``2026-12-05 00:00:00``)."""
    local = moment.astimezone(DISPLAY_TIMEZONE)
    if (local.hour, local.minute, local.second) == (0, 0, 0):
        return _with_offset(local - timedelta(seconds=1))
    return _with_offset(local)


def csv_value(value: Any) -> Any:
    """A value as CSV shows it: booleans as JSON writes them (``true``, ``false``)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return value


def csv_rows(rows: Iterable[Mapping[str, Any]]) -> Iterable[dict[str, Any]]:
    return ({k: csv_value(v) for k, v in row.items()} for row in rows)
