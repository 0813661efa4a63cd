"""The ``complaint-ledger`` command line: one module per group of subcommands."""

from __future__ import annotations

from commands.cli import apply, demo, publish, reads, sla, writes  # noqa: F401  (registers subcommands)
from commands.cli.base import cli


def main() -> None:
    cli(prog_name="complaint-ledger")


__all__ = ["cli", "main"]
