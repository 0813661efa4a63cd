"""The complainant's personal data, sealed with a key of its own (crypto-shredding).

Each complaint's personal data (name, phone, ID number, address) is encrypted with a
fresh random 256-bit key (AES-GCM) before its ``Received`` event is created, so the event
store only ever holds ciphertext. The key lives in the ``person_keys`` table, written in
the same transaction as the event. Erasure deletes the key: the ciphertext stays in the
event store (and in the hash chain, which therefore still verifies) but can no longer be
read by anyone.

The associated data binds a ciphertext to its complaint and key id, so a sealed value
copied into another complaint's event does not decrypt there.
"""

from __future__ import annotations

import json
import os
import uuid

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from ledger.domain.sealed import PERSONAL_FIELDS, PersonKey, SealedComplainant
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
