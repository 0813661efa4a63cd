"""Two writers that both need the blind index's secret on a fresh ledger, at the same
moment: the first write of the secret is made once, and both end with that one secret.
Before, on SQLite, the second writer read the empty table, waited for the write lock behind
the first, and then failed (its read was out of date: SQLite does not move it forward)."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager

import psycopg

from ledger.store.blind_index import INDEX_SECRET
from ledger.store.root import open_ledger
from tests.audit_helpers import is_sqlite, pg_schema, sqlite_path
from tests.conftest import PG_DSN

# A writer's first look at the secret, in a process of its own: say when the ledger is open,
# then print the secret.
WRITER = """
import sys
from ledger.store.root import open_ledger
with open_ledger(sys.argv[1]) as ledger:
    print("open", flush=True)
    print(ledger.index_secret().hex(), flush=True)
"""


@contextmanager
def writes_held(url: str) -> Iterator[None]:
    """Hold the ledger's writes while the block starts the writers, then let them go."""
    if is_sqlite(url):
        conn = sqlite3.connect(sqlite_path(url), isolation_level=None)
        conn.execute("BEGIN IMMEDIATE")
        try:
            yield
        finally:
            conn.execute("COMMIT")
            conn.close()
        return
    with psycopg.connect(PG_DSN) as pg:
        pg.execute(f"LOCK TABLE {pg_schema(url)}.{INDEX_SECRET} IN EXCLUSIVE MODE")
        yield  # reads go on; each writer's insert waits for the commit


def test_two_writers_making_the_index_secret_at_once_both_get_the_same_one(
    ledger_url: str,
) -> None:
    with open_ledger(ledger_url):  # the ledger's tables, without a secret yet
        pass
    env = {"PYTHONPATH": "."}

    with writes_held(ledger_url):
        writers = [
            subprocess.Popen(
                [sys.executable, "-c", WRITER, ledger_url],
                env=env,
                text=True,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
            )
            for _ in range(2)
        ]
        for writer in writers:
            assert writer.stdout is not None
            assert writer.stdout.readline() == "open\n", writer.communicate()
        time.sleep(1.5)  # both read the empty table and wait to write
    outcomes = [(w.wait(timeout=120), *w.communicate()) for w in writers]
    with open_ledger(ledger_url) as ledger:
        stored = ledger.ledger_recorder.index_secret().hex()

    assert outcomes == [(0, stored + "\n", ""), (0, stored + "\n", "")]
