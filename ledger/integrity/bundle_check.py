"""Verify an audit bundle offline: nothing but the bundle's files and, optionally, a digest.

Checks, in order: the file set and the manifest; each JSON file's canonical byte form;
the seal's signature (and that it is the digest's seal); per complaint, that its stored
events chain to a head whose Merkle path reaches the sealed root; that the personal data
is what the sealed ciphertext decrypts to (or ``[erased]``); that the trail is exactly what
the events say. Any altered byte fails one of them. Then the evidence files the events list,
where they can be found (``ledger.integrity.bundle_evidence``).
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any
from uuid import UUID

from ledger.domain.errors import AuditFileUnreadable, IntegrityViolation, SealKeyUnusable
from ledger.domain.events import topic_of
from ledger.domain.sealed import SealedComplainant
from ledger.domain.values import reference_id
from ledger.integrity.bundle_evidence import EvidenceReport, check_evidence, listed_evidence
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
    state_bytes,
    trail_csv,
    unhex,
)
from ledger.integrity.chain import GENESIS, leaf_hash, record_hash, root_from_proof, stream_link
from ledger.integrity.seals import Digest
from ledger.integrity.views import person_view
from ledger.store.crypto import PersonalDataUnreadable, open_complainant


@dataclass(frozen=True)
class BundleReport:
    refs: list[str]
    events: int
    seal_position: int
    key_id: str
    evidence: EvidenceReport | None = None


def verify_bundle(
    directory: Path, digest: Digest | None = None, evidence: Path | None = None
) -> BundleReport:
    """Verify the bundle in ``directory``; then the evidence files its events list that
    ``evidence`` (a folder kept like the evidence folder) holds."""
    files = _read_files(directory)
    try:
        report = _verify(files, digest)
        listed = listed_evidence(json.loads(files[EVENTS])["complaints"])
    except (KeyError, TypeError, ValueError, AttributeError, IndexError) as e:
        raise IntegrityViolation(f"the bundle's content is malformed: {e!r}") from None
    return replace(report, evidence=check_evidence(listed, evidence))


def _read_files(directory: Path) -> dict[str, bytes]:
    if not directory.is_dir():
        raise AuditFileUnreadable(f"{directory} is not a bundle directory")
    present = sorted(p.name for p in directory.iterdir())
    if present != sorted(FILES):
        raise IntegrityViolation(
            f"the bundle must hold exactly {', '.join(sorted(FILES))}; it holds "
            f"{', '.join(present) or 'nothing'}"
        )
    return {name: (directory / name).read_bytes() for name in FILES}


def _json(files: dict[str, bytes], name: str) -> Any:
    try:
        data = json.loads(files[name].decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise IntegrityViolation(f"{name} is not valid JSON: {e}") from None
    if canonical(data) != files[name]:
        raise IntegrityViolation(f"{name} was altered: it is not in the form it was written in")
    if not isinstance(data, dict) or data.get("format") != BUNDLE_FORMAT:
        raise IntegrityViolation(f"{name} is not a {BUNDLE_FORMAT} file")
    return data


def _verify(files: dict[str, bytes], trusted: Digest | None) -> BundleReport:
    manifest = _json(files, MANIFEST)
    expected = {n: sha256_hex(files[n]) for n in FILES if n != MANIFEST}
    if manifest.get("sha256") != expected:
        altered = [n for n in expected if manifest.get("sha256", {}).get(n) != expected[n]]
        raise IntegrityViolation(f"altered since export: {', '.join(altered) or MANIFEST}")
    events, personal, proof = _json(files, EVENTS), _json(files, PERSONAL), _json(files, PROOF)
    digest = Digest.from_dict(proof["seal"], PROOF)
    if canonical(digest.as_dict()) != canonical(proof["seal"]):
        raise IntegrityViolation(f"{PROOF}: the seal is not in its signed form")
    for value, what in ((digest.public_key, "public key"), (digest.signature, "signature")):
        unhex(value, what)
    try:
        digest.check_signature()
    except SealKeyUnusable as e:
        raise IntegrityViolation(str(e)) from None
    if trusted is not None and trusted.as_dict() != digest.as_dict():
        raise IntegrityViolation(
            f"the bundle is proven against the seal at position {digest.seal.position} "
            f"(key {digest.key_id}), not the digest's seal at position "
            f"{trusted.seal.position} (key {trusted.key_id})"
        )
    complaints = events["complaints"]
    paths = {p["ref"]: p for p in proof["complaints"]}
    if [c["ref"] for c in complaints] != list(paths) or set(personal["complaints"]) != set(paths):
        raise IntegrityViolation("the bundle's files do not list the same complaints")
    total = 0
    for complaint in complaints:
        total += _check_complaint(complaint, paths[complaint["ref"]], digest)
        _check_personal(complaint, personal["complaints"][complaint["ref"]])
    if trail_csv(complaints, personal["complaints"]) != files[TRAIL]:
        raise IntegrityViolation(f"{TRAIL} differs from the trail the events give")
    return BundleReport(list(paths), total, digest.seal.position, digest.key_id)


def _check_complaint(complaint: dict[str, Any], path: dict[str, Any], digest: Digest) -> int:
    ref = complaint["ref"]
    oid = UUID(complaint["originator_id"])
    if oid != reference_id(ref) or complaint["originator_id"] != str(oid):
        raise IntegrityViolation(f"{ref}: the events are filed under another complaint's id")
    head, position = GENESIS, 0
    events = complaint["events"]
    for version, event in enumerate(events, start=1):
        if event["version"] != version or not position < event["position"]:
            raise IntegrityViolation(f"{ref} version {version}: events are missing or reordered")
        position = event["position"]
        state = state_bytes(event["state"], event["state_encoding"])
        record = record_hash(oid, version, event["topic"], state)
        head = stream_link(head, position, version, record)
    if path["sealed_version"] != len(events) or position > digest.seal.position:
        raise IntegrityViolation(f"{ref}: the events do not end where the seal says")
    proof = [(side, unhex(h, "a Merkle path hash")) for side, h in path["merkle_path"]]
    if any(side not in ("left", "right") for side, _ in proof):
        raise IntegrityViolation(f"{ref}: the Merkle path is malformed")
    if root_from_proof(leaf_hash(oid, len(events), head), proof).hex() != digest.seal.streams_root:
        raise IntegrityViolation(
            f"{ref}: its events do not hash to the root sealed at position "
            f"{digest.seal.position}: an event was changed, removed, added or moved"
        )
    return len(events)


def _check_personal(complaint: dict[str, Any], personal: dict[str, Any]) -> None:
    ref = complaint["ref"]
    received = json.loads(
        state_bytes(complaint["events"][0]["state"], complaint["events"][0]["state_encoding"])
    )
    sealed_data = received["complainant"]["_data_"]
    sealed = SealedComplainant(
        sealed_data["key_id"],
        base64.b64decode(sealed_data["nonce"]),
        base64.b64decode(sealed_data["ciphertext"]),
    )
    erased_topic = topic_of("Complaint.PersonalDataErased")
    erased = any(e["topic"] == erased_topic for e in complaint["events"])
    if erased != (personal["key"] is None):
        raise IntegrityViolation(
            f"{ref}: the personal data is {'missing' if not erased else 'present'} but the "
            f"sealed events say it was {'not ' if not erased else ''}erased"
        )
    if personal["key"] is None:
        person = None
    else:
        try:
            person = open_complainant(
                sealed, unhex(personal["key"], "a key"), UUID(complaint["originator_id"])
            )
        except PersonalDataUnreadable:
            raise IntegrityViolation(f"{ref}: the key does not open its sealed data") from None
    if person_view(person) != personal["complainant"] or set(personal) != {"key", "complainant"}:
        raise IntegrityViolation(f"{ref}: the personal data differs from the sealed data")
