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

On SQLite the library's insert already runs in one transaction; the writer calls the
recorder's insert directly, skipping ``save``'s bookkeeping per event. The workers' batches
(``insert_encoded``) come as the recorder's own parameters with each event's record hash, and
go in by ``executemany`` in the steps and order of the recorder's insert.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any
from uuid import UUID

from eventsourcing.persistence import InterfaceError, OperationalError, StoredEvent
from eventsourcing.utils import retry
from psycopg.sql import SQL

from ledger.domain.sealed import KeyChanges
from ledger.integrity.chain import Appended, extend_chain, link_records
from ledger.store.copy_text import COMMAND_COLUMNS, EVENT_COLUMNS, binary
from ledger.store.event_rows import EventRows
from ledger.store.names import COMMAND_LOG
from ledger.store.recorders import CommandRecord, PostgresLedgerRecorder, SQLiteLedgerRecorder
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
        _lock_and_keys(curs, recorder, keys)
        if commands:
            _copy(curs, recorder.command_log, "command_id, ref, fingerprint, version",
                  [(c.command_id, c.ref, c.fingerprint, c.version) for c in commands])  # fmt: skip
        recorder.write_index(curs, keys)
        positions = _positions(curs, recorder, len(stored))
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


def _lock_and_keys(curs: Any, recorder: PostgresLedgerRecorder, keys: KeyChanges | None) -> None:
    """A batch's first steps: UTF-8 for the ``COPY`` data, the library's lock and
    notification, then the keys made and destroyed."""
    _utf8(curs)
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


# A stream's new events as a worker process encoded them (``commands.bulk_worker``): the
# input position of its first command, its id (16 bytes), its first new version, the record
# hash of each event (32 bytes each, joined) and each event's ``copy_text.event_row``.
Encoded = tuple[int, bytes, int, bytes, list[bytes]]


@retry((InterfaceError, OperationalError), max_attempts=10, wait=0.2)  # as the library's insert
def copy_encoded(
    ledger: Ledger, streams: Sequence[Encoded], command_rows: Sequence[bytes],
    keys: KeyChanges | None,
) -> int:  # fmt: skip
    """``copy_batch`` of rows already in ``COPY``'s text format, streams in the order given:
    this process adds each event's position and chain links, nothing else. The number of
    events written."""
    recorder = ledger.ledger_recorder
    assert isinstance(recorder, PostgresLedgerRecorder)
    count = sum(len(rows) for *_, rows in streams)
    if not count:
        return 0
    ids = [UUID(bytes=stream) for _, stream, *_ in streams]
    with recorder.datastore.transaction(commit=True) as curs:
        _lock_and_keys(curs, recorder, keys)
        if command_rows:
            _copy_text(curs, recorder.command_log, COMMAND_COLUMNS, b"".join(command_rows))
        recorder.write_index(curs, keys)
        positions = iter(_positions(curs, recorder, count))
        events: list[bytes] = []
        hashed: list[tuple[int, UUID, int, bytes]] = []
        for (_, _, first, hashes, rows), originator_id in zip(streams, ids, strict=True):
            for n, row in enumerate(rows):
                position = next(positions)
                events += (b"%d\t" % position, row)
                hashed.append((position, originator_id, first + n, hashes[32 * n : 32 * n + 32]))
        _copy_text(curs, recorder.events_table, EVENT_COLUMNS, b"".join(events))
        last, heads = recorder.chain_ends(curs, ids)
        text = {i: str(i).encode() for i in ids}
        links = b"".join(
            b"%d\t%d\t%s\t%d\t%s\t%s\t%s\n"
            % (at, prev, text[i], version, binary(record), binary(link), binary(stream_link))
            for at, prev, i, version, record, link, stream_link in link_records(last, heads, hashed)
        )
        _copy_text(curs, recorder.chain_links, LINK_COLUMNS, links)
    ledger.appended += count
    return count


# A stream's new events as a worker process prepared them for SQLite: the input position of
# its first command, its id as stored (hex text), its first new version, the record hash of
# each event (32 bytes each, joined) and each event's row as the library inserts it
# (originator id, version, topic, state).
Hashed = tuple[int, str, int, bytes, list[tuple[str, int, str, bytes]]]


