"""The stream of seals: every ``LedgerSealed`` event, in one stream with a fixed id."""

from __future__ import annotations

import uuid
from typing import Any

from eventsourcing.domain import Aggregate, event

from ledger.domain.events import register
from ledger.domain.topics import keep_topics
from ledger.integrity.seals import Digest, Seal

SEAL_BOOK_ID = uuid.UUID("3e9f0b6a-4b3f-5c8d-9e5f-0a1b2c3d4e5f")
SEAL_BOOK_REF = "@seals"


class SealBook(Aggregate):
    """Every seal made of the ledger, in order."""

    @staticmethod
    def create_id() -> uuid.UUID:
        return SEAL_BOOK_ID

    @event("Opened")
    def __init__(self) -> None:
        self.ref = SEAL_BOOK_REF
        self.digests: list[Digest] = []

    @property
    def last(self) -> Digest | None:
        return self.digests[-1] if self.digests else None

    def seal(self, digest: Digest, sealed_by: str) -> None:
        s = digest.seal
        self._sealed(
            position=s.position,
            head=s.head,
            events=s.events,
            streams=s.streams,
            streams_root=s.streams_root,
            sealed_at=s.sealed_at,
            previous_position=s.previous_position,
            previous_head=s.previous_head,
            public_key=digest.public_key,
            key_id=digest.key_id,
            signature=digest.signature,
            sealed_by=sealed_by,
        )

    @event("LedgerSealed")
    def _sealed(
        self,
        position: int,
        head: str,
        events: int,
        streams: int,
        streams_root: str,
        sealed_at: str,
        previous_position: int | None,
        previous_head: str | None,
        public_key: str,
        key_id: str,
        signature: str,
        sealed_by: str,
    ) -> None:
        self.digests.append(
            Digest(
                Seal(
                    position,
                    head,
                    events,
                    streams,
                    streams_root,
                    sealed_at,
                    previous_position,
                    previous_head,
                ),
                public_key,
                signature,
            )
        )


def digest_of(sealed: Any) -> Digest:
    """The digest a ``LedgerSealed`` event records."""
    seal = Seal(*(getattr(sealed, name) for name in Seal.__dataclass_fields__))
    return Digest(seal, str(sealed.public_key), str(sealed.signature))


# Stored before ledger/ was split into packages; see ledger.domain.topics.
keep_topics(SealBook, "ledger.sealbook")
# The version of each event's stored shape (ledger.domain.events, docs/design.md).
register(SealBook, {"Opened": 1, "LedgerSealed": 1})
