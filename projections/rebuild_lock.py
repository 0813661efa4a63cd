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

A rebuild that cannot take its lock does not start: one that went on without it could
collide with another as above. On SQLite the lock file cannot be made where the folder may
not be written, and a rebuild could not write the database there either (SQLite makes its
journal beside it), so the rebuild is refused with what the system said. A read that only
reads never gets here (it rebuilds nothing), so it never makes the lock file.

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

from ledger.domain.errors import StoreUnavailable
from ledger.store.location import CONNECT_TIMEOUT_SECONDS, libpq_reason

if TYPE_CHECKING:
    from projections.db import ReadStore

LOCK_SUFFIX = "-rebuild.lock"


@contextmanager
def rebuild_lock(store: ReadStore) -> Iterator[None]:
    """Hold the ledger's rebuild lock for the block, waiting for another holder to finish;
    ``StoreUnavailable`` if the lock cannot be taken (nothing is rebuilt then)."""
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
    # The pool's own timeout bounds its wait for a connection, not libpq's: without
    # ``connect_timeout`` a server that accepts and never answers held the rebuild forever.
    settings = {**(kwargs or {}), "connect_timeout": CONNECT_TIMEOUT_SECONDS}
    try:
        conn = psycopg.connect(conninfo, **settings, autocommit=True)
    except psycopg.OperationalError as e:
        raise StoreUnavailable(
            f"cannot take the rebuild lock: cannot reach PostgreSQL: {libpq_reason(e)}; "
            "nothing was rebuilt"
        ) from None
    with conn:
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
        # Read-only is enough to ``flock``: a lock file another user made can be shared.
        fd = os.open(path, os.O_RDONLY | os.O_CREAT | os.O_CLOEXEC, 0o666)
    except OSError as e:
        # Not a rebuild without its lock: where this file cannot be made, SQLite could not
        # make its journal either, and a rebuild that went on could meet another.
        raise StoreUnavailable(
            f"cannot take the rebuild lock {path}: {e.strerror or e}; a rebuild must be "
            "able to write the folder of the ledger's file. Nothing was rebuilt"
        ) from None
    with open(fd, "rb") as held:
        fcntl.flock(held.fileno(), fcntl.LOCK_EX)
        yield  # closing the file frees the lock
