"""The audit tables of the PostgreSQL ledger: append-only events, chain links, person keys.

``PostgresAuditTables`` extends the library's application recorder. The library inserts
events under an EXCLUSIVE lock on the event table, so positions commit in order; the
chain links of the inserted events are written inside that same locked transaction, right
after the insert returns their positions. A trigger refuses UPDATE, DELETE and TRUNCATE on
the event and link tables; only the tables' owner (or a superuser) can disable it, which is
what ``sql/roles.sql`` keeps the application's own roles from being.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator, Sequence
from typing import Any
from uuid import UUID

import psycopg
from eventsourcing.persistence import StoredEvent
from eventsourcing.postgres import PostgresApplicationRecorder, PostgresDatastore
from psycopg.rows import DictRow, tuple_row
from psycopg.sql import SQL, Composed, Identifier, Literal

from ledger.domain.errors import StoreUnavailable
from ledger.domain.sealed import KeyChanges
from ledger.integrity.chain import Appended, Link, StreamIds, extend_chain
from ledger.store.names import CHAIN_LINKS, DB_FUNCTIONS, PERSON_KEYS, STORED_EVENTS
from ledger.store.topics import ERASURE_TOPIC

REFUSE_FUNCTION = "complaint_ledger_refuse_change"
MAX_IDENTIFIER = 63  # bytes of a name PostgreSQL keeps (NAMEDATALEN - 1)
# The library's switch to insert events through a database function (DB_FUNCTIONS). That
# path returns before the recorder's own statements, so the events it appends would have no
# chain link, no command-log entry and no personal-data key: a ledger never takes it.
DB_FUNCTIONS_REFUSED = (
    "the ledger refuses the library's database-function insert path, which skips its hash "
    "chain, command log and personal-data keys"
)


def ledger_channel(schema: str, table_channel: str) -> str:
    """The ledger's LISTEN/NOTIFY channel: the library's, named after the event table, with
    the schema. Channels belong to the database, so with the table's name alone an append to
    any ledger of the database woke the followers of all the others (a pass each). A name
    longer than PostgreSQL keeps (63 bytes) ends in a digest of the schema instead."""
    name = f"{schema}_{table_channel}"
    if len(name.encode()) <= MAX_IDENTIFIER:
        return name
    digest = hashlib.sha256(schema.encode()).hexdigest()[:16]
    return f"{table_channel.encode()[: MAX_IDENTIFIER - 17].decode(errors='ignore')}_{digest}"


def _uuid(value: UUID | str) -> UUID:
    return value if isinstance(value, UUID) else UUID(value)


class PostgresAuditTables(PostgresApplicationRecorder):
    """The library's PostgreSQL application recorder with the ledger's audit tables."""

    def __init__(
        self,
        datastore: PostgresDatastore,
        *,
        events_table_name: str = STORED_EVENTS,
        **kwargs: Any,
    ):
        if datastore.enable_db_functions:  # however it was switched on (see open_ledger)
            raise StoreUnavailable(f"{DB_FUNCTIONS}: {DB_FUNCTIONS_REFUSED}")
        super().__init__(datastore, events_table_name=events_table_name, **kwargs)
        self.channel_name = ledger_channel(self.datastore.schema, self.channel_name)
        schema = Identifier(self.datastore.schema)
        self.events_table = SQL("{}.{}").format(schema, Identifier(events_table_name))
        self.chain_links = SQL("{}.{}").format(schema, Identifier(CHAIN_LINKS))
        self.person_keys_table = SQL("{}.{}").format(schema, Identifier(PERSON_KEYS))
        # Positions are matched to events by identity, not by the order RETURNING gives.
        self.insert_events_statement += SQL(", originator_id, originator_version")
        refuse = SQL("{}.{}").format(schema, Identifier(REFUSE_FUNCTION))
        self.sql_create_statements += [
            SQL(
                "CREATE OR REPLACE FUNCTION {}() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
                "RAISE EXCEPTION '% on %.% refused: the table is append-only', "
                "TG_OP, TG_TABLE_SCHEMA, TG_TABLE_NAME; END $$"
            ).format(refuse),
            SQL(
                "CREATE TABLE IF NOT EXISTS {} ("
                "position bigint PRIMARY KEY, prev_position bigint NOT NULL, "
                "originator_id uuid NOT NULL, originator_version bigint NOT NULL, "
                "record_hash bytea NOT NULL, link bytea NOT NULL, stream_link bytea NOT NULL, "
                "UNIQUE (originator_id, originator_version))"
            ).format(self.chain_links),
            SQL(
                "CREATE TABLE IF NOT EXISTS {} (key_id text PRIMARY KEY, key bytea NOT NULL)"
            ).format(self.person_keys_table),
            *self._append_only(self.events_table, refuse),
            *self._append_only(self.chain_links, refuse),
            # Only the erasure events: every write-open reads them (``erasure_states``).
            SQL("CREATE INDEX IF NOT EXISTS {} ON {} (notification_id) WHERE topic = {}").format(
                Identifier(f"{events_table_name}_erasures"),
                self.events_table,
                Literal(ERASURE_TOPIC),
            ),
        ]

    @staticmethod
    def _append_only(table: Composed, refuse: Composed) -> list[Composed]:
        # Trigger names are per table, so short fixed names never collide or get truncated.
        return [
            SQL(
                "CREATE OR REPLACE TRIGGER {} BEFORE UPDATE OR DELETE ON {} "
                "FOR EACH ROW EXECUTE FUNCTION {}()"
            ).format(Identifier("append_only"), table, refuse),
            SQL(
                "CREATE OR REPLACE TRIGGER {} BEFORE TRUNCATE ON {} "
                "FOR EACH STATEMENT EXECUTE FUNCTION {}()"
            ).format(Identifier("no_truncate"), table, refuse),
        ]

    def create_table(self) -> None:
        super().create_table()
        self._adopt_existing_events()

    def _insert_events(
        self, curs: psycopg.Cursor[DictRow], stored_events: Sequence[StoredEvent], **kwargs: Any
    ) -> None:
        super()._insert_events(curs, stored_events, **kwargs)
        changes: KeyChanges | None = kwargs.get("keys")
        if changes and changes.new:
            curs.execute(
                SQL("INSERT INTO {} SELECT * FROM unnest(%s::text[], %s::bytea[])").format(
                    self.person_keys_table
                ),
                ([k.key_id for k in changes.new], [k.key for k in changes.new]),
            )
        if changes and changes.destroyed:
            curs.execute(
                SQL("DELETE FROM {} WHERE key_id = ANY(%s)").format(self.person_keys_table),
                (changes.destroyed,),
            )

    def _fetch_ids_after_insert_events(
        self, curs: psycopg.Cursor[DictRow], stored_events: Sequence[StoredEvent], **kwargs: Any
    ) -> Sequence[int] | None:
        rows = curs.fetchall()
        positions = {
            (r["originator_id"], r["originator_version"]): r["notification_id"] for r in rows
        }
        appended = [
            Appended(
                positions[(_uuid(s.originator_id), s.originator_version)],
                _uuid(s.originator_id),
                s.originator_version,
                s.topic,
                s.state,
            )
            for s in stored_events
        ]
        self._write_links(curs, appended)
        return [r["notification_id"] for r in rows]

    def chain_ends(
        self, curs: psycopg.Cursor[Any], streams: list[UUID]
    ) -> tuple[tuple[int, bytes] | None, dict[UUID, bytes]]:
        """The log chain's last link and the last stream link of each of ``streams`` (what
        ``extend_chain`` goes on from; the bulk writer asks it too)."""
        curs.execute(
            SQL("SELECT position, link FROM {} ORDER BY position DESC LIMIT 1").format(
                self.chain_links
            )
        )
        row = curs.fetchone()
        last = None if row is None else (row["position"], bytes(row["link"]))
        curs.execute(
            SQL(
                "SELECT DISTINCT ON (originator_id) originator_id, stream_link FROM {} "
                "WHERE originator_id = ANY(%s) ORDER BY originator_id, originator_version DESC"
            ).format(self.chain_links),
            (streams,),
        )
        return last, {r["originator_id"]: bytes(r["stream_link"]) for r in curs.fetchall()}

    def _write_links(self, curs: psycopg.Cursor[Any], appended: list[Appended]) -> None:
        last, heads = self.chain_ends(curs, list({a.originator_id for a in appended}))
        links = extend_chain(last, heads, appended)
        # Each column travels as one comma-separated text, split by the server: psycopg dumps
        # a Python list element by element, which costs more than the split (docs/performance.md).
        # COPY would be cheaper still, but the library runs this insert in a pipeline.
        curs.execute(
            SQL(
                "INSERT INTO {} SELECT p, q, o, v, decode(r, 'hex'), decode(l, 'hex'), "
                "decode(s, 'hex') FROM unnest(string_to_array(%s, ',')::bigint[], "
                "string_to_array(%s, ',')::bigint[], string_to_array(%s, ',')::uuid[], "
                "string_to_array(%s, ',')::bigint[], string_to_array(%s, ','), "
                "string_to_array(%s, ','), string_to_array(%s, ',')) AS t(p, q, o, v, r, l, s)"
            ).format(self.chain_links),
            (
                ",".join([str(k.position) for k in links]),
                ",".join([str(k.prev_position) for k in links]),
                ",".join([str(k.originator_id) for k in links]),
                ",".join([str(k.version) for k in links]),
                ",".join([k.record_hash.hex() for k in links]),
                ",".join([k.link.hex() for k in links]),
                ",".join([k.stream_link.hex() for k in links]),
            ),
        )

    def _adopt_existing_events(self) -> None:
        """Link the events of a ledger created before the chain existed (once, at adoption)."""
        with self.datastore.transaction(commit=True) as curs:
            curs.execute(SQL("SELECT 1 FROM {} LIMIT 1").format(self.chain_links))
            if curs.fetchone() is not None:
                return
            self._lock_table(curs)
            curs.execute(SQL("SELECT 1 FROM {} LIMIT 1").format(self.chain_links))
            if curs.fetchone() is not None:
                return
            curs.execute(
                SQL(
                    "SELECT notification_id, originator_id, originator_version, topic, state "
                    "FROM {} ORDER BY notification_id"
                ).format(self.events_table)
            )
            appended = [Appended(*_event_row(r)) for r in curs.fetchall()]
            if appended:
                self._write_links(curs, appended)

    # ------------------------------------------------------------------ reading

    def _select(self, query: Composed, params: Sequence[Any]) -> list[tuple[Any, ...]]:
        with self.datastore.get_connection() as conn, conn.cursor(row_factory=tuple_row) as c:
            c.execute(query, params)
            return c.fetchall()

    def _events(self, where: str, params: Sequence[Any]) -> list[Appended]:
        query = SQL(
            "SELECT notification_id, originator_id, originator_version, topic, state FROM {} "
        ).format(self.events_table) + SQL(where)
        return [Appended(r[0], r[1], r[2], r[3], bytes(r[4])) for r in self._select(query, params)]

    def scan_events(self, after: int, limit: int) -> list[Appended]:
        return self._events(
            "WHERE notification_id > %s ORDER BY notification_id LIMIT %s", (after, limit)
        )

    def scan_event_rows(self, after: int, limit: int) -> list[tuple[Any, ...]]:
        """(position, originator id bytes, version, topic, state): the verifier's fast path."""
        query = SQL(
            "SELECT notification_id, uuid_send(originator_id), originator_version, topic, state "
            "FROM {} WHERE notification_id > %s ORDER BY notification_id LIMIT %s"
        ).format(self.events_table)
        return self._select(query, (after, limit))

    def scan_link_rows(self, after: int, limit: int) -> list[tuple[Any, ...]]:
        """(position, previous position, originator id bytes, version, record hash, link,
        stream link)."""
        query = SQL(
            "SELECT position, prev_position, uuid_send(originator_id), originator_version, "
            "record_hash, link, stream_link FROM {} WHERE position > %s ORDER BY position "
            "LIMIT %s"
        ).format(self.chain_links)
        return self._select(query, (after, limit))

    def stream_events(self, originator_id: UUID) -> list[Appended]:
        return self._events("WHERE originator_id = %s ORDER BY notification_id", (originator_id,))

    def range_events(
        self, low: UUID | None, high: UUID | None, upto: int, size: int = 2000
    ) -> Iterator[Appended]:
        """The events at or before ``upto`` of the streams whose id is at least ``low`` and
        below ``high`` (None: no bound), stream by stream, each in order: one query, on the
        events' primary key, read ``size`` rows at a time (a sharded rebuild's work)."""
        where, params = ["notification_id <= %s"], list[Any]([upto])
        if low is not None:
            where.append("originator_id >= %s")
            params.append(low)
        if high is not None:
            where.append("originator_id < %s")
            params.append(high)
        query = SQL(
            "SELECT notification_id, originator_id::text, originator_version, topic, state FROM {} "
            "WHERE " + " AND ".join(where) + " ORDER BY originator_id, originator_version"
        ).format(self.events_table)
        with (
            self.datastore.transaction(commit=False) as curs,
            curs.connection.cursor(name="range_events", row_factory=tuple_row) as server,
        ):
            # The worker folds and writes each chunk between two fetches: on a loaded machine
            # that may outlast the library's idle-in-transaction limit (5 s), which would end
            # the session. This transaction only reads, and holds no lock a writer waits for.
            curs.execute("SET LOCAL idle_in_transaction_session_timeout = 0")
            server.itersize = size
            server.execute(query, params)
            # The id as text, made a UUID once per stream (not once per event).
            ids = StreamIds()
            while rows := server.fetchmany(size):
                yield from (Appended(r[0], ids(r[1]), r[2], r[3], bytes(r[4])) for r in rows)

    def _links(self, where: str, params: Sequence[Any]) -> list[Link]:
        query = SQL("SELECT * FROM {} ").format(self.chain_links) + SQL(where)
        return [
            Link(r[0], r[1], r[2], r[3], bytes(r[4]), bytes(r[5]), bytes(r[6]))
            for r in self._select(query, params)
        ]

    def scan_links(self, after: int, limit: int) -> list[Link]:
        return self._links("WHERE position > %s ORDER BY position LIMIT %s", (after, limit))

    def stream_links(self, originator_id: UUID) -> list[Link]:
        return self._links("WHERE originator_id = %s ORDER BY originator_version", (originator_id,))

    def link_at(self, position: int) -> Link | None:
        found = self._links("WHERE position = %s", (position,))
        return found[0] if found else None

    def chain_summary(self) -> tuple[int, int, int, int]:
        """(events, last event position, links, last link position)."""
        query = SQL(
            "SELECT (SELECT COUNT(*) FROM {0}), "
            "(SELECT COALESCE(MAX(notification_id), 0) FROM {0}), "
            "(SELECT COUNT(*) FROM {1}), (SELECT COALESCE(MAX(position), 0) FROM {1})"
        ).format(self.events_table, self.chain_links)
        events, last_event, links, last_link = self._select(query, ())[0]
        return events, last_event, links, last_link

    def stream_heads(self, upto: int) -> list[tuple[UUID, int, bytes]]:
        """Each complaint's last link at or before ``upto``, sorted by originator id."""
        query = SQL(
            "SELECT DISTINCT ON (originator_id) originator_id, originator_version, stream_link "
            "FROM {} WHERE position <= %s ORDER BY originator_id, originator_version DESC"
        ).format(self.chain_links)
        rows = [(r[0], r[1], bytes(r[2])) for r in self._select(query, (upto,))]
        return sorted(rows, key=lambda r: r[0].bytes)

    def person_keys(self, key_ids: Sequence[str]) -> dict[str, bytes]:
        if not key_ids:
            return {}
        query = SQL("SELECT key_id, key FROM {} WHERE key_id = ANY(%s)").format(
            self.person_keys_table
        )
        return {r[0]: bytes(r[1]) for r in self._select(query, (list(key_ids),))}

    def erasure_states(self) -> list[bytes]:
        """The stored state of every erasure event (through the partial index)."""
        query = SQL("SELECT state FROM {} WHERE topic = {}").format(
            self.events_table, Literal(ERASURE_TOPIC)
        )
        return [bytes(r[0]) for r in self._select(query, ())]

    def destroy_keys(self, key_ids: Sequence[str]) -> None:
        """Delete keys an erasure destroyed that came back (``Ledger.reapply_erasures``)."""
        with self.datastore.transaction(commit=True) as curs:
            curs.execute(
                SQL("DELETE FROM {} WHERE key_id = ANY(%s)").format(self.person_keys_table),
                (list(key_ids),),
            )

    def purge_destroyed(self) -> None:
        """Reclaim the dead rows of destroyed keys (best effort: needs the table's owner)."""
        with self.datastore.get_connection() as conn:
            conn.execute(SQL("VACUUM {}").format(self.person_keys_table))


def _event_row(row: Any) -> tuple[int, UUID, int, str, bytes]:
    return (
        row["notification_id"],
        row["originator_id"],
        row["originator_version"],
        row["topic"],
        bytes(row["state"]),
    )
