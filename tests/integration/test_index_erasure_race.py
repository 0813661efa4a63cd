"""The index backfill against an erasure committing meanwhile, on PostgreSQL (two connections).

On SQLite a writer holds the whole database, so the backfill and an erasure cannot overlap.
On PostgreSQL the backfill's ``INSERT ... WHERE EXISTS (the key)`` saw a key that an erasure
had deleted but not yet committed; the rows it filed were never taken out (the erasure's own
DELETE of the index rows ran before them). The backfill now locks the key table first, so it
waits for the erasure and then finds the key gone.
"""

from __future__ import annotations

import threading
import time
from typing import Any

import psycopg
import pytest

from ledger.domain.sealed import IndexEntry
from ledger.store.root import open_ledger
from tests.conftest import PG_DSN, pg_url
from tests.helpers import jsonl, receive_cmd, run


def waiting_or_done(thread: threading.Thread, schema: str) -> None:
    """Until ``thread`` has finished or another session waits for a lock (at most 20 s)."""
    with psycopg.connect(PG_DSN, autocommit=True) as watcher:
        for _ in range(400):
            waiting = watcher.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
                "AND query ILIKE %s",
                (f"%{schema}%",),
            ).fetchone()
            if not thread.is_alive() or (waiting and waiting[0]):
                return
            time.sleep(0.05)
    pytest.fail("the backfill neither finished nor waited")


@pytest.mark.parametrize("method", ["add_index", "replace_index"])
def test_rows_filed_while_an_erasure_is_uncommitted_do_not_outlive_it(
    postgres_schema: str, method: str
) -> None:
    url = pg_url(postgres_schema)
    assert run(url, "apply", "-", input=jsonl([receive_cmd("TS-R")])).exit_code == 0
    table = f"{postgres_schema}.complainant_index"
    with psycopg.connect(PG_DSN) as conn:
        rows = conn.execute(f"SELECT key_id, ref, kind, digest, received_at FROM {table}")
        entries = [IndexEntry(*row) for row in rows.fetchall()]
        # As a complaint received before the index: no rows yet, its key is there.
        conn.execute(f"DELETE FROM {table}")
    key_id = entries[0].key_id
    failed: list[BaseException] = []

    def file_rows(recorder: Any) -> None:
        try:
            if method == "add_index":
                recorder.add_index(entries)
            else:
                recorder.replace_index([key_id], entries)
        except BaseException as e:  # reported by the test, not lost in the thread
            failed.append(e)

    with open_ledger(url) as ledger, psycopg.connect(PG_DSN) as erasure:
        # What an erasure's transaction deletes, not committed yet.
        erasure.execute(f"DELETE FROM {postgres_schema}.person_keys WHERE key_id = %s", (key_id,))
        erasure.execute(f"DELETE FROM {table} WHERE key_id = %s", (key_id,))
        backfill = threading.Thread(target=file_rows, args=(ledger.ledger_recorder,))
        backfill.start()
        waiting_or_done(backfill, postgres_schema)
        erasure.commit()
        backfill.join(timeout=20)

    assert not backfill.is_alive()
    assert failed == []
    with psycopg.connect(PG_DSN) as conn:
        left = conn.execute(f"SELECT count(*) FROM {table}").fetchone()
    assert left == (0,)
