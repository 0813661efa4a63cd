"""``generate``: realistic synthetic complaints as JSON Lines, for tests and benchmarks."""

from __future__ import annotations

import json
import sys
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import click

from commands.cli.base import cli
from commands.cli.output import parse_time
from commands.synthetic import LEADER, lifecycles, link_step, training_session
from commands.synthetic_codes import publish_codes_command

# The shipped example a generated ledger records a drill of (docs/drills.md).
URGENT_DRILL = Path(__file__).resolve().parents[2] / "docs" / "drills" / "urgent-threat.jsonl"

# A fixed default end, so that the same seed always writes the same file.
DEFAULT_UNTIL = "2026-11-01T00:00:00+08:00"


@cli.command()
@click.option("--complaints", default=100, show_default=True, help="How many complaints.")
@click.option("--seed", default=2026, show_default=True, help="Same seed, same file.")
@click.option(
    "--until",
    default=DEFAULT_UNTIL,
    show_default=True,
    metavar="TIME",
    help="Every command happens before TIME.",
)
@click.option(
    "--days",
    default=90,
    show_default=True,
    type=click.IntRange(min=1),
    help="Complaints arrive over this many days.",
)
@click.option("--prefix", default="GEN", show_default=True, help="Reference prefix.")
@click.option(
    "--addressed-escalations",
    is_flag=True,
    help="Escalations name the leadership group (starting their acknowledgement clock), and "
    "complaints tagged 媒体关注 arrive with public attention.",
)
@click.option(
    "--cause-codes",
    is_flag=True,
    help="Start with the publication of the example code list (docs/codes-example.toml) and "
    "give a cause code at triage and closure, a business type at triage and a business "
    "channel at closure.",
)
@click.option(
    "--improvements",
    is_flag=True,
    help="Substantiated cases that stay closed get an improvement measure, most done on time, "
    "some late, some never (overdue).",
)
@click.option(
    "--regulator-replies",
    is_flag=True,
    help="The three oldest complaints arrive as regulator referrals; referrals are replied to "
    "late, on time, or not at all, in turn.",
)
@click.option(
    "--readiness",
    is_flag=True,
    help="End with a training session and a drill (docs/drills/urgent-threat.jsonl, scored "
    "against the built-in plan).",
)
def generate(
    complaints: int, seed: int, until: str, days: int, prefix: str, addressed_escalations: bool,
    cause_codes: bool, improvements: bool, regulator_replies: bool, readiness: bool,
) -> None:  # fmt: skip
    """Write realistic complaint lifecycles as JSON Lines of commands (for apply).

    Several channels, Chinese content, severities, team workloads, a share of late stages,
    escalations, reopenings, extensions and withdrawals, repeat complainants (every sixth
    complaint) and one link; the leadership group acknowledges
    escalations, instructs on major cases, signs off urgent and major results and records
    accountability for cases late at every stage; phone complaints get the recording of their
    first call attached (a synthetic hash, no file), and a callback after closure that did not
    reach the complainant is recorded.

    \b
    Example:
      complaint-ledger generate --complaints 1000 --seed 7 > load.jsonl
    """
    end = parse_time(until, "--until")
    assert isinstance(end, datetime)
    out = sys.stdout
    if cause_codes:  # in force before the first complaint arrives
        first = end - timedelta(days=days + 1)
        command = publish_codes_command(f"gen-{seed}-codes", first, LEADER)
        out.write(json.dumps(command, ensure_ascii=False) + "\n")
    lives = lifecycles(
        complaints, end, seed=seed, days=days, addressed=addressed_escalations, coded=cause_codes,
        improvements=improvements, replies=regulator_replies,
    )  # fmt: skip
    linked = False
    for n, life in enumerate(lives, start=1):
        ref = f"{prefix}-{seed}-{n:07d}"
        commands = [{**life.receive, "ref": ref}, *life.with_ref(ref)]
        if life.repeat_of is not None and not linked:  # one link, of the first repeat
            other = f"{prefix}-{seed}-{life.repeat_of + 1:07d}"
            link = link_step(life, ref, other, f"gen-{seed}-link")
            commands += [] if link is None else [link]
            linked = link is not None
        for command in commands:
            out.write(json.dumps(command, ensure_ascii=False) + "\n")
    if readiness:
        for command in readiness_commands(end, seed):
            out.write(json.dumps(command, ensure_ascii=False) + "\n")


def readiness_commands(end: datetime, seed: int) -> list[dict[str, Any]]:
    """A training session, and a drill of the shipped urgent scenario scored in a scratch
    ledger against the built-in plan, recorded the day before ``end``."""
    from commands.drill_scenario import parse_scenario
    from commands.drills import drill_command, score_drill
    from ledger.domain.policy import DEFAULT_POLICY

    scenario = parse_scenario(URGENT_DRILL.read_bytes())
    report = score_drill(None, scenario, DEFAULT_POLICY.version)
    drill = drill_command(report, {"id": LEADER, "role": "leadership"}, f"gen-{seed}-drill",
                          (end - timedelta(days=1)).isoformat())  # fmt: skip
    recorded = {"command": drill.command, **drill.model_dump(mode="json", exclude_none=True)}
    return [training_session(end, seed), recorded]
