"""The evidence an audit bundle lists, and the check of its files (issue 15).

A bundle carries each complaint's ``EvidenceAttached`` events as stored, so the hashes and
sizes of its evidence are proven against the seal like every other event. ``verify-bundle``
then checks the files it can find (``--evidence DIR``, or the configured evidence folder):
a file whose bytes no longer hash to what was recorded fails the verification and is named;
a file not found is reported as not checked (erasure deletes them; an auditor may hold only
some), never as a failure.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ledger.domain.errors import IntegrityViolation
from ledger.domain.events import topic_of
from ledger.integrity.bundle_format import state_bytes
from ledger.store.evidence import check_file


@dataclass(frozen=True)
class Listed:
    """One file a complaint's events list as evidence."""

    ref: str
    version: int
    kind: str
    sha256: str
    size: int


@dataclass(frozen=True)
class EvidenceReport:
    listed: list[Listed]
    checked: list[Listed]
    missing: list[Listed]  # not found: not checked


def listed_evidence(complaints: list[dict[str, Any]]) -> list[Listed]:
    """The evidence of the bundle's complaints (``events.json``), in log order."""
    topic = topic_of("Complaint.EvidenceAttached")
    found = []
    for complaint in complaints:
        for event in complaint["events"]:
            if event["topic"] != topic:
                continue
            state = json.loads(state_bytes(event["state"], event["state_encoding"]))
            found.append(
                Listed(complaint["ref"], event["version"], str(state["kind"]),
                       str(state["sha256"]), int(state["size"]))
            )  # fmt: skip
    return found


def check_evidence(listed: list[Listed], folder: Path | None) -> EvidenceReport:
    """Check the files of ``listed`` found in ``folder``; a changed one is an
    ``IntegrityViolation`` naming it."""
    checked: list[Listed] = []
    missing: list[Listed] = []
    for item in listed:
        if folder is None:
            missing.append(item)
            continue
        found = check_file(folder, item.sha256, item.size)
        if found.status == "changed":
            raise IntegrityViolation(
                f"evidence file {found.path} ({item.ref} version {item.version}, {item.kind}) "
                f"was changed: its bytes no longer hash to the sha256 {item.sha256} and size "
                f"{item.size} recorded"
            )
        (checked if found.status == "ok" else missing).append(item)
    return EvidenceReport(listed, checked, missing)
