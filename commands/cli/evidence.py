"""``attach``: evidence (a call recording, a document, a screenshot) for a complaint (issue 15).

The file is hashed, copied into the evidence folder under its SHA-256 and recorded as an
``EvidenceAttached`` event; JSON Lines and API callers send the hash, size and location of a
file they keep themselves (``attach`` in docs/commands.md).
"""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import click

from commands.cli.base import cli
from commands.cli.output import evidence_dir_option, to_json
from commands.cli.writes import describe, write_options
from commands.evidence import attach_file
from ledger.store.evidence import evidence_folder
from ledger.store.root import open_ledger


@cli.command()
@click.argument("ref")
@click.argument("file", metavar="FILE")
@click.option("--kind", help="recording, document or screenshot.")
@click.option("--note", help="What the file shows.")
@evidence_dir_option
@write_options
def attach(ref: str, file: str, **o: Any) -> None:
    """Attach a file as evidence: its SHA-256 and size are recorded and a copy is kept in
    the evidence folder under its hash.

    \b
    Example:
      complaint-ledger attach TS-1 call-0925.mp3 --kind recording --note "首次来电录音" \\
        --actor li --role customer_service
    """
    data: dict[str, Any] = {
        "command": "attach",
        "command_id": o["command_id"] or str(uuid.uuid4()),
        "actor": {"id": o["actor"], "role": o["role"]},
        "ref": ref,
        **{k: o[k] for k in ("kind", "note", "occurred_at") if o[k] is not None},
    }
    folder = evidence_folder(o["db"], o["evidence_dir"])
    with open_ledger(o["db"]) as ledger:
        outcome = attach_file(ledger, data, Path(file), folder)
    click.echo(to_json(outcome.as_dict()) if o["fmt"] == "json" else describe(outcome))
