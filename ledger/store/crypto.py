"""The complainant's personal data, sealed with a key of its own (crypto-shredding).

Each complaint's personal data (name, phone, ID number, address) is encrypted with a
fresh random 256-bit key (AES-GCM) before its ``Received`` event is created, so the event
store only ever holds ciphertext. The key lives in the ``person_keys`` table, written in
the same transaction as the event. Erasure deletes the key: the ciphertext stays in the
event store (and in the hash chain, which therefore still verifies) but can no longer be
read by anyone.

Free text (complaint content, notes, findings, summaries, comments, ``account_ref``) is sealed
under the same key (``seal_text``), and the command log's fingerprint of a complaint's command
is an HMAC under a key derived from it (``keyed_digest``): erasing the key erases all three.

The associated data binds a ciphertext to its complaint and key id, so a sealed value
copied into another complaint's event does not decrypt there.
"""

from __future__ import annotations

import hmac
import json
import os
import uuid

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from ledger.domain.sealed import (
    ERASED,
    PERSONAL_FIELDS,
    LegacyText,
    PersonKey,
    SealedComplainant,
    SealedText,
    Text,
)
from ledger.domain.values import Complainant

KEY_BYTES = 32
NONCE_BYTES = 12


class PersonalDataUnreadable(Exception):
    """A key does not open the sealed data it was filed for (wrong key or altered data)."""


def _associated_data(aggregate_id: uuid.UUID, key_id: str) -> bytes:
    return b"complaint-ledger/person/1|" + aggregate_id.bytes + key_id.encode()


def seal_complainant(
    person: Complainant, aggregate_id: uuid.UUID
) -> tuple[SealedComplainant, PersonKey]:
    """Encrypt ``person`` with a new random key; return the sealed value and the key."""
    key = PersonKey(key_id=uuid.uuid4().hex, key=AESGCM.generate_key(bit_length=8 * KEY_BYTES))
    nonce = os.urandom(NONCE_BYTES)
    plaintext = json.dumps(
        {name: getattr(person, name) for name in PERSONAL_FIELDS},
        ensure_ascii=False,
        sort_keys=True,
    ).encode()
    ciphertext = AESGCM(key.key).encrypt(
        nonce, plaintext, _associated_data(aggregate_id, key.key_id)
    )
    return SealedComplainant(key.key_id, nonce, ciphertext), key


def open_complainant(sealed: SealedComplainant, key: bytes, aggregate_id: uuid.UUID) -> Complainant:
    """Decrypt sealed personal data with its key."""
    try:
        plaintext = AESGCM(key).decrypt(
            sealed.nonce, sealed.ciphertext, _associated_data(aggregate_id, sealed.key_id)
        )
    except (InvalidTag, ValueError):
        raise PersonalDataUnreadable(f"key {sealed.key_id} does not open this data") from None
    data = json.loads(plaintext)
    return Complainant(**{name: data.get(name) for name in PERSONAL_FIELDS})


def _text_associated_data(aggregate_id: uuid.UUID, key_id: str) -> bytes:
    return b"complaint-ledger/text/1|" + aggregate_id.bytes + key_id.encode()


def seal_text(text: str, key: PersonKey, aggregate_id: uuid.UUID) -> SealedText:
    """Encrypt free text under the complaint's key (a fresh nonce each time)."""
    nonce = os.urandom(NONCE_BYTES)
    ciphertext = AESGCM(key.key).encrypt(
        nonce, text.encode(), _text_associated_data(aggregate_id, key.key_id)
    )
    return SealedText(key.key_id, nonce, ciphertext)


def withheld_text(key_id: str) -> SealedText:
    """Text given after the complaint's key was destroyed: recorded as never kept."""
    return SealedText(key_id, b"", b"")


def open_text(sealed: SealedText, key: bytes, aggregate_id: uuid.UUID) -> str:
    """Decrypt sealed free text with its key."""
    try:
        plaintext = AESGCM(key).decrypt(
            sealed.nonce, sealed.ciphertext, _text_associated_data(aggregate_id, sealed.key_id)
        )
    except (InvalidTag, ValueError):
        raise PersonalDataUnreadable(f"key {sealed.key_id} does not open this text") from None
    return plaintext.decode()


def keyed_digest(key: bytes, body: bytes) -> str:
    """HMAC-SHA-256 of ``body`` under a key derived from a complaint's key (never the key
    itself, which also encrypts): without the key, no guess of ``body`` can be checked."""
    # ``hmac.digest`` is the one-shot form of ``hmac.new(…).digest()``: the same bytes.
    derived = hmac.digest(key, b"complaint-ledger/fingerprint/1", "sha256")
    return hmac.digest(derived, body, "sha256").hex()


class TextReader:
    """Shows one complaint's free text: opened while its key exists, ``[erased]`` once the
    complaint's personal data was erased (text stored in plain by an earlier release too)."""

    def __init__(self, aggregate_id: uuid.UUID, key: bytes | None) -> None:
        self.aggregate_id = aggregate_id
        self.key = key  # None once erased

    def __call__(self, value: Text | str | None) -> str | None:
        if value is None or isinstance(value, str):
            return value  # the ledger's own words (an automatic escalation's reason)
        if self.key is None:
            return ERASED
        if isinstance(value, LegacyText):
            return value.text
        if value.withheld:
            return ERASED
        return open_text(value, self.key, self.aggregate_id)
