"""Making seals, reading them back, and naming streams in messages."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING
from uuid import UUID

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from eventsourcing.application import AggregateNotFoundError
from eventsourcing.persistence import IntegrityError, StoredEvent

from ledger.domain.errors import ConcurrentChange, IntegrityViolation, SealKeyUnusable
from ledger.domain.events import topic_of
from ledger.domain.readiness import READINESS_BOOK_ID, READINESS_REF
from ledger.domain.values import reference_id
from ledger.integrity.chain import GENESIS, leaf_hash, merkle_root
from ledger.integrity.sealbook import SEAL_BOOK_ID, SEAL_BOOK_REF, SealBook, digest_of
from ledger.integrity.seals import Digest, Seal, public_bytes, sign
from ledger.store.books import CALENDAR_BOOK_ID, CALENDAR_BOOK_REF, POLICY_BOOK_ID, POLICY_BOOK_REF

if TYPE_CHECKING:
    from ledger.store.root import Ledger

FIXED_STREAMS = {
    POLICY_BOOK_ID: POLICY_BOOK_REF,
    CALENDAR_BOOK_ID: CALENDAR_BOOK_REF,
    SEAL_BOOK_ID: SEAL_BOOK_REF,
    READINESS_BOOK_ID: READINESS_REF,
}


def event_name(topic: str) -> str:
    """``ledger.complaint:Complaint.Triaged`` → ``Triaged``."""
    return topic.rsplit(".", 1)[-1].rsplit(":", 1)[-1]


def seal_ledger(ledger: Ledger, key: Ed25519PrivateKey, sealed_by: str, now: datetime) -> Digest:
    """Sign the chain as it stands and append the seal to the ledger."""
    recorder = ledger.ledger_recorder
    events, last_event, links, last_link = recorder.chain_summary()
    if (events, last_event) != (links, last_link):
        raise IntegrityViolation(
            f"the log holds {events} events up to position {last_event} but {links} chain "
            f"links up to position {last_link}; run complaint-ledger verify to see where"
        )
    stored_seals(ledger)  # a seal that no longer decodes is refused here, with its position
    book = load_seal_book(ledger)
    previous = book.last if book else None
    if previous is not None:
        if previous.public_key != public_bytes(key).hex():
            raise SealKeyUnusable(
                f"the ledger was sealed with key {previous.key_id}; seal with that key "
                "(LEDGER_SEAL_KEY or --key-file)"
            )
        stored = recorder.link_at(previous.seal.position)
        if stored is None or stored.link.hex() != previous.seal.head:
            raise IntegrityViolation(
                f"position {previous.seal.position}: the chain no longer ends in the head of "
                "the previous seal; run complaint-ledger verify to see where"
            )
    last = recorder.link_at(last_link) if last_link else None
    heads = recorder.stream_heads(last_link)
    seal = Seal(
        position=last_link,
        head=(last.link if last else GENESIS).hex(),
        events=links,
        streams=len(heads),
        streams_root=merkle_root([leaf_hash(*h) for h in heads]).hex(),
        sealed_at=now.isoformat(),
        previous_position=None if previous is None else previous.seal.position,
        previous_head=None if previous is None else previous.seal.head,
    )
    digest = sign(seal, key)
    book = book or SealBook()
    book.seal(digest, sealed_by)
    try:
        ledger.save(book)
    except IntegrityError:
        raise ConcurrentChange("another seal was made at the same time; run seal again") from None
    return digest


def load_seal_book(ledger: Ledger) -> SealBook | None:
    try:
        book: SealBook = ledger.repository.get(SEAL_BOOK_ID)
    except AggregateNotFoundError:
        return None
    return book


def stored_seals(ledger: Ledger) -> list[Digest]:
    """Every seal recorded in the ledger, in order.

    The seal stream holds its opening and then seals only. An event of it that does not
    decode, or is of another kind, is a verification failure, never skipped: a seal that
    was made unreadable would otherwise drop out of every check unnoticed."""
    digests = []
    for appended in ledger.ledger_recorder.stream_events(SEAL_BOOK_ID):
        where = f"position {appended.position} ({SEAL_BOOK_REF} version {appended.version})"
        kind = event_name(appended.topic)
        expected = "SealBook.Opened" if appended.version == 1 else "SealBook.LedgerSealed"
        if appended.topic != topic_of(expected):
            raise IntegrityViolation(
                f"{where}: {kind} stands where the seal stream holds "
                f"{expected.partition('.')[2]}: the seal event was changed outside the ledger"
            )
        stored = StoredEvent(SEAL_BOOK_ID, appended.version, appended.topic, appended.state)
        try:
            event = ledger.mapper.to_domain_event(stored)
            if appended.version > 1:
                digests.append(digest_of(event))
        except Exception as e:  # whatever the bytes are, they are not a seal
            raise IntegrityViolation(
                f"{where}: the seal event cannot be decoded ({type(e).__name__}): its stored "
                "bytes were changed outside the ledger"
            ) from None
    return digests


def stream_namer(ledger: Ledger) -> Callable[[UUID], str]:
    """Names streams for messages: their reference, even when their events are gone."""
    known: dict[UUID, str] = dict(FIXED_STREAMS)
    from_log: dict[UUID, str] | None = None

    def name(originator_id: UUID) -> str:
        nonlocal from_log
        if originator_id in known:
            return known[originator_id]
        for stored in ledger.ledger_recorder.select_events(originator_id, limit=1):
            try:
                ref = getattr(ledger.mapper.to_domain_event(stored), "ref", None)
            except Exception:
                ref = None
            if isinstance(ref, str):
                known[originator_id] = ref
                return ref
        if from_log is None:
            from_log = {reference_id(r): r for r in ledger.ledger_recorder.command_refs()}
        return from_log.get(originator_id, f"stream {originator_id}")

    return name
