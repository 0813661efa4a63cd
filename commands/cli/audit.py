"""``history`` and ``erase``: replay a complaint as it stood at any moment; crypto-shred its
personal data."""

from __future__ import annotations

import json
from typing import Any

import click

from commands.cli.base import cli
from commands.cli.output import (
    db_option,
    evidence_dir_option,
    format_option,
    local_time,
    parse_time,
    printable,
    to_json,
)
from commands.cli.writes import describe, run_command, write_options
from commands.evidence import purge_evidence, purge_lines
from ledger.integrity.history import history as replay
from ledger.store.evidence import evidence_folder
from ledger.store.root import open_reader

# Bookkeeping that changes with every event and says nothing on its own.
QUIET_STATE = frozenset({"version", "last_activity_at"})
# Fields and state that hold a time (ISO 8601 text in the data): received_at, paused_since …
TIME_SUFFIXES = ("_at", "_since")


@cli.command()
@click.argument("ref")
@click.option("--as-of", metavar="TIME", help="What had happened by TIME (when events occurred).")
@click.option("--known-at", metavar="TIME", help="What the ledger had recorded by TIME.")
@click.option("--version", "version", type=int, metavar="N", help="The history up to version N.")
@db_option
@format_option("table", "json")
def history(
    ref: str, as_of: str | None, known_at: str | None, version: int | None, db: str, fmt: str
) -> None:
    """Every event of a complaint, what it set, the state after it, replayed from the events.

    --as-of keeps the events that had happened by then (their occurred_at); --known-at those
    the ledger had recorded by then. Together: what the ledger knew at --known-at about what
    had happened by --as-of.

    \b
    Example:
      complaint-ledger history TS-1 --as-of 2026-09-25T12:00:00+08:00
    """
    if version is not None and (as_of is not None or known_at is not None):
        raise click.UsageError("give --as-of and --known-at, or --version, not both")
    moment, known = parse_time(as_of, "--as-of"), parse_time(known_at, "--known-at")
    with open_reader(db) as ledger:
        story = replay(ledger, ref, as_of=moment, version=version, known_at=known)
    if fmt == "json":
        click.echo(to_json(story))
        return
    upto = ", ".join(
        f"{label} {local_time(story[key])}"
        for key, label in (("as_of", "happened by"), ("known_at", "recorded by"))
        if story[key]
    )
    count = len(story["events"])
    click.echo(
        printable(
            f"{ref}: {count} event{'' if count == 1 else 's'} "
            f"({upto + ', ' if upto else ''}version {story['version']})"
        )
    )
    before: dict[str, Any] = {}
    for row in story["events"]:
        click.echo(
            printable(
                f"v{row['version']:<3} {row['event']:<20} {row['actor_id'] or '-'} "
                f"({_proven(row)})  occurred {local_time(row['occurred_at'])}  "
                f"recorded {local_time(row['recorded_at'])}"
            )
        )
        if row["fields"]:
            click.echo(f"      set: {_pairs(row['fields'])}")
        after = row["state_after"] or {}
        changed = {k: v for k, v in after.items() if k not in QUIET_STATE and before.get(k) != v}
        if changed and before:
            click.echo(f"      now: {_pairs(changed)}")
        before = after
    click.echo()
    click.echo(f"State at version {story['version']}{' (' + upto + ')' if upto else ''}:")
    for key, value in (story["state"] or {}).items():
        click.echo(f"{key:>20}: {_value(key, value)}")


def _proven(row: dict[str, Any]) -> str:
    """The role and how the actor was proven: ``handling_team, database wang``."""
    if row["actor_role"] is None:
        return "-"
    credential = f" {row['actor_credential']}" if row["actor_credential"] else ""
    return f"{row['actor_role']}, {row['actor_method']}{credential}"


def _value(key: str, value: Any) -> str:
    """A value of an event or of the state, as a person reads it: times in the plan's zone
    with their offset, like every other time shown, and nothing that acts on a terminal."""
    if value is None:
        return "-"
    if isinstance(value, str) and key.endswith(TIME_SUFFIXES):
        return local_time(value)
    if isinstance(value, dict | list):
        return printable(json.dumps(value, ensure_ascii=False))
    return printable(str(value))


def _pairs(data: dict[str, Any]) -> str:
    return ", ".join(f"{printable(k)}={_value(k, v)}" for k, v in data.items())


@cli.command()
@click.argument("ref")
@click.option("--reason", help="Why, e.g. the retention period ended or the complainant asked.")
@evidence_dir_option
@write_options
def erase(ref: str, **o: Any) -> None:
    """Erase the complainant's personal data by destroying its key (leadership only).

    The events stay; name, phone, ID number and address show as [erased] from then on, and
    the complaint's evidence files are deleted from the evidence folder.

    \b
    Example:
      complaint-ledger erase TS-1 --reason "retention period ended" --actor chen \\
        --role leadership
    """
    outcome = run_command("erase", ref, {"reason": o["reason"]}, o)
    click.echo(to_json(outcome.as_dict()) if o["fmt"] == "json" else describe(outcome))
    with open_reader(o["db"]) as ledger:  # the erasure is recorded: now its files go
        purged = purge_evidence(ledger, ref, evidence_folder(o["db"], o["evidence_dir"]))
    if o["fmt"] != "json":
        for line in purge_lines(purged):
            click.echo(line)
