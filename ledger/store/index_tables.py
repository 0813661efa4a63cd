"""The recorders' side of the blind index and the links (``ledger.store.blind_index``).

Rows are written in the transaction that appends the events (``write_*``, called from the
recorders' ``_insert_events``); the rest reads the secret, and removes, adds or replaces rows
outside an append: ``reapply_erasures`` and the operator's backfill (``index backfill``), which
also files again the rows a change of normalisation made stale.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any

from psycopg.rows import tuple_row
from psycopg.sql import SQL, Identifier

from ledger.domain.sealed import IndexEntry, KeyChanges
from ledger.store.blind_index import (
    COMPLAINANT_INDEX,
    COMPLAINT_LINKS,
    INDEX_SECRET,
    SECRET_BYTES,
    index_rows,
    link_rows,
)
from ledger.store.names import PERSON_KEYS


class SQLiteIndexTables:
    """Blind-index and link rows on SQLite (a mixin of ``SQLiteLedgerRecorder``)."""

    datastore: Any

    def write_index(self, c: Any, changes: KeyChanges | None) -> None:
        if not changes:
            return
        # Filed before the deletion: a batch that receives and erases a complaint files its
        # digests and then takes them out with its key.
        c.executemany(
            f"INSERT INTO {COMPLAINANT_INDEX} VALUES (?, ?, ?, ?, ?)", index_rows(changes.index)
        )
        c.executemany(
            f"DELETE FROM {COMPLAINANT_INDEX} WHERE key_id = ?", [(k,) for k in changes.destroyed]
        )
        c.executemany(f"INSERT INTO {COMPLAINT_LINKS} VALUES (?, ?, ?)", link_rows(changes.links))

    def index_secret(self) -> bytes:
        """The ledger's index secret, made (once, by whichever writer comes first) when
        first needed.

        Made in a transaction of its own whose first statement writes: one that read the
        empty table first would, behind another writer making it, wait for the write lock
        and then fail, since SQLite cannot move a transaction's read forward past another's
        commit. Writing first, it waits for the lock, and its insert is ignored if the other
        made the secret meanwhile; both then read the one secret."""
        with self.datastore.transaction(commit=False) as c:
            c.execute(f"SELECT secret FROM {INDEX_SECRET} WHERE id = 1")
            row = c.fetchone()
        if row is None:
            with self.datastore.transaction(commit=True) as c:
                c.execute(
                    f"INSERT OR IGNORE INTO {INDEX_SECRET} VALUES (1, ?)",
                    (os.urandom(SECRET_BYTES),),
                )
                c.execute(f"SELECT secret FROM {INDEX_SECRET} WHERE id = 1")
                row = c.fetchone()
        return bytes(row[0])

    def index_digests(self, key_ids: Sequence[str]) -> dict[str, dict[str, str]]:
        """The digests filed under each of ``key_ids`` that has any, by kind (500 at a time)."""
        found: dict[str, dict[str, str]] = {}
        with self.datastore.transaction(commit=False) as c:
            for start in range(0, len(key_ids), 500):
                chunk = list(key_ids[start : start + 500])
                c.execute(
                    f"SELECT key_id, kind, digest FROM {COMPLAINANT_INDEX} "
                    f"WHERE key_id IN ({','.join('?' * len(chunk))})",
                    chunk,
                )
                for key_id, kind, digest in c.fetchall():
                    found.setdefault(key_id, {})[kind] = digest
        return found

    def unindex(self, key_ids: Sequence[str]) -> None:
        """Delete the index rows of ``key_ids`` (erased complaints)."""
        with self.datastore.transaction(commit=True) as c:
            c.execute("PRAGMA secure_delete=ON")
            c.executemany(
                f"DELETE FROM {COMPLAINANT_INDEX} WHERE key_id = ?", [(k,) for k in key_ids]
            )

    def add_index(self, entries: Sequence[IndexEntry]) -> None:
        """Backfill: index rows of complaints received before the index, each only while
        its key is there (an erasure meanwhile keeps it out)."""
        with self.datastore.transaction(commit=True) as c:
            c.executemany(
                f"INSERT OR IGNORE INTO {COMPLAINANT_INDEX} SELECT ?, ?, ?, ?, ? "
                f"WHERE EXISTS (SELECT 1 FROM {PERSON_KEYS} WHERE key_id = ?)",
                [(*row, row[0]) for row in index_rows(entries)],
            )

    def replace_index(self, key_ids: Sequence[str], entries: Sequence[IndexEntry]) -> None:
        """Re-indexing: the rows of ``key_ids`` replaced by ``entries`` in one transaction,
        each only while its key is there (an erasure meanwhile keeps it out)."""
        with self.datastore.transaction(commit=True) as c:
            c.execute("PRAGMA secure_delete=ON")
            c.executemany(
                f"DELETE FROM {COMPLAINANT_INDEX} WHERE key_id = ?", [(k,) for k in key_ids]
            )
            c.executemany(
                f"INSERT OR IGNORE INTO {COMPLAINANT_INDEX} SELECT ?, ?, ?, ?, ? "
                f"WHERE EXISTS (SELECT 1 FROM {PERSON_KEYS} WHERE key_id = ?)",
                [(*row, row[0]) for row in index_rows(entries)],
            )


class PostgresIndexTables:
    """Blind-index and link rows on PostgreSQL (a mixin of ``PostgresLedgerRecorder``)."""

    datastore: Any

    def _name(self, table: str) -> Any:
        return SQL("{}.{}").format(Identifier(self.datastore.schema), Identifier(table))

    def write_index(self, curs: Any, changes: KeyChanges | None) -> None:
        if not changes:
            return
        # One statement of arrays each, not one per row (psycopg's executemany): a bulk
        # load files three digests for each complaint.
        if changes.index:
            columns = list(zip(*index_rows(changes.index), strict=True))
            curs.execute(
                SQL(
                    "INSERT INTO {} SELECT * FROM unnest(%s::text[], %s::text[], %s::text[], "
                    "%s::text[], %s::text[])"
                ).format(self._name(COMPLAINANT_INDEX)),
                [list(c) for c in columns],
            )
        if changes.destroyed:  # after the filing: a batch may receive and erase a complaint
            curs.execute(
                SQL("DELETE FROM {} WHERE key_id = ANY(%s)").format(self._name(COMPLAINANT_INDEX)),
                (list(changes.destroyed),),
            )
        if changes.links:
            columns = list(zip(*link_rows(changes.links), strict=True))
            curs.execute(
                SQL(
                    "INSERT INTO {} SELECT * FROM unnest(%s::text[], %s::text[], %s::text[])"
                ).format(self._name(COMPLAINT_LINKS)),
                [list(c) for c in columns],
            )

    def index_secret(self) -> bytes:
        """The ledger's index secret, made (once, by whichever writer comes first) when
        first needed."""
        table = self._name(INDEX_SECRET)
        select = SQL("SELECT secret FROM {} WHERE id = 1").format(table)
        with self.datastore.transaction(commit=True) as curs:
            curs.execute(select)
            row = curs.fetchone()
            if row is None:
                curs.execute(
                    SQL("INSERT INTO {} VALUES (1, %s) ON CONFLICT (id) DO NOTHING").format(table),
                    (os.urandom(SECRET_BYTES),),
                )
                curs.execute(select)
                row = curs.fetchone()
        return bytes(row["secret"])

    def index_digests(self, key_ids: Sequence[str]) -> dict[str, dict[str, str]]:
        """The digests filed under each of ``key_ids`` that has any, by kind (one query)."""
        found: dict[str, dict[str, str]] = {}
        if not key_ids:
            return found
        with self.datastore.get_connection() as conn, conn.cursor(row_factory=tuple_row) as c:
            c.execute(
                SQL("SELECT key_id, kind, digest FROM {} WHERE key_id = ANY(%s)").format(
                    self._name(COMPLAINANT_INDEX)
                ),
                (list(key_ids),),
            )
            for key_id, kind, digest in c.fetchall():
                found.setdefault(key_id, {})[kind] = digest
        return found

    def unindex(self, key_ids: Sequence[str]) -> None:
        """Delete the index rows of ``key_ids`` (erased complaints)."""
        with self.datastore.transaction(commit=True) as curs:
            curs.execute(
                SQL("DELETE FROM {} WHERE key_id = ANY(%s)").format(self._name(COMPLAINANT_INDEX)),
                (list(key_ids),),
            )

    def add_index(self, entries: Sequence[IndexEntry]) -> None:
        """Backfill: index rows of complaints received before the index, each only while
        its key is there (an erasure meanwhile keeps it out)."""
        with self.datastore.transaction(commit=True) as curs:
            self._hold_keys(curs)
            self._insert_while_keyed(curs, entries)

    def replace_index(self, key_ids: Sequence[str], entries: Sequence[IndexEntry]) -> None:
        """Re-indexing: the rows of ``key_ids`` replaced by ``entries`` in one transaction,
        each only while its key is there (an erasure meanwhile keeps it out)."""
        with self.datastore.transaction(commit=True) as curs:
            self._hold_keys(curs)
            curs.execute(
                SQL("DELETE FROM {} WHERE key_id = ANY(%s)").format(self._name(COMPLAINANT_INDEX)),
                (list(key_ids),),
            )
            self._insert_while_keyed(curs, entries)

    def _hold_keys(self, curs: Any) -> None:
        """Lock the key table against erasures (and receipts) for the rest of the
        transaction. Without it the ``WHERE EXISTS`` below saw a key an erasure had deleted
        but not committed, and the rows filed then outlived the erasure (its DELETE of the
        index rows had run before them). Now the backfill waits for an erasure that deleted
        first and then finds its key gone; an erasure that comes second waits for the
        backfill and then deletes the rows it filed (READ COMMITTED: its next statement sees
        them). A table lock, not ``SELECT ... FOR SHARE`` on the keys: that needs UPDATE on
        the table, which the writer has not (and should not: keys are never rewritten);
        SHARE mode needs DELETE, which it has for erasures. Taken first, before the index
        is touched, so it cannot close a cycle with an erasure; it holds a receipt back only
        for one chunk's transaction. (SQLite: one writer at a time already.)"""
        curs.execute(SQL("LOCK TABLE {} IN SHARE MODE").format(self._name(PERSON_KEYS)))

    def _insert_while_keyed(self, curs: Any, entries: Sequence[IndexEntry]) -> None:
        curs.executemany(
            SQL(
                "INSERT INTO {} SELECT %s, %s, %s, %s, %s WHERE EXISTS "
                "(SELECT 1 FROM {} WHERE key_id = %s) ON CONFLICT DO NOTHING"
            ).format(self._name(COMPLAINANT_INDEX), self._name(PERSON_KEYS)),
            [(*row, row[0]) for row in index_rows(entries)],
        )
