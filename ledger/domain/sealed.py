"""Personal data as the domain holds it: sealed values and the key changes that go with them.

The aggregate only ever holds ciphertext; how it is sealed and opened is the store's business
(``ledger.store.crypto``), so the domain never touches a key's use.
"""

from __future__ import annotations

from dataclasses import dataclass, field

PERSONAL_FIELDS = ("name", "phone", "id_number", "address")
ERASED = "[erased]"  # what every sealed value reads once its key is destroyed


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


@dataclass(frozen=True)
class IndexEntry:
    """One row of the blind index of complainants (docs/repeats.md): a keyed digest of a
    normalised phone, ID number or account reference, never the value. It is filed under
    the complaint's key id, so destroying the key (erasure) takes the row with it."""

    key_id: str
    ref: str
    kind: str  # phone, id_number or account_ref
    digest: str  # HMAC-SHA256 under the ledger's index secret, in hex
    received_at: str  # ISO 8601, UTC: to count repeats by period without the read models


@dataclass(frozen=True)
class LinkEntry:
    """A link between two complaints about one incident, as the ledger's link table keeps
    it (both sides find it); the reason stays sealed in the ``ComplaintLinked`` event."""

    ref: str
    other: str
    occurred_at: str


@dataclass
class KeyChanges:
    """Keys to store and keys to destroy, and the blind-index and link rows that go with
    them, saved in the same transaction as the events. A destroyed key's index rows go too."""

    new: list[PersonKey] = field(default_factory=list)
    destroyed: list[str] = field(default_factory=list)
    index: list[IndexEntry] = field(default_factory=list)
    links: list[LinkEntry] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.new or self.destroyed or self.index or self.links)

    def extend(self, other: KeyChanges) -> None:
        self.new.extend(other.new)
        self.destroyed.extend(other.destroyed)
        self.index.extend(other.index)
        self.links.extend(other.links)


@dataclass(frozen=True)
class SealedText:
    """Free text (complaint content, notes, findings…) as stored from event class version 2:
    sealed under the complaint's personal-data key, so that erasing the key erases it.

    An empty ``nonce`` marks text recorded after the key was destroyed: it was never kept.
    """

    key_id: str
    nonce: bytes
    ciphertext: bytes

    @property
    def withheld(self) -> bool:
        return not self.nonce


@dataclass(frozen=True)
class LegacyText:
    """Free text stored in plain by a release before text was sealed (event class version 1).

    Its bytes stay in the log (stored events are never rewritten), but it is shown only while
    the complaint's personal data is not erased. It has no transcoding on purpose: it can be
    read from the store, never written to it.
    """

    text: str


Text = SealedText | LegacyText


def legacy_text(state: dict[str, object], *names: str) -> None:
    """Upcast the plain-text fields ``names`` of a version-1 event's state to ``LegacyText``."""
    for name in names:
        value = state.get(name)
        if isinstance(value, str):
            state[name] = LegacyText(value)
