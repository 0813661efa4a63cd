"""The bulk path's writer: a batch's events, chain links, command log and keys in one
transaction, without the library's per-event pipeline.

``Application.save`` hands events to the recorder one batch at a time, but on PostgreSQL
the library inserts them in a psycopg pipeline (where ``COPY`` is refused) as an array of
composite values dumped element by element, and our recorder then sends the chain links
as arrays too. Here the same rows go by ``COPY``, in one ordinary transaction that takes
the library's own lock first (``LOCK TABLE … IN EXCLUSIVE MODE`` on the event table, with
its lock timeout, and its ``NOTIFY``), so positions still commit in order and the chain
is still extended by exactly one writer at a time. Positions are drawn from the event
table's own sequence while the lock is held, in the order of the events (the library's
insert assigns them in that order too), so the chain links are computed before anything
is sent. The stored bytes are the mapper's, as ``save`` would store them (the JSON written by
orjson where that gives the same bytes: ``ledger.store.event_rows``); a duplicate
(stream, version) or command id fails the transaction with the library's
``IntegrityError``, as ``save`` does, and the bulk path then decides again one by one.

On SQLite the library's insert already runs in one transaction with ``executemany``; the
writer calls the recorder's insert directly, skipping ``save``'s bookkeeping per event.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any
from uuid import UUID

from eventsourcing.persistence import InterfaceError, OperationalError, StoredEvent
from eventsourcing.utils import retry
from psycopg.sql import SQL

from ledger.domain.sealed import KeyChanges
from ledger.integrity.chain import Appended, extend_chain
from ledger.store.event_rows import EventRows
from ledger.store.recorders import CommandRecord, PostgresLedgerRecorder
from ledger.store.root import Ledger


def write_events(
    ledger: Ledger, events: Sequence[Any], commands: Sequence[CommandRecord],
    keys: KeyChanges | None,
) -> int:  # fmt: skip
    """Save ``events`` (collected from their aggregates) with their command-log entries and
    key changes, atomically; the number of events written."""
    if not events:
        return 0
    return write_rows(ledger, EventRows(ledger.mapper).stored(events), commands, keys)


def write_rows(
    ledger: Ledger, stored: Sequence[StoredEvent], commands: Sequence[CommandRecord],
    keys: KeyChanges | None,
) -> int:  # fmt: skip
    """``write_events`` of events already encoded (by a worker process of the bulk path)."""
    if not stored:
        return 0
    recorder = ledger.ledger_recorder
    if isinstance(recorder, PostgresLedgerRecorder):
        copy_batch(recorder, stored, commands, keys)
    else:
        recorder.insert_events(stored, commands=list(commands), keys=keys)
    ledger.appended += len(stored)
    return len(stored)


@retry((InterfaceError, OperationalError), max_attempts=10, wait=0.2)  # as the library's insert
def copy_batch(
    recorder: PostgresLedgerRecorder, stored: Sequence[StoredEvent],
    commands: Sequence[CommandRecord], keys: KeyChanges | None,
) -> None:  # fmt: skip
    """One transaction: the library's lock and notification, then every row by ``COPY``."""
    events_table = recorder.events_table
    with recorder.datastore.transaction(commit=True) as curs:
        recorder._lock_table(curs)
        recorder._notify_channel(curs)
        if keys and keys.new:
            _copy(curs, recorder.person_keys_table, "key_id, key",
                  [(k.key_id, k.key) for k in keys.new])  # fmt: skip
        if keys and keys.destroyed:
            curs.execute(
                SQL("DELETE FROM {} WHERE key_id = ANY(%s)").format(recorder.person_keys_table),
                (list(keys.destroyed),),
            )
        if commands:
            _copy(curs, recorder.command_log, "command_id, ref, fingerprint, version",
                  [(c.command_id, c.ref, c.fingerprint, c.version) for c in commands])  # fmt: skip
        recorder.write_index(curs, keys)
        # Under the lock no other writer draws from the sequence: these are the next positions.
        # One row holding them all: a row each (as dicts) cost a tenth of the writing.
        curs.execute(
            SQL(
                "SELECT array_agg(nextval(pg_get_serial_sequence(%s, 'notification_id'))) AS p "
                "FROM generate_series(1, %s)"
            ),
            (events_table.as_string(curs), len(stored)),
        )
        row = curs.fetchone()
        assert row is not None
        positions = sorted(row["p"])
        ids = [_uuid(s.originator_id) for s in stored]
        _copy(curs, events_table,
              "originator_id, originator_version, topic, state, notification_id",
              [(i, s.originator_version, s.topic, s.state, p)
               for i, s, p in zip(ids, stored, positions, strict=True)])  # fmt: skip
        appended = [
            Appended(p, i, s.originator_version, s.topic, s.state)
            for i, s, p in zip(ids, stored, positions, strict=True)
        ]
        last, heads = recorder.chain_ends(curs, list(set(ids)))
        links = extend_chain(last, heads, appended)
        _copy(curs, recorder.chain_links,
              "position, prev_position, originator_id, originator_version, record_hash, link, "
              "stream_link",
              [(k.position, k.prev_position, k.originator_id, k.version, k.record_hash, k.link,
                k.stream_link) for k in links])  # fmt: skip


def _copy(curs: Any, table: Any, columns: str, rows: list[tuple[Any, ...]]) -> None:
    with curs.copy(SQL("COPY {} ({}) FROM STDIN").format(table, SQL(columns))) as copy:
        for row in rows:
            copy.write_row(row)


def _uuid(value: UUID | str) -> UUID:
    return value if isinstance(value, UUID) else UUID(value)
