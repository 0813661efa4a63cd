"""``link REF OTHER --reason``: complaints about one incident (issue 15, item 5).

It builds the JSON object ``apply`` takes; ``show`` and ``related`` list links from both sides.
"""

from __future__ import annotations

from typing import Any

import click

from commands.cli.base import cli
from commands.cli.writes import submit, write_options


@cli.command()
@click.argument("ref")
@click.argument("other")
@click.option("--reason", help="Why the complaints belong together (sealed).")
@write_options
def link(ref: str, other: str, **o: Any) -> None:
    """Link complaint REF to OTHER, about the same incident (shown from both sides).

    \b
    Example:
      complaint-ledger link TS-2 TS-1 --reason "同一次催收电话" --actor li --role \\
        customer_service
    """
    submit("link", ref, {"other": other, "reason": o["reason"]}, o)
