"""The ``complaint-ledger`` command line: one module per group of subcommands.

Each module registers its subcommands on ``cli`` when imported; ``cli`` imports a module the
first time one of its subcommands is asked for (``commands.cli.base.SUBCOMMANDS``).
"""

from __future__ import annotations

from commands.cli.base import cli


def main() -> None:
    cli(prog_name="complaint-ledger")


__all__ = ["cli", "main"]
