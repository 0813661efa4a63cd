"""One read snapshot for a reader that makes many queries, from several threads.

``verify`` reads the events, the chain links, the command log, the personal-data keys and
the seals, batch by batch, some of it in a thread pool. Read at different moments, a
ledger being written looks tampered with: an import that commits between the read of the
events and the count of the command log leaves entries that no event read bears out.
``read_snapshot`` pins one connection with one read-only transaction open for the whole
of it (SQLite in WAL mode: one ``BEGIN`` and a first read; PostgreSQL: ``REPEATABLE READ
READ ONLY``) and hands that connection to every query of the recorder meanwhile, one at a
time. Writers are not blocked; nothing is written.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager, suppress
from typing import Any

import psycopg
from eventsourcing import persistence
from eventsourcing.sqlite import SQLiteDatastore


def _library_error(e: sqlite3.Error | psycopg.Error) -> persistence.PersistenceError:
    """The driver's error as the library's own datastores raise it (the CLI says those in
    one ``Error:`` line): the class of the same name, the nearest in ``e``'s ancestry."""
    for cls in type(e).__mro__:
        found = getattr(persistence, cls.__name__, None)
        if isinstance(found, type) and issubclass(found, persistence.PersistenceError):
            return found(str(e))
    return persistence.PersistenceError(str(e))


@contextmanager
def _as_library_errors() -> Iterator[None]:
    try:
        yield
    except (sqlite3.Error, psycopg.Error) as e:
        raise _library_error(e) from e


class _Pinned:
    """Stands in for a recorder's datastore: every read goes to the one connection."""

    def __init__(self, real: Any) -> None:
        self.real = real
        self._lock = threading.Lock()
        self._sqlite = isinstance(real, SQLiteDatastore)
        self._held: AbstractContextManager[Any] = (
            real.get_connection(commit=False) if self._sqlite else real.get_connection()
        )
        self.conn = self._held.__enter__()
        try:
            if self._sqlite:
                cursor = self.conn.cursor()
                cursor.execute("BEGIN")
                cursor.execute("SELECT COUNT(*) FROM sqlite_master")  # the snapshot starts here
                cursor.fetchall()
                cursor.sqlite_cursor.close()
            else:
                self.conn.execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
                self.conn.execute("SELECT 1")  # the snapshot is taken by the first query
        except BaseException:
            self._held.__exit__(None, None, None)
            raise

    def __getattr__(self, name: str) -> Any:
        return getattr(self.real, name)

    @contextmanager
    def transaction(self, *, commit: bool = False) -> Iterator[Any]:
        if commit:
            raise RuntimeError("a read snapshot writes nothing")
        with self._lock, _as_library_errors():
            cursor = self.conn.cursor()
            try:
                yield cursor
            finally:
                (cursor.sqlite_cursor if self._sqlite else cursor).close()

    @contextmanager
    def get_connection(self, *, commit: bool = False) -> Iterator[Any]:
        if commit:
            raise RuntimeError("a read snapshot writes nothing")
        with self._lock, _as_library_errors():
            yield self.conn

    def close(self) -> None:
        """End the snapshot and give the connection back; a connection that broke meanwhile
        (its error is already on its way) cannot roll back, and the pool discards it."""
        try:
            with suppress(sqlite3.Error, psycopg.Error):
                if self._sqlite:
                    self.conn.rollback()
                else:
                    self.conn.execute("ROLLBACK")
        finally:
            self._held.__exit__(None, None, None)


@contextmanager
def read_snapshot(recorder: Any) -> Iterator[None]:
    """Every query ``recorder`` makes meanwhile sees the ledger as it was on entry (nested
    uses share the outer snapshot)."""
    real = recorder.datastore
    if isinstance(real, _Pinned):
        yield
        return
    pinned = _Pinned(real)
    recorder.datastore = pinned
    try:
        yield
    finally:
        recorder.datastore = real
        pinned.close()
