"""Shared output options and renderers: human tables by default, JSON for machines."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

import click
import orjson
from click.core import ParameterSource

DISPLAY_TIMEZONE = ZoneInfo("Asia/Shanghai")

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


def local_time(value: str | None) -> str:
    """An ISO timestamp shown to a person: local time of the plan, to the second."""
    if value is None:
        return "-"
    moment = datetime.fromisoformat(value).astimezone(DISPLAY_TIMEZONE)
    return moment.strftime("%Y-%m-%d %H:%M:%S")


def render_table(rows: Sequence[dict[str, Any]], columns: Sequence[str]) -> str:
    cells = [[_cell(row.get(c)) for c in columns] for row in rows]
    widths = [max([_width(c)] + [_width(r[i]) for r in cells]) for i, c in enumerate(columns)]
    lines = ["  ".join(_pad(c, w) for c, w in zip(columns, widths, strict=True)).rstrip()]
    lines.append("  ".join("-" * w for w in widths))
    lines += ["  ".join(_pad(v, w) for v, w in zip(r, widths, strict=True)).rstrip() for r in cells]
    return "\n".join(lines)


def _cell(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    return str(value).replace("\n", " ")


def _width(text: str) -> int:
    # CJK characters take two columns on a terminal.
    return sum(2 if ord(ch) > 0x2E80 else 1 for ch in text)


def _pad(text: str, width: int) -> str:
    return text + " " * (width - _width(text))


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
    """A deadline at local midnight is the end of the day before: shown as 24:00 of that day."""
    local = moment.astimezone(DISPLAY_TIMEZONE)
    if (local.hour, local.minute, local.second) == (0, 0, 0):
        return f"{(local - timedelta(days=1)):%Y-%m-%d} 24:00:00"
    return f"{local:%Y-%m-%d %H:%M:%S}"
