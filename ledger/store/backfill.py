"""Backfill of the blind index (``index backfill``): complaints received before it existed,
and complaints whose rows an earlier normalisation filed.

The index is written with each ``Received`` event from the release that introduced it; an
older complaint has no rows until an operator runs the backfill, which opens each complaint's
sealed identifiers with its key (so it needs a login that may read the keys and write the
index: the owner or a writer) and files their digests. Erased complaints stay out: their keys
are gone, and a row is only added while its key is still there.

The rows are derived data (digests of sealed values the ledger can open), so when the
normalisation changes (full-width characters are folded since a later release) the backfill
derives every complaint's rows again and replaces those that differ: a complaint recorded
full-width by an earlier release is then found from the half-width form, and back. The
events are not touched.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from ledger.domain.sealed import IndexEntry
from ledger.store.blind_index import index_entries, index_time
from ledger.store.crypto import TextReader, open_complainant

if TYPE_CHECKING:
    from ledger.store.root import Ledger

CHUNK = 500


@dataclass(frozen=True)
class Backfilled:
    """What a backfill did: complaints indexed for the first time (and their rows), and
    complaints whose rows were filed again."""

    complaints: int
    rows: int
    reindexed: int


def backfill_index(ledger: Ledger) -> Backfilled:
    """Index every complaint not yet indexed, and file again the rows that differ from
    what the current normalisation derives."""
    recorder = ledger.ledger_recorder
    secret = ledger.index_secret()
    refs = list(ledger.iter_refs())
    complaints = rows = reindexed = 0
    for start in range(0, len(refs), CHUNK):
        loaded = ledger.load_complaints(refs[start : start + CHUNK])
        todo = [c for c in loaded.values() if not c.personal_data_erased]
        key_ids = [c.complainant.key_id for c in todo]
        keys = recorder.person_keys(key_ids)
        filed = recorder.index_digests(key_ids)
        new: list[IndexEntry] = []
        stale: list[str] = []
        again: list[IndexEntry] = []
        for complaint in todo:
            key_id = complaint.complainant.key_id
            key = keys.get(key_id)
            if key is None:
                continue
            person = open_complainant(complaint.complainant, key, complaint.id)
            found = index_entries(
                secret,
                key_id=key_id,
                ref=complaint.ref,
                received_at=index_time(complaint.received_at),
                phone=person.phone,
                id_number=person.id_number,
                account_ref=TextReader(complaint.id, key)(complaint.account_ref),
            )
            if key_id not in filed:
                complaints += bool(found)
                new.extend(found)
            elif filed[key_id] != {e.kind: e.digest for e in found}:
                stale.append(key_id)
                again.extend(found)
        if new:
            recorder.add_index(new)
            rows += len(new)
        if stale:
            recorder.replace_index(stale, again)
            reindexed += len(stale)
    ledger.reapply_erasures()  # an erasure that committed meanwhile takes its rows out again
    return Backfilled(complaints, rows, reindexed)
