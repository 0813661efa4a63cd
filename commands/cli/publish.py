"""``policy`` and ``calendar``: publish the plan's SLA policy and the working-day calendars."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from commands.cli.base import cli
from commands.cli.freshness import published, say_lag
from commands.cli.output import db_option, format_option, local_time, render_table, to_json
from commands.cli.writes import describe, write_options
from commands.handlers import handle
from commands.models import Envelope, PublishCalendar, PublishPolicy
from ledger.domain.policy import DEFAULT_POLICY, policy_to_dict
from ledger.store.books import load_calendar_book, load_policy_book, policy_version
from ledger.store.root import Ledger, open_ledger

if TYPE_CHECKING:
    from projections.lean import Lag


def _submit(model: type[Envelope], fields: dict[str, Any], opts: dict[str, Any]) -> None:
    data = {
        "command_id": opts["command_id"] or str(uuid.uuid4()),
        "actor": {"id": opts["actor"], "role": opts["role"]},
        "occurred_at": opts["occurred_at"],
        **fields,
    }
    command = model.model_validate({k: v for k, v in data.items() if v is not None})
    with open_ledger(opts["db"]) as ledger:
        outcome = handle(ledger, command)
    click.echo(to_json(outcome.as_dict()) if opts["fmt"] == "json" else describe(outcome))


def _document(path: str) -> tuple[str, str]:
    suffix = Path(path).suffix.lower()
    formats = {".toml": "toml", ".yaml": "yaml", ".yml": "yaml"}
    if suffix not in formats:
        raise click.ClickException(
            f"{path}: a policy or calendar file must end in .toml, .yaml or .yml"
        )
    try:
        # utf-8-sig: a byte order mark at the start (some Windows editors write one) is dropped.
        return Path(path).read_text(encoding="utf-8-sig"), formats[suffix]
    except (OSError, UnicodeDecodeError) as e:
        raise click.ClickException(f"cannot read {path}: {e}") from None


@cli.group()
def policy() -> None:
    """The SLA policy (the complaint plan's clocks), versioned in the ledger."""


@policy.command("publish")
@click.argument("file")
@click.option(
    "--effective-from",
    metavar="TIME",
    help="Complaints received from TIME on pin it (default: now).",
)
@click.option("--reason", metavar="TEXT", help="Why the plan was revised (预案修订).")
@click.option("--drill", metavar="ID", help="The drill that prompted the revision (drill list).")
@write_options
def policy_publish(
    file: str, effective_from: str | None, reason: str | None, drill: str | None, **o: Any
) -> None:
    """Publish a policy revision (TOML or YAML, validated) into the ledger.

    Each complaint pins the version in force when it was received, so a revision
    never changes an old verdict. See docs/policy-example.toml.

    \b
    Example:
      complaint-ledger policy publish plan-2027.toml --reason "acknowledged late" \
        --drill DR-0001 --actor chen --role leadership
    """
    text, fmt = _document(file)
    fields = {"text": text, "format": fmt, "effective_from": effective_from, "reason": reason,
              "drill": drill}  # fmt: skip
    _submit(PublishPolicy, fields, o)


@policy.command("list")
@db_option
@format_option("table", "json")
def policy_list(db: str, fmt: str) -> None:
    """List the policy versions and when each took effect. Example: complaint-ledger policy list"""
    published, lag = _policies(db)
    built_in = {"version": DEFAULT_POLICY.version, "effective_from": None, "source": "built in"}
    rows: list[dict[str, Any]] = [{**built_in, "reason": None, "drill": None}]
    rows += [{"version": p["version"], "effective_from": p["effective_from"], "source": "published",
              "reason": p["reason"], "drill": p["drill"]} for p in published]  # fmt: skip
    if fmt == "json":
        click.echo(to_json(rows))
    else:
        click.echo(
            render_table(
                [{**r, "effective_from": local_time(r["effective_from"])} for r in rows],
                ["version", "effective_from", "source", "reason", "drill"],
            )
        )
    if lag is not None:
        say_lag(lag, fmt)


def _policies(db: str) -> tuple[list[dict[str, Any]], Lag | None]:
    """The policies published (version, effective_from, reason, drill) by the time each takes
    effect, from the log or the read model (``published``)."""
    from projections.publications import stored_policy_list

    return published(db, _policy_list, stored_policy_list)


def _policy_list(ledger: Ledger) -> list[dict[str, Any]]:
    book = load_policy_book(ledger)
    if book is None:
        return []
    return [
        {"version": version, "effective_from": effective_from.isoformat(),
         "reason": book.revisions[version][0], "drill": book.revisions[version][1]}
        for effective_from, version in book.effective
    ]  # fmt: skip


@policy.command("show")
@click.argument("version")
@db_option
def policy_show(version: str, db: str) -> None:
    """Show one policy version as JSON. Example: complaint-ledger policy show default-2026.1"""
    from projections.publications import stored_rulebook

    policy, lag = published(
        db,
        lambda ledger: policy_version(ledger, version),
        lambda cur: stored_rulebook(cur).policy(version),
    )
    click.echo(to_json(policy_to_dict(policy)))
    if lag is not None:
        say_lag(lag, "json")


@cli.group()
def calendar() -> None:
    """Working-day calendars (public holidays, 调休 make-up days, company days off)."""


@calendar.command("publish")
@click.argument("year", type=int)
@click.argument("file", required=False)
@write_options
def calendar_publish(year: int, file: str | None, **o: Any) -> None:
    """Publish a year's working-day calendar: from the holidays package, or FILE.

    A year with no published calendar is only estimated; publishing one changes the
    deadlines that fall in it. FILE (TOML/YAML) has days_off = [...], working_days = [...]
    and base = "package" (default) or "none".

    \b
    Example:
      complaint-ledger calendar publish 2026 --actor chen --role leadership
    """
    fields: dict[str, Any] = {"year": year}
    if file is not None:
        fields["text"], fields["format"] = _document(file)
    _submit(PublishCalendar, fields, o)


def _calendar_years(ledger: Ledger) -> tuple[dict[int, dict[str, Any]], dict[int, int]]:
    book = load_calendar_book(ledger)
    return (book.years, book.revisions) if book else ({}, {})


@calendar.command("list")
@db_option
@format_option("table", "json")
def calendar_list(db: str, fmt: str) -> None:
    """List the published years. Example: complaint-ledger calendar list"""
    from projections.publications import stored_calendar_years

    (years, revisions), lag = published(db, _calendar_years, stored_calendar_years)
    rows = [
        {
            "year": year,
            "revision": revisions[year],
            "days_off": len(doc["days_off"]),
            "make_up_working_days": len(doc["working_days"]),
            "source": doc["source"],
        }
        for year, doc in sorted(years.items())
    ]
    if fmt == "json":
        click.echo(to_json(rows))
    elif rows:
        click.echo(render_table(rows, list(rows[0])))
    else:
        click.echo("no calendar published yet: every working-day deadline is estimated")
    if lag is not None:
        say_lag(lag, fmt)
