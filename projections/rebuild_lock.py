"""One rebuild of a ledger's read models at a time.

A rebuild runs in many transactions (fresh tables, batches, the swap), so no transaction's
lock can keep a second rebuild out of its ``__rebuild`` tables: two at once collided on
the new tables' names, on the rebuild's position, or in the swap (the second found the
rebuilt tables already renamed). So a rebuild holds a lock of its own from start to end. On
PostgreSQL it is a session advisory lock, on a connection of its own that the lock lives
and dies with (a killed rebuild's session ends and frees it). On SQLite it is ``flock`` on a
file beside the database (``<file>-rebuild.lock``): SQLite's own write lock cannot be held
that long, since commands append beside a rebuild and its worker processes write too. The
kernel frees an ``flock`` when its holder dies, whatever the death.

A rebuild that had to wait asks again, once it holds the lock, whether the work is still to
be done (``Runner._upgrade``): a read catching up behind a ``projections run`` then finds the
read models of the current shape, and rebuilds nothing.
"""

from __future__ import annotations

import fcntl
import os
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from projections.db import ReadStore

LOCK_SUFFIX = "-rebuild.lock"


@contextmanager
def rebuild_lock(store: ReadStore) -> Iterator[None]:
    """Hold the ledger's rebuild lock for the block, waiting for another holder to finish."""
    if store.postgres:
        with _advisory(store):
            yield
        return
    with _flock(store):
        yield


@contextmanager
def _advisory(store: ReadStore) -> Iterator[None]:
    import psycopg
    from eventsourcing.postgres import PostgresDatastore

    from projections.schema import POSITIONS

    assert isinstance(store.datastore, PostgresDatastore)
    pool = store.datastore.pool  # the ledger's own connection settings
    conninfo = pool.conninfo if isinstance(pool.conninfo, str) else pool.conninfo()
    kwargs = pool.kwargs if isinstance(pool.kwargs, dict) or pool.kwargs is None else pool.kwargs()
    with psycopg.connect(conninfo, **(kwargs or {}), autocommit=True) as conn:
        # Another rebuild may hold the lock for minutes: wait for it however long it takes
        # (the ledger's connections give up on a lock after 30 s).
        conn.execute("SET lock_timeout = 0")
        conn.execute("SET statement_timeout = 0")
        key = store.name(POSITIONS) + ":rebuild"
        conn.execute("SELECT pg_advisory_lock(hashtext(%s))", (key,))
        yield  # closing the connection frees the lock, also when the block raised


@contextmanager
def _flock(store: ReadStore) -> Iterator[None]:
    db_name: str = store.datastore.pool.db_name  # type: ignore[union-attr]
    if db_name == ":memory:" or db_name.startswith("file:"):  # no file of its own beside it
        yield
        return
    # Beside the file itself, as SQLite's own -wal: one lock whatever link names the file.
    path = os.path.realpath(db_name) + LOCK_SUFFIX
    try:
        held = open(path, "ab")  # noqa: SIM115 (closed below)
    except OSError:
        # A folder this process may not write: nor may it write the database's read
        # models, and the rebuild fails on its own account, without a lock to take.
        yield
        return
    with held:
        fcntl.flock(held.fileno(), fcntl.LOCK_EX)
        yield  # closing the file frees the lock
