"""``generate``: realistic synthetic complaints as JSON Lines, for tests and benchmarks."""

from __future__ import annotations

import json
import sys
from datetime import datetime

import click

from commands.cli.base import cli
from commands.cli.output import parse_time
from commands.synthetic import lifecycles, link_step

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
    "--days", default=90, show_default=True, help="Complaints arrive over this many days."
)
@click.option("--prefix", default="GEN", show_default=True, help="Reference prefix.")
@click.option(
    "--addressed-escalations",
    is_flag=True,
    help="Escalations name the leadership group (starting their acknowledgement clock), and "
    "complaints tagged 媒体关注 arrive with public attention.",
)
def generate(
    complaints: int, seed: int, until: str, days: int, prefix: str, addressed_escalations: bool
) -> None:
    """Write realistic complaint lifecycles as JSON Lines of commands (for apply).

    Several channels, Chinese content, severities, team workloads, a share of late stages,
    escalations, reopenings, extensions and withdrawals, repeat complainants (every sixth
    complaint) and one link; the leadership group acknowledges
    escalations, instructs on major cases, signs off urgent and major results and records
    accountability for cases late at every stage.

    \b
    Example:
      complaint-ledger generate --complaints 1000 --seed 7 > load.jsonl
    """
    end = parse_time(until, "--until")
    assert isinstance(end, datetime)
    out = sys.stdout
    linked = False
    for n, life in enumerate(
        lifecycles(complaints, end, seed=seed, days=days, addressed=addressed_escalations), start=1
    ):
        ref = f"{prefix}-{seed}-{n:07d}"
        commands = [{**life.receive, "ref": ref}, *life.with_ref(ref)]
        if life.repeat_of is not None and not linked:  # one link, of the first repeat
            other = f"{prefix}-{seed}-{life.repeat_of + 1:07d}"
            link = link_step(life, ref, other, f"gen-{seed}-link")
            commands += [] if link is None else [link]
            linked = link is not None
        for command in commands:
            out.write(json.dumps(command, ensure_ascii=False) + "\n")
