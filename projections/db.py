"""The read models' tables, in the ledger's own database (SQLite or PostgreSQL).

One small adapter hides the two dialects: SQL is written with ``?`` placeholders and
``{table}`` names; on PostgreSQL the placeholders become ``%s`` and table names are
qualified with the ledger's schema. Transactions come from the library's own datastore,
so read-model rows and projection positions commit together.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from eventsourcing.postgres import PostgresDatastore
    from eventsourcing.sqlite import SQLiteCursor, SQLiteDatastore

    from ledger.store.root import Ledger

_PLACEHOLDER = re.compile(r"\?")
_STREAMS = itertools.count(1)  # server-side cursors' names, unique in the process


def quoted(*names: str) -> str:
    """Names as one SQL identifier, quoted (``"schema"."table"``): the same rule on both
    backends, so no name can end the identifier and start a statement of its own (psycopg's
    ``Identifier`` rule, written out so that a SQLite read need not load psycopg)."""
    return ".".join('"' + name.replace('"', '""') + '"' for name in names)


class Cursor:
    """A cursor of either backend that returns rows as dicts."""

    def __init__(self, raw: Any, postgres: bool, names: dict[str, str]) -> None:
        self.raw, self.postgres, self.names = raw, postgres, names

    def sql(self, statement: str) -> str:
        statement = statement.format(**self.names)
        return _PLACEHOLDER.sub("%s", statement) if self.postgres else statement

    def execute(self, statement: str, params: Sequence[Any] = ()) -> Cursor:
        self.raw.execute(self.sql(statement), params)
        return self

    def executemany(self, statement: str, rows: Sequence[Sequence[Any]]) -> None:
        if rows:
            self.raw.executemany(self.sql(statement), rows)

    def insert(
        self,
        table: str,
        columns: Sequence[str],
        rows: Sequence[Sequence[Any]],
        conflict: str | None = None,
        update: Sequence[str] = (),
    ) -> None:
        """Insert many rows; with ``conflict`` (the key), update ``update`` columns instead.

        SQLite takes them through executemany (a C loop); PostgreSQL through COPY (into a
        scratch table first, for upserts), because its executemany is one statement per row.
        """
        if not rows:
            return
        names = ", ".join(columns)
        tail = ""
        if conflict is not None:
            sets = ", ".join(f"{c} = excluded.{c}" for c in update)
            tail = f" ON CONFLICT ({conflict}) DO " + (f"UPDATE SET {sets}" if sets else "NOTHING")
        target = "{" + table + "}"
        if not self.postgres:
            marks = ", ".join("?" * len(columns))
            self.raw.executemany(
                self.sql(f"INSERT INTO {target} ({names}) VALUES ({marks}){tail}"), rows
            )
            return
        if conflict is None:
            with self.raw.copy(self.sql(f"COPY {target} ({names}) FROM STDIN")) as copy:
                for row in rows:
                    copy.write_row(row)
            return
        # An upsert: COPY into a scratch table that lives for this transaction, then merge.
        scratch = quoted(f"scratch_{table}")
        self.raw.execute(self.sql(f"CREATE TEMP TABLE {scratch} (LIKE {target}) ON COMMIT DROP"))
        with self.raw.copy(f"COPY {scratch} ({names}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)
        self.raw.execute(
            self.sql(f"INSERT INTO {target} ({names}) SELECT {names} FROM {scratch}{tail}")
        )
        self.raw.execute(f"DROP TABLE {scratch}")

    def delete_in(self, table: str, column: str, values: Sequence[Any]) -> None:
        """Delete the rows whose ``column`` is one of ``values``."""
        if not values:
            return
        target = "{" + table + "}"
        if self.postgres:
            self.raw.execute(
                self.sql(f"DELETE FROM {target} WHERE {column} = ANY(?)"), (list(values),)
            )
            return
        for start in range(0, len(values), 500):
            chunk = list(values[start : start + 500])
            marks = ",".join("?" * len(chunk))
            self.raw.execute(self.sql(f"DELETE FROM {target} WHERE {column} IN ({marks})"), chunk)

    @property
    def rowcount(self) -> int:
        return int(self._sqlite.rowcount if not self.postgres else self.raw.rowcount)

    @property
    def _sqlite(self) -> Any:
        """The sqlite3 cursor: the library's cursor wraps one; a lean read holds it bare."""
        return getattr(self.raw, "sqlite_cursor", self.raw)

    @property
    def binary_order(self) -> str:
        """A collation clause that orders text by code point on either backend."""
        return ' COLLATE "C"' if self.postgres else ""

    def tuples(self, statement: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        """Run a query and return its rows as plain tuples (cheaper than dicts for big reads)."""
        target = self.raw if self.postgres else self._sqlite
        factory = target.row_factory
        if self.postgres:
            from psycopg.rows import tuple_row

            target.row_factory = tuple_row
        else:
            target.row_factory = None
        try:
            self.execute(statement, params)
            return list(target.fetchall())
        finally:
            target.row_factory = factory

    def stream(
        self, statement: str, params: Sequence[Any] = (), size: int = 2000
    ) -> Iterator[tuple[Any, ...]]:
        """A query's rows as plain tuples, ``size`` at a time, however many there are: on
        PostgreSQL through a server-side cursor of this transaction (a client-side cursor
        holds every row of the answer in libpq), on SQLite through a cursor of its own (its
        rows are read from the database as they are asked for). Memory stays flat."""
        if self.postgres:
            from psycopg.rows import tuple_row

            name = f"stream_{next(_STREAMS)}"
            with self.raw.connection.cursor(name=name, row_factory=tuple_row) as server:
                server.itersize = size
                server.execute(self.sql(statement), params)
                while rows := server.fetchmany(size):
                    yield from rows
            return
        local = self._sqlite.connection.cursor()
        local.row_factory = None
        try:
            local.execute(self.sql(statement), params)
            while rows := local.fetchmany(size):
                yield from rows
        finally:
            local.close()

    def fetchall(self) -> list[dict[str, Any]]:
        return [dict(row) for row in self.raw.fetchall()]

    def fetchone(self) -> dict[str, Any] | None:
        row = self.raw.fetchone()
        return None if row is None else dict(row)


def _immediate() -> Any:
    """The library's SQLite transaction, holding the write lock from its start. A transaction
    that reads first and writes later fails at once, without waiting, when another
    connection committed in between (SQLite cannot move its snapshot forward): the runner's
    transactions read before they write, while commands append beside them. (A class made on
    first use: the library's SQLite module is loaded only by what writes.)"""
    global _IMMEDIATE
    if _IMMEDIATE is None:
        from eventsourcing.sqlite import SQLiteTransaction

        class Immediate(SQLiteTransaction):
            def __enter__(self) -> SQLiteCursor:
                cursor = self.connection.cursor()
                cursor.execute("BEGIN IMMEDIATE")
                return cursor

        _IMMEDIATE = Immediate
    return _IMMEDIATE


_IMMEDIATE: Any = None


class ReadStore:
    """Where the read models live: the ledger's datastore, and the names of their tables."""

    def __init__(self, ledger: Ledger) -> None:
        from eventsourcing.postgres import PostgresDatastore

        datastore = ledger.recorder.datastore  # type: ignore[attr-defined]
        self.datastore: SQLiteDatastore | PostgresDatastore = datastore
        self.postgres = isinstance(datastore, PostgresDatastore)
        self.schema = datastore.schema if self.postgres else None

    def name(self, table: str) -> str:
        """The table's name as SQL: quoted, and qualified with the schema on PostgreSQL."""
        return quoted(self.schema, table) if self.postgres and self.schema else quoted(table)

    @contextmanager
    def transaction(self, names: dict[str, str], *, commit: bool = True) -> Iterator[Cursor]:
        """A transaction whose SQL may name the tables in ``names`` as ``{table}``; without
        ``commit``, a read that is rolled back."""
        datastore = self.datastore
        if self.postgres or not commit:
            with datastore.transaction(commit=commit) as raw:
                yield Cursor(raw, self.postgres, names)
            return
        from eventsourcing.sqlite import SQLiteDatastore

        assert isinstance(datastore, SQLiteDatastore)
        with (
            datastore.get_connection(commit=True) as conn,
            _immediate()(conn, commit=True) as raw,
            raw,
        ):
            yield Cursor(raw, False, names)

    @contextmanager
    def fast_drops(self, cur: Cursor, mode: str = "FAST") -> Iterator[None]:
        """SQLite: tables dropped meanwhile (read models) leave their pages as they are, not
        zeroed. The ledger's connections zero freed pages (``secure_delete``), so that a
        destroyed key leaves no copy in the file; read models hold no personal data and no
        sealed text (docs/read-models.md), and zeroing a million-event audit trail's pages
        wrote a gigabyte for nothing. Paths that delete keys set ``secure_delete`` themselves.
        ``mode="ON"``: zeroed whatever this build's default (tables that may hold such text)."""
        if self.postgres:
            yield
            return
        before = cur.execute("PRAGMA secure_delete").fetchone()
        cur.execute(f"PRAGMA secure_delete = {'ON' if mode == 'ON' else 'FAST'}")
        try:
            yield
        finally:
            if before is not None:
                cur.execute(f"PRAGMA secure_delete = {int(next(iter(before.values())))}")

    def has_column(self, cur: Cursor, table: str, column: str) -> bool:
        if self.postgres:
            cur.execute(
                "SELECT 1 FROM information_schema.columns WHERE table_schema = ? "
                "AND table_name = ? AND column_name = ?",
                (self.schema or "public", table, column),
            )
            return cur.fetchone() is not None
        cur.execute("SELECT 1 FROM pragma_table_info(?) WHERE name = ?", (table, column))
        return cur.fetchone() is not None

    def table_exists(self, cur: Cursor, table: str) -> bool:
        if self.postgres:
            cur.execute("SELECT to_regclass(?) AS t", (self.name(table),))
            row = cur.fetchone()
            return row is not None and row["t"] is not None
        cur.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", (table,))
        return cur.fetchone() is not None
