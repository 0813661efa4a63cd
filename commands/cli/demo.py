"""``demo``: fill a ledger of its own with three weeks of realistic complaints, and report.

The demo tells one fixed story: complaints received from Friday 6 to Friday 27 November 2026,
each action dated when it happened (``occurred_at``), the ledger looked at on the evening of
the 27th. Its commands carry fixed ids, so running it again appends nothing: a ledger that
already holds the demo is left as it is, whatever was added to it since. It never writes
into a ledger that holds other complaints.
"""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

import click

from commands.cli.base import cli
from commands.cli.output import local_time, render_table
from commands.cli.report import print_sla_report
from commands.handlers import Outcome, handle
from commands.models import PublishCalendar, parse_command
from commands.synthetic import (
    LEADER,
    Lifecycle,
    lifecycles,
    link_step,
    synthetic_evidence,
    training_session,
)
from commands.synthetic_codes import publish_codes_command
from ledger.domain.errors import CalendarUnavailable
from ledger.domain.policy import DEFAULT_POLICY
from ledger.store.books import load_calendar_book
from ledger.store.root import Ledger, open_ledger, persistence_env
from projections.runner import Runner
from projections.sla_query import sla_report_at

DEMO_DB = "sqlite:///demo.db"
# The evening the demo's story ends, and how many days it tells of.
DEMO_END = datetime(2026, 11, 27, 18, 0, tzinfo=ZoneInfo("Asia/Shanghai"))
DEMO_DAYS = 21
# The shipped example the demo records a drill of: the mishandled regulator referral.
DEMO_DRILL = (
    Path(__file__).resolve().parents[2] / "docs" / "drills" / "regulator-referral-late.jsonl"
)


@cli.command()
@click.option("--complaints", default=36, show_default=True, help="How many complaints.")
@click.option("--seed", default=2026, show_default=True, help="Same seed, same complaints.")
@click.option(
    "--db",
    default=DEMO_DB,
    show_default=True,
    metavar="URL",
    help="The demo's own ledger (LEDGER_DB is not read: the demo never fills yours).",
)
def demo(complaints: int, seed: int, db: str) -> None:
    """Fill a ledger of its own with complaints received over three weeks (6 to 27 November
    2026), then print the SLA report as of the evening of the 27th.

    Running it again appends nothing: the ledger already holds the demo and is left as it is
    (delete demo.db to start again). A ledger holding other complaints is refused.

    \b
    Example:
      complaint-ledger demo && export LEDGER_DB=sqlite:///demo.db
    """
    now = datetime.now(UTC)
    if now < DEMO_END:
        raise click.ClickException(
            f"the demo tells of the three weeks to {local_time(DEMO_END)}, but this machine's "
            f"clock says it is {local_time(now)}: events cannot be recorded in the future"
        )
    lives = list(
        lifecycles(
            complaints,
            DEMO_END,
            seed=seed,
            days=DEMO_DAYS,
            addressed=True,
            coded=True,
            improvements=True,
            replies=True,
        )
    )
    prefix = f"demo-{seed}-{complaints}"
    click.echo(f"demo ledger: {where(db)}")
    with open_ledger(db) as ledger:
        marker = f"{prefix}-{lives[0].receive['command_id']}" if lives else None
        ours = marker is not None and ledger.find_command(marker) is not None
        if not ours and next(ledger.iter_refs(), None) is not None:
            raise click.ClickException(
                f"{db} already holds complaints that are not this demo's (seed {seed}, "
                f"{complaints} complaints); the demo needs a ledger of its own: give --db "
                "a new one"
            )
        publish_calendars(ledger, now)
        publish_codes(ledger, now)
        outcomes = [_apply(ledger, life, prefix, now) for life in lives]
        link_first_repeat(ledger, lives, [o.ref for o in outcomes], prefix, now)
        rows = [_row(ledger, outcome.ref) for outcome in outcomes]
        readiness = _readiness(ledger, prefix, seed, now)
    added = sum(1 for o in outcomes if not o.duplicate)
    click.echo(render_table(rows, list(rows[0]) if rows else ["ref"]))
    stages = Counter(r["stage"] for r in rows)
    click.echo(
        f"\n{len(rows)} complaints, {sum(r['events'] for r in rows)} events in {db}: "
        + ", ".join(f"{n} {stage}" for stage, n in sorted(stages.items()))
        + f"; {sum(1 for r in rows if r['escalated'])} escalated, "
        f"{sum(1 for r in rows if r['reopened'])} reopened."
    )
    click.echo(readiness)
    if rows and not added:
        click.echo(f"The ledger already held this demo: nothing was added. {_again(db)}")
    click.echo(f"Use it with --db {db}, or: export LEDGER_DB={db}")
    click.echo()
    with open_ledger(db) as ledger:
        runner = Runner(ledger)
        runner.catch_up_all()
        report = sla_report_at(runner, DEMO_END)
    print_sla_report(report)


