"""The hash chain and the Merkle tree over complaint heads (pure; no database).

Every stored event gets a *record hash* over exactly what is stored: originator id,
version, topic and the stored bytes. Two chains run over the record hashes:

* the **log chain**, in notification (position) order: each link covers the previous
  link, the event's position and its record hash, so changing, removing, inserting or
  reordering anything before a link changes that link;
* the **stream chain**, per complaint in version order: each link covers the previous
  one, the event's position, version and record hash; its last link (the complaint's
  *head*) covers every event of the complaint and where each sits in the log.

A seal signs the log chain's head at a position and the root of a Merkle tree whose
leaves are the complaint heads at that position (sorted by originator id). An inclusion
proof then ties one complaint's events to the seal without the rest of the log.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import TypeVar
from uuid import UUID

GENESIS = bytes(32)
_RECORD = b"complaint-ledger/record/1\x00"
_LOG = b"complaint-ledger/log/1\x00"
_STREAM = b"complaint-ledger/stream/1\x00"
_LEAF = b"\x00"
_NODE = b"\x01"
_sha256 = hashlib.sha256
_TOPICS: dict[str, bytes] = {}  # a topic, framed with its length (topics repeat endlessly)
# A stream's id as the caller keeps it (a UUID, or SQLite's hex text): only compared.
Stream = TypeVar("Stream")


def record_hash(originator_id: UUID, version: int, topic: str, state: bytes) -> bytes:
    """The hash of one stored event, exactly as stored."""
    return record_hash_raw(originator_id.bytes, version, topic, state)


def record_hash_raw(originator_id: bytes, version: int, topic: str, state: bytes) -> bytes:
    """``record_hash`` with the originator id as its 16 bytes (the verifier's fast path)."""
    framed_topic = _TOPICS.get(topic)
    if framed_topic is None:
        encoded = topic.encode()
        framed_topic = _TOPICS.setdefault(topic, len(encoded).to_bytes(4, "big") + encoded)
    return _sha256(
        b"".join(
            (
                _RECORD,
                originator_id,
                version.to_bytes(8, "big", signed=True),
                framed_topic,
                len(state).to_bytes(8, "big"),
                state,
            )
        )
    ).digest()


def log_link(previous: bytes, position: int, record: bytes) -> bytes:
    return _sha256(b"".join((_LOG, previous, position.to_bytes(8, "big"), record))).digest()


def stream_link(previous: bytes, position: int, version: int, record: bytes) -> bytes:
    return hashlib.sha256(
        _STREAM
        + previous
        + position.to_bytes(8, "big")
        + version.to_bytes(8, "big", signed=True)
        + record
    ).digest()


@dataclass(frozen=True)
class Link:
    """What the chain stores for one event (one row of ``chain_links``)."""

    position: int
    prev_position: int
    originator_id: UUID
    version: int
    record_hash: bytes
    link: bytes
    stream_link: bytes


@dataclass(frozen=True)
class Appended:
    """An event just appended, with its position."""

    position: int
    originator_id: UUID
    version: int
    topic: str
    state: bytes


class StreamIds:
    """A stream's id as a UUID, made once for the run of its events that come together."""

    def __init__(self) -> None:
        self.text: str | None = None
        self.id: UUID | None = None

    def __call__(self, text: str) -> UUID:
        if text != self.text:
            self.text, self.id = text, UUID(text)
        assert self.id is not None
        return self.id


def extend_chain(
    last: tuple[int, bytes] | None,
    stream_heads: dict[UUID, bytes],
    appended: Iterable[Appended],
) -> list[Link]:
    """The links of newly appended events, continuing the log chain from ``last``
    (position, link) and each stream from ``stream_heads`` (the link of its previous
    version; missing for a complaint's first event)."""
    hashed = (
        (
            a.position,
            a.originator_id,
            a.version,
            record_hash(a.originator_id, a.version, a.topic, a.state),
        )
        for a in sorted(appended, key=lambda a: a.position)
    )
    return [Link(*row) for row in link_records(last, stream_heads, hashed)]


def link_records(
    last: tuple[int, bytes] | None,
    stream_heads: dict[Stream, bytes],
    hashed: Iterable[tuple[int, Stream, int, bytes]],
) -> Iterator[tuple[int, int, Stream, int, bytes, bytes, bytes]]:
    """``extend_chain`` of events whose record hashes are known (computed where the events
    were encoded), given in position order as (position, originator id, version, record
    hash): each link's fields, in ``Link``'s order. The originator id is only compared, so
    it may be kept in any one form (the heads keyed by the same)."""
    position, previous = last or (0, GENESIS)
    heads = dict(stream_heads)
    for at, originator_id, version, record in hashed:
        previous = log_link(previous, at, record)
        head = stream_link(heads.get(originator_id, GENESIS), at, version, record)
        heads[originator_id] = head
        yield at, position, originator_id, version, record, previous, head
        position = at


# ---------------------------------------------------------------------- Merkle tree


def leaf_hash(originator_id: UUID | bytes, version: int, head: bytes) -> bytes:
    """A complaint's leaf: its id, the last sealed version and its stream head."""
    raw = originator_id if isinstance(originator_id, bytes) else originator_id.bytes
    return hashlib.sha256(_LEAF + raw + version.to_bytes(8, "big", signed=True) + head).digest()


def _node(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(_NODE + left + right).digest()


def merkle_levels(leaves: Sequence[bytes]) -> list[list[bytes]]:
    """Every level of the tree, leaves first; an odd last node is carried up unchanged."""
    levels = [list(leaves)]
    while len(levels[-1]) > 1:
        below = levels[-1]
        above = [_node(below[i], below[i + 1]) for i in range(0, len(below) - 1, 2)]
        if len(below) % 2:
            above.append(below[-1])
        levels.append(above)
    return levels


def merkle_root(leaves: Sequence[bytes]) -> bytes:
    return merkle_levels(leaves)[-1][0] if leaves else GENESIS


def merkle_proof(levels: list[list[bytes]], index: int) -> list[tuple[str, bytes]]:
    """The sibling hashes from leaf ``index`` to the root, each with the side it sits on."""
    proof = []
    for level in levels[:-1]:
        sibling = index ^ 1
        if sibling < len(level):
            proof.append(("left" if sibling < index else "right", level[sibling]))
        index //= 2
    return proof


def root_from_proof(leaf: bytes, proof: Iterable[tuple[str, bytes]]) -> bytes:
    node = leaf
    for side, sibling in proof:
        node = _node(sibling, node) if side == "left" else _node(node, sibling)
    return node
