"""What opening a ledger to read it needs: a database that already holds a ledger, and, for a
SQLite file this process may not write, a connection that never tries to.

Reading creates nothing: not the ledger's tables (the library would create them on first
use), not a SQLite file where none was. A login that may only read, a session with
``default_transaction_read_only=on``, a hot standby and a read-only SQLite file must all be
able to read.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import psycopg
from psycopg.sql import SQL, Identifier

from ledger.domain.errors import StoreUnavailable
from ledger.store.location import check_sqlite_file, shown


def no_ledger(url: str) -> StoreUnavailable:
    return StoreUnavailable(
        f"there is no ledger at {shown(url)}: nothing has been recorded there yet "
        "(reading creates nothing)"
    )


def sqlite_for_reading(path: str, url: str, read_only: bool = False) -> tuple[str, bool]:
    """The name to give SQLite to read the ledger at ``path``, and whether this process may
    write the file (then the name is ``path`` itself); never, with ``read_only``.

    A file this process may not write is opened read-only; without a write-ahead log beside
    it no writer is connected, and it is opened as immutable, because SQLite would otherwise
    need to create the log's index file in a folder that may not be writable either.
    """
    check_sqlite_file(path)
    file, log = Path(path), Path(path + "-wal")
    if not file.is_file() or (file.stat().st_size == 0 and not log.exists()):
        raise no_ledger(url)
    if not read_only and os.access(file, os.W_OK) and os.access(file.parent, os.W_OK):
        return path, True
    mode = "mode=ro" if log.exists() else "immutable=1"
    return f"{file.absolute().as_uri()}?{mode}", False


def sqlite_has_table(datastore: Any, table: str) -> bool:
    with datastore.transaction(commit=False) as c:
        c.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", (table,))
        return c.fetchone() is not None


def postgres_has_table(conn: psycopg.Connection[Any], schema: str, table: str) -> bool:
    """Whether the table exists, whatever this login may do with it."""
    name = SQL("{}.{}").format(Identifier(schema), Identifier(table)).as_string(conn)
    row = conn.execute("SELECT to_regclass(%s) IS NOT NULL", (name,)).fetchone()
    return bool(row and row[0])
