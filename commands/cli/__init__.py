"""The ``complaint-ledger`` command line: one module per group of subcommands."""

from __future__ import annotations

from commands.cli import (  # noqa: F401  (each module registers its subcommands)
    apply,
    audit,
    demo,
    exporting,
    generate,
    imports,
    integrity,
    projections,
    publish,
    reads,
    reports,
    sla,
    writes,
)
from commands.cli.base import cli


def main() -> None:
    cli(prog_name="complaint-ledger")


__all__ = ["cli", "main"]
