"""The audit tables of the SQLite ledger: append-only events, chain links, person keys.

``SQLiteAuditTables`` extends the library's application recorder. In the transaction
that appends events it also writes each event's chain link, stores new personal-data
keys and destroys erased ones. Triggers make the event and link tables refuse UPDATE
and DELETE. SQLite has no privileges: anyone who can write the file can drop a trigger,
so the triggers stop mistakes and the application's own paths; the hash chain and the
seals are what catch a deliberate change.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from typing import Any
from uuid import UUID

from eventsourcing.persistence import StoredEvent
from eventsourcing.sqlite import SQLiteApplicationRecorder, SQLiteCursor

from ledger.domain.errors import IntegrityViolation
from ledger.domain.sealed import KeyChanges
from ledger.integrity.chain import Appended, Link, StreamIds, extend_chain
from ledger.integrity.stored_types import checked_event, checked_link, id_bytes
from ledger.store.names import APPLICATION_ID, CHAIN_LINKS, PERSON_KEYS
from ledger.store.topics import ERASURE_TOPIC


def append_only_triggers(table: str) -> list[str]:
    return [
        f"CREATE TRIGGER IF NOT EXISTS {table}_no_{op.lower()} BEFORE {op} ON {table} "
        f"BEGIN SELECT RAISE(ABORT, '{table} is append-only: {op} refused'); END"
        for op in ("UPDATE", "DELETE")
    ]


def _uuid(value: UUID | str) -> UUID:
    return value if isinstance(value, UUID) else UUID(value)


class SQLiteAuditTables(SQLiteApplicationRecorder):
    """The library's SQLite application recorder with the ledger's audit tables."""

    def construct_create_table_statements(self) -> list[str]:
        return [
            *super().construct_create_table_statements(),
            *append_only_triggers(self.events_table_name),
            f"CREATE TABLE IF NOT EXISTS {CHAIN_LINKS} ("
            "position INTEGER PRIMARY KEY, prev_position INTEGER NOT NULL, "
            "originator_id TEXT NOT NULL, originator_version INTEGER NOT NULL, "
            "record_hash BLOB NOT NULL, link BLOB NOT NULL, stream_link BLOB NOT NULL)",
            f"CREATE UNIQUE INDEX IF NOT EXISTS {CHAIN_LINKS}_stream "
            f"ON {CHAIN_LINKS} (originator_id, originator_version)",
            *append_only_triggers(CHAIN_LINKS),
            f"CREATE TABLE IF NOT EXISTS {PERSON_KEYS} "
            "(key_id TEXT PRIMARY KEY, key BLOB NOT NULL)",
            # Only the erasure events: every write-open reads them (``erasure_states``).
            f"CREATE INDEX IF NOT EXISTS {self.events_table_name}_erasures "
            f"ON {self.events_table_name} (originator_id) WHERE topic = '{ERASURE_TOPIC}'",
        ]

    def create_table(self) -> None:
        super().create_table()
        self._adopt_existing_events()

    def _create_table(self, c: SQLiteCursor) -> None:
        c.execute(
            "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?",
            (self.events_table_name,),
        )
        fresh = c.fetchone() is None
        super()._create_table(c)
        if fresh:  # marked in the transaction that creates the tables, never afterwards
            c.execute(f"PRAGMA application_id = {APPLICATION_ID}")

    def _insert_events(
        self, c: SQLiteCursor, stored_events: Sequence[StoredEvent], **kwargs: Any
    ) -> Sequence[int] | None:
        self.write_keys(c, kwargs.get("keys"))
        ids = super()._insert_events(c, stored_events, **kwargs)
        if ids:
            appended = [
                Appended(p, _uuid(s.originator_id), s.originator_version, s.topic, s.state)
                for p, s in zip(ids, stored_events, strict=True)
            ]
            self._write_links(c, appended)
        return ids

    def write_keys(self, c: SQLiteCursor, changes: KeyChanges | None) -> None:
        """A write's first step: the keys it makes and destroys."""
        # Freed space is zeroed, so a destroyed key leaves no copy in the file's free pages.
        c.execute("PRAGMA secure_delete=ON")
        if changes:
            c.executemany(
                f"INSERT INTO {PERSON_KEYS} VALUES (?, ?)",
                [(k.key_id, k.key) for k in changes.new],
            )
            c.executemany(
                f"DELETE FROM {PERSON_KEYS} WHERE key_id = ?", [(k,) for k in changes.destroyed]
            )

    def chain_ends(
        self, c: SQLiteCursor, streams: Sequence[str]
    ) -> tuple[tuple[int, bytes] | None, dict[str, bytes]]:
        """The log chain's last link and the last stream link of each of ``streams`` (ids as
        stored: hex text), by stream (one query per 500 streams; the bulk writer asks it too)."""
        c.execute(f"SELECT position, link FROM {CHAIN_LINKS} ORDER BY position DESC LIMIT 1")
        row = c.fetchone()
        last = None if row is None else (row[0], bytes(row[1]))
        heads: dict[str, bytes] = {}
        for start in range(0, len(streams), 500):
            chunk = list(streams[start : start + 500])
            # SQLite takes a bare column of a ``MAX`` aggregate from the row holding the maximum.
            c.execute(
                f"SELECT originator_id, stream_link, MAX(originator_version) FROM {CHAIN_LINKS} "
                f"WHERE originator_id IN ({','.join('?' * len(chunk))}) GROUP BY originator_id",
                chunk,
            )
            heads.update((r[0], bytes(r[1])) for r in c.fetchall())
        return last, heads

    def insert_links(self, c: SQLiteCursor, links: Iterable[tuple[Any, ...]]) -> None:
        """Chain links as rows: (position, previous position, originator id as hex text,
        version, record hash, link, stream link)."""
        c.executemany(f"INSERT INTO {CHAIN_LINKS} VALUES (?, ?, ?, ?, ?, ?, ?)", links)

    def _write_links(self, c: SQLiteCursor, appended: list[Appended]) -> None:
        last, heads = self.chain_ends(c, list({a.originator_id.hex for a in appended}))
        links = extend_chain(last, {UUID(i): h for i, h in heads.items()}, appended)
        self.insert_links(
            c,
            [
                (
                    k.position,
                    k.prev_position,
                    k.originator_id.hex,
                    k.version,
                    k.record_hash,
                    k.link,
                    k.stream_link,
                )
                for k in links
            ],
        )

    def _adopt_existing_events(self) -> None:
        """Link the events of a ledger created before the chain existed (once, at adoption)."""
        with self.datastore.transaction(commit=True) as c:
            c.execute(f"SELECT 1 FROM {CHAIN_LINKS} LIMIT 1")
            if c.fetchone() is not None:
                return
            c.execute(f"SELECT rowid, * FROM {self.events_table_name} ORDER BY rowid")
            appended = [Appended(r[0], UUID(r[1]), r[2], r[3], bytes(r[4])) for r in c.fetchall()]
            if appended:
                self._write_links(c, appended)

    # ------------------------------------------------------------------ reading

    def scan_events(self, after: int, limit: int) -> list[Appended]:
        with self.datastore.transaction(commit=False) as c:
            c.execute(
                f"SELECT rowid, originator_id, originator_version, topic, state "
                f"FROM {self.events_table_name} WHERE rowid > ? ORDER BY rowid LIMIT ?",
                (after, limit),
            )
            return [Appended(r[0], UUID(r[1]), r[2], r[3], bytes(r[4])) for r in c.fetchall()]

    def scan_event_rows(self, after: int, limit: int) -> list[tuple[Any, ...]]:
        """(position, originator id bytes, version, topic, state): the verifier's fast path."""
        with self.datastore.transaction(commit=False) as c:
            c.execute(
                f"SELECT rowid, originator_id, originator_version, topic, state "
                f"FROM {self.events_table_name} WHERE rowid > ? ORDER BY rowid LIMIT ?",
                (after, limit),
            )
            # A value of another type is passed on as it is, for the verifier to name.
            return [(r[0], id_bytes(r[1]), r[2], r[3], r[4]) for r in c.fetchall()]

    def scan_link_rows(self, after: int, limit: int) -> list[tuple[Any, ...]]:
        """(position, previous position, originator id bytes, version, record hash, link,
        stream link)."""
        with self.datastore.transaction(commit=False) as c:
            c.execute(
                f"SELECT * FROM {CHAIN_LINKS} WHERE position > ? ORDER BY position LIMIT ?",
                (after, limit),
            )
            return [(r[0], r[1], id_bytes(r[2]), *r[3:]) for r in c.fetchall()]

    def stream_events(self, originator_id: UUID) -> list[Appended]:
        """One complaint's events (what verify and the seals read): an event stored with a
        value of another type is an ``IntegrityViolation`` naming its position."""
        with self.datastore.transaction(commit=False) as c:
            c.execute(
                f"SELECT rowid, originator_id, originator_version, topic, state "
                f"FROM {self.events_table_name} WHERE originator_id = ? ORDER BY rowid",
                (originator_id.hex,),
            )
            rows = c.fetchall()
        for r in rows:
            checked_event(r[0], (id_bytes(r[1]), *r[2:]))
        return [Appended(r[0], UUID(r[1]), r[2], r[3], r[4]) for r in rows]

    def range_events(
        self, low: UUID | None, high: UUID | None, upto: int, size: int = 2000
    ) -> Iterator[Appended]:
        """The events at or before ``upto`` of the streams whose id is at least ``low`` and
        below ``high`` (None: no bound), stream by stream, each in order (a sharded
        rebuild's work): pages of about ``size`` rows in the order of the events' primary
        key, each page a short read of its own, so that no snapshot is held for the whole
        walk (one would keep SQLite from checkpointing what the rebuild writes meanwhile).
        A page ends before its last stream, which the next page starts with."""
        query = (
            f"SELECT rowid, originator_id, originator_version, topic, state "
            f"FROM {self.events_table_name} WHERE rowid <= ? AND originator_id >= ?"
            + ("" if high is None else " AND originator_id < ?")
            + " ORDER BY originator_id, originator_version LIMIT ?"
        )
        start, limit = "" if low is None else low.hex, size
        ids = StreamIds()
        while True:
            params = (upto, start, *(() if high is None else (high.hex,)), limit)
            with self.datastore.transaction(commit=False) as c:
                c.execute(query, params)
                rows = c.fetchall()
            if len(rows) < limit:  # the last page
                yield from (Appended(r[0], ids(r[1]), r[2], r[3], bytes(r[4])) for r in rows)
                return
            last = rows[-1][1]
            whole = [r for r in rows if r[1] != last]
            if not whole:  # one stream longer than a page: a longer page
                limit *= 2
                continue
            yield from (Appended(r[0], ids(r[1]), r[2], r[3], bytes(r[4])) for r in whole)
            start, limit = last, size

    def _links(self, where: str, params: tuple[Any, ...]) -> list[Link]:
        with self.datastore.transaction(commit=False) as c:
            c.execute(f"SELECT * FROM {CHAIN_LINKS} {where}", params)
            rows = c.fetchall()
        for r in rows:
            checked_link(r[0], (r[1], id_bytes(r[2]), *r[3:]))
        return [Link(r[0], r[1], UUID(r[2]), r[3], r[4], r[5], r[6]) for r in rows]

    def scan_links(self, after: int, limit: int) -> list[Link]:
        return self._links("WHERE position > ? ORDER BY position LIMIT ?", (after, limit))

    def stream_links(self, originator_id: UUID) -> list[Link]:
        return self._links(
            "WHERE originator_id = ? ORDER BY originator_version", (originator_id.hex,)
        )

    def link_at(self, position: int) -> Link | None:
        found = self._links("WHERE position = ?", (position,))
        return found[0] if found else None

    def chain_summary(self) -> tuple[int, int, int, int]:
        """(events, last event position, links, last link position)."""
        with self.datastore.transaction(commit=False) as c:
            c.execute(f"SELECT COUNT(*), COALESCE(MAX(rowid), 0) FROM {self.events_table_name}")
            events, last_event = c.fetchone()
            c.execute(f"SELECT COUNT(*), COALESCE(MAX(position), 0) FROM {CHAIN_LINKS}")
            links, last_link = c.fetchone()
        return events, last_event, links, last_link

    def stream_heads(self, upto: int) -> list[tuple[UUID, int, bytes]]:
        """Each complaint's last link at or before ``upto``, sorted by originator id."""
        heads: dict[str, tuple[int, bytes]] = {}
        with self.datastore.transaction(commit=False) as c:
            c.execute(
                f"SELECT originator_id, originator_version, stream_link FROM {CHAIN_LINKS} "
                "WHERE position <= ? ORDER BY originator_id, originator_version",
                (upto,),
            )
            for oid, version, head in c.fetchall():
                heads[oid] = (version, bytes(head))
        return [(UUID(oid), v, h) for oid, (v, h) in sorted(heads.items())]

    def person_keys(self, key_ids: Sequence[str]) -> dict[str, bytes]:
        if not key_ids:
            return {}
        with self.datastore.transaction(commit=False) as c:
            c.execute(
                f"SELECT key_id, key FROM {PERSON_KEYS} "
                f"WHERE key_id IN ({','.join('?' * len(key_ids))})",
                list(key_ids),
            )
            rows = c.fetchall()
        for key_id, key in rows:
            if type(key) is not bytes:  # SQLite keeps the type it was written with
                kind = "text" if isinstance(key, str) else type(key).__name__
                raise IntegrityViolation(
                    f"the key of the complainant's personal data ({key_id}) is stored as "
                    f"{kind}, not as the ledger writes it: it was changed outside the ledger"
                )
        return {r[0]: r[1] for r in rows}

    def erasure_states(self) -> list[bytes]:
        """The stored state of every erasure event (through the partial index)."""
        with self.datastore.transaction(commit=False) as c:
            c.execute(f"SELECT state FROM {self.events_table_name} WHERE topic = '{ERASURE_TOPIC}'")
            return [bytes(r[0]) for r in c.fetchall()]

    def destroy_keys(self, key_ids: Sequence[str]) -> None:
        """Delete keys an erasure destroyed that came back (``Ledger.reapply_erasures``)."""
        with self.datastore.transaction(commit=True) as c:
            c.execute("PRAGMA secure_delete=ON")
            c.executemany(f"DELETE FROM {PERSON_KEYS} WHERE key_id = ?", [(k,) for k in key_ids])

    def purge_destroyed(self) -> None:
        """Move committed pages into the file and empty the write-ahead log, so a destroyed
        key survives in neither."""
        with self.datastore.get_connection(commit=True) as conn:
            cursor = conn.cursor()
            cursor.execute("PRAGMA wal_checkpoint(TRUNCATE)")
