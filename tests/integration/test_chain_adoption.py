"""A ledger whose events predate the hash chain gets its links once, when next opened."""

from __future__ import annotations

import sqlite3

import psycopg

from tests.audit_helpers import is_sqlite, pg_schema, sqlite_path
from tests.conftest import PG_DSN
from tests.helpers import jsonl, life_cmds, run


def drop_chain(url: str) -> None:
    if is_sqlite(url):
        with sqlite3.connect(sqlite_path(url)) as conn:
            conn.execute("DROP TABLE chain_links")
        return
    with psycopg.connect(PG_DSN, autocommit=True) as conn:
        conn.execute(f"DROP TABLE {pg_schema(url)}.chain_links")


def test_events_recorded_before_the_chain_existed_are_linked_on_opening(ledger_url: str) -> None:
    run(ledger_url, "apply", "-", input=jsonl(life_cmds("TS-OLD")))
    drop_chain(ledger_url)

    run(ledger_url, "add-note", "TS-OLD", "--text", "x", "--actor", "li", "--role", "leadership")
    result = run(ledger_url, "verify", "--no-anchor")  # never sealed: nothing to anchor to

    assert result.exit_code == 0, result.stderr
    assert result.stdout.startswith(
        "verified 9 events (to position 9) and 0 seals: internally consistent"
    )
