"""``codes``: publish the complaint code lists (causes, the regulator's classification), list
and show them. Published into the policy book and versioned like the policy (docs/codes.md)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from commands.cli.base import cli
from commands.cli.freshness import published, say_lag
from commands.cli.output import db_option, format_option, local_time, render_table, to_json
from commands.cli.publish import _submit
from commands.cli.writes import write_options
from commands.models import PublishCodes
from ledger.domain.codes import codes_to_dict
from ledger.store.codelists import code_list_of, published_code_lists

if TYPE_CHECKING:
    from projections.lean import Lag


def _code_file(path: str) -> tuple[str, str]:
    formats = {".toml": "toml", ".json": "json"}
    fmt = formats.get(Path(path).suffix.lower())
    if fmt is None:
        raise click.ClickException(f"{path}: a code list file must end in .toml or .json")
    try:
        # utf-8-sig: a byte order mark at the start (some Windows editors write one) is dropped.
        return Path(path).read_text(encoding="utf-8-sig"), fmt
    except (OSError, UnicodeDecodeError) as e:
        raise click.ClickException(f"cannot read {path}: {e}") from None


@cli.group()
def codes() -> None:
    """Complaint code lists: the company's causes and the regulator's classification."""


@codes.command("publish")
@click.argument("file")
@click.option(
    "--effective-from",
    metavar="TIME",
    help="Actions from TIME on are checked against it (default: now).",
)
@write_options
def codes_publish(file: str, effective_from: str | None, **o: Any) -> None:
    """Publish a version of the code lists (TOML or JSON, validated) into the ledger.

    A triage or closure that gives --cause, --business-type or --business-channel is checked
    against the list in force when it happened, and records that list's version. See
    docs/codes-example.toml.

    \b
    Example:
      complaint-ledger codes publish docs/codes-example.toml --actor chen --role leadership
    """
    text, fmt = _code_file(file)
    _submit(PublishCodes, {"text": text, "format": fmt, "effective_from": effective_from}, o)


@codes.command("list")
@db_option
@format_option("table", "json")
def codes_list(db: str, fmt: str) -> None:
    """List code list versions, when each takes effect. Example: complaint-ledger codes list"""
    published, lag = _published(db)
    if fmt == "json":
        click.echo(to_json(published))
    elif not published:
        click.echo("no code list published yet: triage and close take no --cause")
    else:
        rows = _listed_rows(published)
        click.echo(render_table(rows, list(rows[0])))
    if lag is not None:
        say_lag(lag, fmt)


def _listed_rows(published: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [
        {
            "version": p["version"],
            "effective_from": local_time(p["effective_from"]),
            "causes": len(p["causes"]),
            "regulator_causes": len(p["regulator"]["causes"]),
            "standard": p["regulator"]["standard"],
        }
        for p in published
    ]


def _published(db: str) -> tuple[list[dict[str, Any]], Lag | None]:
    """The code lists published, from the log or the read model (``published``)."""
    from projections.publications import stored_code_lists

    return published(db, published_code_lists, stored_code_lists)


@codes.command("show")
@click.argument("version")
@db_option
@format_option("table", "json")
def codes_show(version: str, db: str, fmt: str) -> None:
    """Show one code list version. Example: complaint-ledger codes show codes-2026.1"""
    published, lag = _published(db)
    codes = code_list_of(published, version)
    if fmt == "json":
        click.echo(to_json(codes_to_dict(codes)))
        if lag is not None:
            say_lag(lag, fmt)
        return
    regulator = codes.regulator_causes
    causes = [
        {
            "cause": c.code,
            "label": c.label,
            "regulator": c.regulator or "-",
            "regulator_label": regulator.get(c.regulator or "", "-"),
        }
        for c in codes.causes.values()
    ]
    click.echo(f"{codes.version} ({codes.standard})")
    click.echo(render_table(causes, ["cause", "label", "regulator", "regulator_label"]))
    for title, table in (
        ("channel", codes.channels),
        ("business_type", codes.business_types),
        ("regulator_cause", codes.regulator_causes),
    ):
        click.echo()
        rows = [{title: code, "label": label} for code, label in table.items()]
        click.echo(render_table(rows, [title, "label"]))
    if lag is not None:
        say_lag(lag, fmt)