def insert_encoded(
    ledger: Ledger, streams: Sequence[Hashed], commands: Sequence[tuple[str, str, str, int]],
    keys: KeyChanges | None,
) -> int:  # fmt: skip
    """The recorder's insert of rows prepared by the workers, streams in the order given:
    this process adds each event's position and chain links, nothing else. One transaction,
    the recorder's steps in its order (keys, events, links, command log, index); its first
    write takes SQLite's write lock, held until it commits, so no other writer appends or
    extends the chain meanwhile. The number of events written."""
    recorder = ledger.ledger_recorder
    assert isinstance(recorder, SQLiteLedgerRecorder)
    events = [row for *_, rows in streams for row in rows]
    if not events:
        return 0
    with recorder.datastore.transaction(commit=True) as c:
        recorder.write_keys(c, keys)
        c.executemany(recorder.insert_events_statement, events)
        position = _inserted_after(c, recorder.events_table_name, len(events))
        hashed: list[tuple[int, str, int, bytes]] = []
        for _, stream, first, hashes, rows in streams:
            for n in range(len(rows)):
                position += 1
                hashed.append((position, stream, first + n, hashes[32 * n : 32 * n + 32]))
        last, heads = recorder.chain_ends(c, [stream for _, stream, *_ in streams])
        recorder.insert_links(c, link_records(last, heads, hashed))
        if commands:
            c.executemany(f"INSERT INTO {COMMAND_LOG} VALUES (?, ?, ?, ?)", commands)
        recorder.write_index(c, keys)
    ledger.appended += len(events)
    return len(events)


def _inserted_after(c: Any, table: str, count: int) -> int:
    """The position before the ``count`` events just inserted. SQLite gives a row without a
    rowid the one past the largest (as it did the library's insert, row by row), so under
    the write lock they hold the last ``count`` positions, in their order; checked (the
    positions next to the largest are all taken), since a gap would mislink the chain."""
    c.execute(f"SELECT MAX(rowid) FROM {table}")
    before = int(c.fetchone()[0]) - count
    c.execute(f"SELECT COUNT(*) FROM {table} WHERE rowid > ?", (before,))
    if c.fetchone()[0] != count:
        raise OperationalError(f"{table}: the {count} rows inserted did not get the last rowids")
    return before


LINK_COLUMNS = (
    "position, prev_position, originator_id, originator_version, record_hash, link, stream_link"
)


def _utf8(curs: Any) -> None:
    """``COPY`` data as UTF-8 in this transaction, whatever the session's client encoding
    (``PGCLIENTENCODING``): the rows are UTF-8 bytes (``copy_text``), which the server would
    otherwise take in that encoding and store garbled."""
    curs.execute("SET LOCAL client_encoding TO 'UTF8'")


def _positions(curs: Any, recorder: PostgresLedgerRecorder, count: int) -> list[int]:
    """The next ``count`` positions, drawn under the lock (no other writer draws meanwhile)."""
    # One row holding them all: a row each (as dicts) cost a tenth of the writing.
    curs.execute(
        SQL(
            "SELECT array_agg(nextval(pg_get_serial_sequence(%s, 'notification_id'))) AS p "
            "FROM generate_series(1, %s)"
        ),
        (recorder.events_table.as_string(curs), count),
    )
    row = curs.fetchone()
    assert row is not None
    return sorted(row["p"])


def _copy_text(curs: Any, table: Any, columns: str, data: bytes) -> None:
    with curs.copy(SQL("COPY {} ({}) FROM STDIN").format(table, SQL(columns))) as copy:
        copy.write(data)


def _copy(curs: Any, table: Any, columns: str, rows: list[tuple[Any, ...]]) -> None:
    with curs.copy(SQL("COPY {} ({}) FROM STDIN").format(table, SQL(columns))) as copy:
        for row in rows:
            copy.write_row(row)


def _uuid(value: UUID | str) -> UUID:
    return value if isinstance(value, UUID) else UUID(value)
