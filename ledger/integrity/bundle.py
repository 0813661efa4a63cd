"""Export an audit bundle: complaints' events as stored, their trail and the proof that ties
them to the last seal (see ``ledger.integrity.bundle_format``; verified by
``ledger.integrity.bundle_check``)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ledger.domain.complaint import Complaint
from ledger.domain.errors import AuditFileUnreadable, ComplaintNotFound, NotSealed
from ledger.domain.values import reference_id
from ledger.integrity.bundle_format import (
    BUNDLE_FORMAT,
    EVENTS,
    FILES,
    MANIFEST,
    PERSONAL,
    PROOF,
    TRAIL,
    canonical,
    sha256_hex,
    state_text,
    trail_csv,
)
from ledger.integrity.chain import leaf_hash, merkle_levels, merkle_proof
from ledger.integrity.sealing import stored_seals
from ledger.integrity.views import person_view

if TYPE_CHECKING:
    from ledger.store.root import Ledger


@dataclass(frozen=True)
class Exported:
    """What an export wrote."""

    refs: list[str]
    events: int
    seal_position: int
    key_id: str


def refs_received_between(ledger: Ledger, start: datetime, end: datetime) -> list[str]:
    """The complaints received (``received_at``) from ``start`` up to, not including, ``end``."""
    refs = []
    for ref in ledger.iter_refs():
        received_at = ledger.get_complaint(ref, version=1).received_at
        if start <= received_at < end:
            refs.append(ref)
    return refs


def export_bundle(ledger: Ledger, refs: list[str], out: Path) -> Exported:
    """Write the bundle of ``refs`` to the directory ``out`` (new or empty)."""
    seals = stored_seals(ledger)
    if not seals:
        raise NotSealed("the ledger has no seal yet; run complaint-ledger seal, then export")
    digest = seals[-1]
    position = digest.seal.position
    recorder = ledger.ledger_recorder
    heads = recorder.stream_heads(position)
    index = {oid: i for i, (oid, _, _) in enumerate(heads)}
    levels = merkle_levels([leaf_hash(*h) for h in heads])
    complaints: list[dict[str, Any]] = []
    personal: dict[str, Any] = {}
    proofs: list[dict[str, Any]] = []
    for ref in refs:
        oid = reference_id(ref)
        events = recorder.stream_events(oid)
        if not events:
            raise ComplaintNotFound(f"no complaint has reference {ref!r}")
        if events[-1].position > position or oid not in index:
            raise NotSealed(
                f"{ref} has events after the last seal (position {position}); run "
                "complaint-ledger seal, then export"
            )
        complaints.append(
            {
                "ref": ref,
                "originator_id": str(oid),
                "events": [
                    dict(
                        zip(
                            ("position", "version", "topic", "state", "state_encoding"),
                            (e.position, e.version, e.topic, *state_text(e.state)),
                            strict=True,
                        )
                    )
                    for e in events
                ],
            }
        )
        complaint: Complaint = ledger.get_complaint(ref)
        person = ledger.reveal(complaint, current=True)
        key = recorder.person_keys([complaint.complainant.key_id]).get(complaint.complainant.key_id)
        personal[ref] = {
            "complainant": person_view(person),
            "key": None if person is None or key is None else key.hex(),
        }
        proofs.append(
            {
                "ref": ref,
                "sealed_version": heads[index[oid]][1],
                "merkle_path": [[side, h.hex()] for side, h in merkle_proof(levels, index[oid])],
            }
        )
    files = {
        EVENTS: canonical({"format": BUNDLE_FORMAT, "complaints": complaints}),
        PERSONAL: canonical({"format": BUNDLE_FORMAT, "complaints": personal}),
        PROOF: canonical({"format": BUNDLE_FORMAT, "seal": digest.as_dict(), "complaints": proofs}),
    }
    files[TRAIL] = trail_csv(complaints, personal)
    files[MANIFEST] = canonical(
        {"format": BUNDLE_FORMAT, "sha256": {n: sha256_hex(b) for n, b in files.items()}}
    )
    _write(out, files)
    return Exported(refs, sum(len(c["events"]) for c in complaints), position, digest.key_id)


def _write(out: Path, files: dict[str, bytes]) -> None:
    try:
        out.mkdir(parents=True, exist_ok=True)
        if any(out.iterdir()):
            raise AuditFileUnreadable(f"{out} is not empty; export into a new directory")
        for name in FILES:
            (out / name).write_bytes(files[name])
    except OSError as e:
        raise AuditFileUnreadable(f"cannot write the bundle to {out}: {e}") from None
