"""Backfill of the blind index: complaints received before it existed (``index backfill``).

The index is written with each ``Received`` event from the release that introduced it; an
older complaint has no rows until an operator runs the backfill, which opens each complaint's
sealed identifiers with its key (so it needs a login that may read the keys and write the
index: the owner or a writer) and files their digests. Erased complaints stay out: their keys
are gone, and a row is only added while its key is still there.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ledger.domain.sealed import IndexEntry
from ledger.store.blind_index import index_entries, index_time
from ledger.store.crypto import TextReader, open_complainant

if TYPE_CHECKING:
    from ledger.store.root import Ledger

CHUNK = 500


def backfill_index(ledger: Ledger) -> tuple[int, int]:
    """Index every complaint not yet indexed; (complaints indexed, rows written)."""
    recorder = ledger.ledger_recorder
    secret = ledger.index_secret()
    indexed = recorder.indexed_key_ids()
    refs = list(ledger.iter_refs())
    complaints = rows = 0
    for start in range(0, len(refs), CHUNK):
        loaded = ledger.load_complaints(refs[start : start + CHUNK])
        todo = [
            c
            for c in loaded.values()
            if not c.personal_data_erased and c.complainant.key_id not in indexed
        ]
        keys = recorder.person_keys([c.complainant.key_id for c in todo])
        entries: list[IndexEntry] = []
        for complaint in todo:
            key = keys.get(complaint.complainant.key_id)
            if key is None:
                continue
            person = open_complainant(complaint.complainant, key, complaint.id)
            found = index_entries(
                secret,
                key_id=complaint.complainant.key_id,
                ref=complaint.ref,
                received_at=index_time(complaint.received_at),
                phone=person.phone,
                id_number=person.id_number,
                account_ref=TextReader(complaint.id, key)(complaint.account_ref),
            )
            complaints += bool(found)
            entries.extend(found)
        if entries:
            recorder.add_index(entries)
            rows += len(entries)
    ledger.reapply_erasures()  # an erasure that committed meanwhile takes its rows out again
    return complaints, rows
