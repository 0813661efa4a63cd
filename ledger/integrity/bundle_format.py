"""The audit bundle's files and their exact byte form (shared by export and verification).

A bundle is a directory of five files, each written in one canonical form so that the
verifier can demand it byte for byte:

* ``events.json``   each complaint's events exactly as stored (topic and stored bytes);
* ``personal.json`` each complaint's personal data and the key that opens it (null and
                    ``[erased]`` once erased), checkable against the sealed ciphertext;
* ``proof.json``    the seal (the digest) and, per complaint, the Merkle path from its head
                    to the sealed root;
* ``trail.csv``     the readable trail, derived from the two files above (free text opened
                    with the complaint's key, ``[erased]`` once erased);
* ``manifest.json`` the SHA-256 of each of the other files.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
from base64 import b64decode
from typing import Any
from uuid import UUID

from ledger.domain.sealed import ERASED, SealedText
from ledger.store.crypto import PersonalDataUnreadable, open_text

BUNDLE_FORMAT = "complaint-ledger-bundle/1"
EVENTS, PERSONAL, PROOF, TRAIL, MANIFEST = (
    "events.json",
    "personal.json",
    "proof.json",
    "trail.csv",
    "manifest.json",
)
FILES = (EVENTS, PERSONAL, PROOF, TRAIL, MANIFEST)
ENVELOPE = ("timestamp", "originator_topic", "actor", "occurred_at", "command_id")
TRAIL_COLUMNS = (
    "ref",
    "version",
    "position",
    "event",
    "actor_id",
    "actor_role",
    "occurred_at",
    "recorded_at",
    "fields",
)


def canonical(data: Any) -> bytes:
    """The one byte form of a bundle JSON file."""
    return (json.dumps(data, ensure_ascii=False, indent=2, sort_keys=True) + "\n").encode()


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def unhex(value: Any, what: str) -> bytes:
    """Lower-case hex only: another spelling of the same bytes is an alteration too."""
    if not isinstance(value, str) or value != value.lower():
        raise ValueError(f"{what} must be lower-case hex")
    return bytes.fromhex(value)


def state_text(state: bytes) -> tuple[str, str]:
    """Stored bytes as (text, encoding) for events.json."""
    try:
        return state.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        import base64

        return base64.b64encode(state).decode(), "base64"


def state_bytes(text: str, encoding: str) -> bytes:
    if encoding == "utf-8":
        return text.encode("utf-8")
    if encoding == "base64":
        import base64

        return base64.b64decode(text, validate=True)
    raise ValueError(f"unknown state encoding {encoding!r}")


class _Opener:
    """Opens one complaint's sealed text with the key ``personal.json`` gives (none once erased)."""

    def __init__(self, key_hex: str | None, originator_id: str) -> None:
        self.key = None if key_hex is None else bytes.fromhex(key_hex)
        self.stream = UUID(originator_id)

    def __call__(self, data: dict[str, str]) -> str:
        sealed = SealedText(data["key_id"], b64decode(data["nonce"]), b64decode(data["ciphertext"]))
        if self.key is None or sealed.withheld:
            return ERASED
        try:
            return open_text(sealed, self.key, self.stream)
        except PersonalDataUnreadable:
            return "[unreadable]"


def _unwrap(value: Any, person: dict[str, Any], text: _Opener) -> Any:
    """The library's ``{"_type_", "_data_"}`` wrappers removed; sealed data replaced."""
    if isinstance(value, dict):
        if set(value) == {"_type_", "_data_"}:
            if value["_type_"] == "sealed_complainant":
                return person
            if value["_type_"] == "sealed_text":
                return text(value["_data_"])
            return _unwrap(value["_data_"], person, text)
        return {k: _unwrap(v, person, text) for k, v in value.items()}
    if isinstance(value, list):
        return [_unwrap(v, person, text) for v in value]
    return value


def trail_csv(complaints: list[dict[str, Any]], personal: dict[str, Any]) -> bytes:
    """The readable trail: one row per event, its own fields as compact JSON."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(TRAIL_COLUMNS)
    for complaint in complaints:
        person = personal[complaint["ref"]]["complainant"]
        text = _Opener(personal[complaint["ref"]]["key"], complaint["originator_id"])
        for event in complaint["events"]:
            state = json.loads(state_bytes(event["state"], event["state_encoding"]))
            data = _unwrap(state, person, text)
            actor = data.get("actor") or {}
            fields = {k: v for k, v in data.items() if k not in ENVELOPE}
            writer.writerow(
                [
                    complaint["ref"],
                    event["version"],
                    event["position"],
                    event["topic"].rsplit(".", 1)[-1],
                    actor.get("id", ""),
                    actor.get("role", ""),
                    data.get("occurred_at", ""),
                    data.get("timestamp", ""),
                    json.dumps(fields, ensure_ascii=False, sort_keys=True, separators=(",", ":")),
                ]
            )
    return out.getvalue().encode()
