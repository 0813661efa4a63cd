"""Personal data as the domain holds it: sealed values and the key changes that go with them.

The aggregate only ever holds ciphertext; how it is sealed and opened is the store's business
(``ledger.store.crypto``), so the domain never touches a key's use.
"""

from __future__ import annotations

from dataclasses import dataclass, field

PERSONAL_FIELDS = ("name", "phone", "id_number", "address")


@dataclass(frozen=True)
class SealedComplainant:
    """A complainant's personal data as stored: ciphertext and the id of its key."""

    key_id: str
    nonce: bytes
    ciphertext: bytes


@dataclass(frozen=True)
class PersonKey:
    """The key that opens one complaint's personal data."""

    key_id: str
    key: bytes


@dataclass
class KeyChanges:
    """Keys to store and keys to destroy, saved in the same transaction as the events."""

    new: list[PersonKey] = field(default_factory=list)
    destroyed: list[str] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.new or self.destroyed)

    def extend(self, other: KeyChanges) -> None:
        self.new.extend(other.new)
        self.destroyed.extend(other.destroyed)
