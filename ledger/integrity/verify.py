"""Verification: recompute the chain from the stored events and name the first divergence.

Every event got its chain link when it was appended, in the same transaction; the links
up to a seal are vouched for by the seal's signature. ``verify_ledger`` walks the events
and the links together in position order and stops at the first position where they
disagree, saying what differs (an event changed, deleted, inserted or moved), then checks
every seal against the recomputed chain. ``verify_complaint`` does the same for one
complaint and ties its head to the last seal through the complaint-heads Merkle tree.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, NoReturn
from uuid import UUID

from ledger.domain.errors import ComplaintNotFound, IntegrityViolation
from ledger.domain.values import reference_id
from ledger.integrity.chain import (
    GENESIS,
    Link,
    leaf_hash,
    log_link,
    merkle_levels,
    merkle_proof,
    merkle_root,
    record_hash,
    record_hash_raw,
    root_from_proof,
    stream_link,
)
from ledger.integrity.logcheck import SideTables
from ledger.integrity.sealbook import SEAL_BOOK_ID, SEAL_BOOK_REF
from ledger.integrity.sealing import event_name, stored_seals, stream_namer
from ledger.integrity.seals import Digest, check_seal_signatures
from ledger.integrity.stored_types import event_mistyped, link_mistyped
from ledger.store.books import stream_id
from ledger.store.snapshot import read_snapshot

if TYPE_CHECKING:
    from ledger.integrity.anchors import Anchor
    from ledger.store.root import Ledger

BATCH = 10_000
Progress = Callable[[int], None]


@dataclass
class Report:
    """What a verification covered (it raises ``IntegrityViolation`` instead on a divergence)."""

    events: int = 0
    last_position: int = 0
    seals: list[Digest] = field(default_factory=list)
    sealed_position: int = 0
    unsealed: int = 0
    streams: int = 0


Row = tuple[Any, ...]


def _prefetched(fetch: Callable[[int, int], list[Row]], pool: ThreadPoolExecutor) -> Iterator[Row]:
    """Rows in position order, the next batch fetched while this one is checked."""
    future = pool.submit(fetch, 0, BATCH)
    while True:
        rows = future.result()
        if len(rows) == BATCH:
            future = pool.submit(fetch, rows[-1][0], BATCH)
        yield from rows
        if len(rows) < BATCH:
            return


def _merged(
    ledger: Ledger, pool: ThreadPoolExecutor
) -> Iterator[tuple[int, Row | None, Row | None]]:
    """Event rows and link rows side by side, by position."""
    recorder = ledger.ledger_recorder
    events = _prefetched(recorder.scan_event_rows, pool)
    links = _prefetched(recorder.scan_link_rows, pool)
    event, link = next(events, None), next(links, None)
    while event is not None or link is not None:
        if link is None or (event is not None and event[0] < link[0]):
            yield event[0], event, None  # type: ignore[index]
            event = next(events, None)
        elif event is None or link[0] < event[0]:
            yield link[0], None, link
            link = next(links, None)
        else:
            yield event[0], event, link
            event, link = next(events, None), next(links, None)


def verify_ledger(
    ledger: Ledger,
    digest: Digest | None = None,
    anchor: Anchor | None = None,
    progress: Progress | None = None,
) -> Report:
    """Check every event against its link, the links against each other and every seal
    (and ``digest``) against the recomputed chain. ``anchor``: the key the seals must be
    signed with (default: the digest's, else the first seal's). Every table is read in one
    snapshot, so a ledger being written meanwhile is checked as it was on entry."""
    with read_snapshot(ledger.ledger_recorder):
        return _verify_ledger(ledger, digest, anchor, progress)


def _verify_ledger(
    ledger: Ledger, digest: Digest | None, anchor: Anchor | None, progress: Progress | None
) -> Report:
    name = stream_namer(ledger)
    seals = stored_seals(ledger)
    check_seal_signatures(seals, digest, anchor)
    checkpoints = {d.seal.position: d for d in seals}
    if digest is not None:
        checkpoints.setdefault(digest.seal.position, digest)
    roots_at = {s.seal.position for s in ([*seals[-1:], digest] if digest else seals[-1:])}

    def fail(position: int, oid: bytes | None, version: int | None, what: str) -> NoReturn:
        where = f"position {position}"
        if oid is not None:
            where += f" ({name(UUID(bytes=oid))} version {version})"
        raise IntegrityViolation(f"{where}: {what}")

    report = Report(seals=seals)
    previous, previous_position = GENESIS, 0
    streams: dict[bytes, tuple[int, bytes]] = {}
    with ThreadPoolExecutor(3) as pool:
        side = SideTables(ledger.ledger_recorder, name, pool)
        for position, event, link in _merged(ledger, pool):
            if event is not None and (problem := event_mistyped(event[1:])) is not None:
                fail(position, None, None, problem)
            if link is not None and (problem := link_mistyped(link[1:])) is not None:
                fail(position, None, None, problem)
            if link is None:
                assert event is not None
                fail(position, event[1], event[2],
                     f"{event_name(event[3])} has no chain link: it was inserted outside the "
                     "ledger (forged)")  # fmt: skip
            _, prev_position, link_oid, link_version, chained, link_hash, link_head = link
            if prev_position > previous_position:
                fail(prev_position, None, None,
                     "the chain expects an event here but neither the event nor its link "
                     "exists: deleted")  # fmt: skip
            if prev_position < previous_position:
                fail(previous_position, None, None,
                     f"this position is not in the chain (the link at position {position} "
                     f"follows position {prev_position}): an event was inserted here")  # fmt: skip
            if event is None:
                fail(position, link_oid, link_version, "the event is missing: deleted")
            _, oid, version, topic, state = event
            if oid != link_oid or version != link_version:
                fail(position, oid, version,
                     f"the chain has {name(UUID(bytes=link_oid))} version {link_version} here: "
                     "events were moved or swapped")  # fmt: skip
            record = record_hash_raw(oid, version, topic, state)
            if record != chained:
                fail(position, oid, version,
                     f"{event_name(topic)} differs from what was chained: its stored bytes or "
                     "topic were changed")  # fmt: skip
            previous = log_link(previous, position, record)
            if previous != link_hash:
                fail(position, oid, version, "its chain link was rewritten")
            last_version, head = streams.get(oid, (0, GENESIS))
            head = stream_link(head, position, version, record)
            if head != link_head:
                fail(position, oid, version,
                     f"the complaint's own chain breaks here (after version {last_version}): "
                     "one of its events is missing or out of place")  # fmt: skip
            streams[oid] = (version, head)
            side.add(position, oid, version, topic, state)
            previous_position = position
            report.events += 1
            if position in checkpoints:
                _check_head(checkpoints[position], previous, streams, position in roots_at)
            if progress is not None:
                progress(position)
    for seal_position in sorted(p for p in checkpoints if p > previous_position):
        fail(seal_position, None, None,
             f"sealed, but the log now ends at position {previous_position}: events at the "
             "end were deleted")  # fmt: skip
    if digest is not None and digest.signature not in {d.signature for d in seals}:
        raise IntegrityViolation(
            f"the digest's seal (position {digest.seal.position}) is not in the ledger's "
            f"{SEAL_BOOK_REF}: the seal event was removed"
        )
    side.finish()
    report.last_position = previous_position
    report.streams = len(streams)
    report.sealed_position = max(checkpoints, default=0)
    report.unsealed = report.events - (
        checkpoints[report.sealed_position].seal.events if checkpoints else 0
    )
    return report


def _check_head(
    digest: Digest, head: bytes, streams: dict[bytes, tuple[int, bytes]], with_root: bool
) -> None:
    seal = digest.seal
    if head.hex() != seal.head:
        raise IntegrityViolation(
            f"position {seal.position}: the recomputed chain head differs from the seal made "
            f"{seal.sealed_at}: events and their links up to here were rewritten"
        )
    if with_root:
        leaves = [leaf_hash(oid, v, h) for oid, (v, h) in sorted(streams.items())]
        if merkle_root(leaves).hex() != seal.streams_root:
            raise IntegrityViolation(
                f"position {seal.position}: the complaint heads do not hash to the sealed root"
            )


def verify_complaint(
    ledger: Ledger, ref: str, digest: Digest | None = None, anchor: Anchor | None = None
) -> Report:
    """Check one complaint's events against their links and its head against the seal
    (``digest``, else the last in the ledger). ``sealed_position`` is 0 in the report when
    no seal covers any of its events. Read in one snapshot, as ``verify_ledger``."""
    with read_snapshot(ledger.ledger_recorder):
        return _verify_complaint(ledger, ref, digest, anchor)


def _verify_complaint(
    ledger: Ledger, ref: str, digest: Digest | None, anchor: Anchor | None
) -> Report:
    oid = SEAL_BOOK_ID if ref == SEAL_BOOK_REF else stream_id(ref) or reference_id(ref)
    recorder = ledger.ledger_recorder
    stored = recorder.stream_events(oid)
    events = {e.version: e for e in stored}
    links = recorder.stream_links(oid)
    if not events and not links:
        raise ComplaintNotFound(f"no complaint has reference {ref!r}")
    head, report = GENESIS, Report(events=len(events), streams=1)
    for link in links:
        event = events.pop(link.version, None)
        where = f"position {link.position} ({ref} version {link.version})"
        if event is None:
            raise IntegrityViolation(f"{where}: the event is missing: deleted")
        if event.position != link.position:
            raise IntegrityViolation(
                f"{where}: the event now sits at position {event.position}: moved or swapped"
            )
        record = record_hash(oid, event.version, event.topic, event.state)
        if record != link.record_hash:
            raise IntegrityViolation(
                f"{where}: {event_name(event.topic)} differs from what was chained: its "
                "stored bytes or topic were changed"
            )
        head = stream_link(head, link.position, link.version, record)
        if head != link.stream_link:
            raise IntegrityViolation(f"{where}: its chain link was rewritten")
    for version, event in sorted(events.items()):
        raise IntegrityViolation(
            f"position {event.position} ({ref} version {version}): "
            f"{event_name(event.topic)} has no chain link: it was inserted outside the ledger"
        )
    side = SideTables(recorder, lambda _: ref)
    for event in sorted(stored, key=lambda e: e.version):
        side.add(event.position, oid.bytes, event.version, event.topic, event.state)
    side.finish_stream(recorder.commands_of(ref))
    seals = stored_seals(ledger)
    check_seal_signatures(seals, digest, anchor)
    last = digest or (seals[-1] if seals else None)
    report.seals = seals
    if last is not None and _check_inclusion(ledger, oid, ref, last, links):
        report.sealed_position = last.seal.position
    return report


def _check_inclusion(
    ledger: Ledger, oid: UUID, ref: str, digest: Digest, links: list[Link]
) -> bool:
    """Whether the complaint's head at the seal hashes to the sealed root (False when the
    seal is older than its first event; an IntegrityViolation when it does not hash)."""
    sealed = [k for k in links if k.position <= digest.seal.position]
    if not sealed:
        return False
    heads = ledger.ledger_recorder.stream_heads(digest.seal.position)
    index = next((i for i, h in enumerate(heads) if h[0] == oid), None)
    if index is None:
        raise IntegrityViolation(f"{ref} is not among the complaint heads of the seal")
    leaves = [leaf_hash(*h) for h in heads]
    proof = merkle_proof(merkle_levels(leaves), index)
    mine = leaf_hash(oid, sealed[-1].version, sealed[-1].stream_link)
    if root_from_proof(mine, proof).hex() != digest.seal.streams_root:
        raise IntegrityViolation(
            f"{ref}: its head at version {sealed[-1].version} does not hash to the root sealed "
            f"at position {digest.seal.position}: the complaint or its links were rewritten"
        )
    return True