def _apply(ledger: Ledger, life: Lifecycle, prefix: str, now: datetime) -> Outcome:
    """One complaint's commands, each under a fixed id (so a second run appends nothing);
    the answer to its receipt (the same answer every time: the ref it was given)."""
    receive = life.receive
    first = handle(
        ledger,
        parse_command({**receive, "command_id": f"{prefix}-{receive['command_id']}"}),
        now,
    )
    for step in life.with_ref(first.ref):
        handle(ledger, parse_command({**step, "command_id": f"{prefix}-{step['command_id']}"}), now)
        if step["command"] == "attach":
            keep_evidence(ledger, step)
    return first


def link_first_repeat(
    ledger: Ledger, lives: list[Lifecycle], refs: list[str], prefix: str, now: datetime
) -> None:
    """Link the first repeat complaint that may take a link to its complainant's earlier
    complaint (issue 15): one link in the demo, under a fixed id."""
    for life, ref in zip(lives, refs, strict=True):
        if life.repeat_of is None:
            continue
        step = link_step(life, ref, refs[life.repeat_of], f"{prefix}-link")
        if step is not None:
            handle(ledger, parse_command(step), now)
            return


def _readiness(ledger: Ledger, prefix: str, seed: int, now: datetime) -> str:
    """A training session two days before the story ends, and a drill of the shipped
    regulator-referral scenario the day before (docs/drills.md), under fixed ids."""
    from commands.drill_scenario import parse_scenario
    from commands.drills import record_drill, score_drill

    training = training_session(DEMO_END, seed)
    handle(ledger, parse_command({**training, "command_id": f"{prefix}-training"}), now)
    scenario = parse_scenario(DEMO_DRILL.read_bytes())
    report = score_drill(ledger, scenario, DEFAULT_POLICY.version)
    leader = {"id": LEADER, "role": "leadership"}
    when = (DEMO_END - timedelta(days=1)).isoformat()
    drill = record_drill(ledger, report, leader, f"{prefix}-drill", when)
    return (
        f"Training: {len(training['attendees'])} attended; drill {drill.drill_id} "
        f"({scenario.title}) scored {report['score']}."
    )


def keep_evidence(ledger: Ledger, step: dict[str, Any]) -> None:
    """Put the file of a synthetic ``attach`` where the evidence folder keeps it, so that
    ``verify-bundle --evidence`` has files to check in the demo too."""
    path = ledger.evidence_dir / step["location"]
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        path.write_bytes(synthetic_evidence(step["command_id"]))


def _row(ledger: Ledger, ref: str) -> dict[str, Any]:
    complaint = ledger.get_complaint(ref)
    return {
        "ref": complaint.ref,
        "channel": str(complaint.channel),
        "category": complaint.category,
        "severity": complaint.severity and str(complaint.severity),
        "stage": str(complaint.stage),
        "escalated": complaint.escalated,
        "reopened": complaint.reopened_count,
        "events": complaint.version,
    }


def where(db: str) -> str:
    """Where the ledger at ``db`` is, said plainly: a file's absolute path, or the server
    (without its password)."""
    env = persistence_env(db)
    if "SQLITE_DBNAME" in env:
        return f"{db} (the file {Path(env['SQLITE_DBNAME']).resolve()})"
    parts = urlsplit(db)
    if parts.password:
        return db.replace(f":{parts.password}@", ":***@", 1)
    return db


def _again(db: str) -> str:
    env = persistence_env(db)
    if "SQLITE_DBNAME" in env:
        return f"To start again, delete {env['SQLITE_DBNAME']} and run the demo."
    return "To start again, give the demo an empty database."


def publish_codes(ledger: Ledger, now: datetime) -> None:
    """Publish the example code list (docs/codes-example.toml), in force before the first
    complaint, under a fixed id: a second run finds it published."""
    first = DEMO_END - timedelta(days=DEMO_DAYS + 1)
    handle(ledger, parse_command(publish_codes_command("demo-codes", first, LEADER)), now)


def publish_calendars(ledger: Ledger, now: datetime) -> None:
    """As an operator would: publish the calendar of the demo's years if nobody has yet."""
    book = load_calendar_book(ledger)
    last_deadline = DEMO_END + timedelta(days=30)  # the plan's clocks end within a month
    for year in sorted({(DEMO_END - timedelta(days=DEMO_DAYS)).year, last_deadline.year}):
        if book is not None and year in book.years:
            continue
        command = PublishCalendar.model_validate(
            {
                "command_id": f"demo-calendar-{year}",
                "actor": {"id": "demo", "role": "leadership"},
                "year": year,
            }
        )
        try:
            handle(ledger, command, now)
        except CalendarUnavailable as e:
            click.echo(f"note: {e}", err=True)
