"""``index backfill`` at scale: fill a ledger through the bulk path, then time the backfill
on a ledger whose index is whole (since full-width folding it opens and compares every
complaint's identifiers) and on one whose index rows were all deleted (it files them all),
medians of three runs each; and, as the floor, reading every complaint as the backfill does
(all that the backfill did on a whole index before it compared digests).

    .venv/bin/python -m bench.backfill --backend sqlite --complaints 10000
"""

from __future__ import annotations

import argparse
import json
import sqlite3
import tempfile
import time
from pathlib import Path

import psycopg

from bench.common import PG_DSN, drop, fill, fresh_url, median_of
from ledger.store.backfill import CHUNK, backfill_index
from ledger.store.root import open_ledger


def delete_index(url: str) -> None:
    if url.startswith("sqlite:///"):
        with sqlite3.connect(url.removeprefix("sqlite:///")) as db:
            db.execute("DELETE FROM complainant_index")
        return
    schema = url.rsplit("schema=", 1)[1]
    with psycopg.connect(PG_DSN, autocommit=True) as conn:
        conn.execute(f"DELETE FROM {schema}.complainant_index")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--backend", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--complaints", type=int, default=10_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        url = fresh_url(args.backend, "backfill", Path(folder))
        try:
            events, _ = fill(url, round(args.complaints * 10.1))

            def whole() -> float:
                started = time.perf_counter()
                with open_ledger(url) as ledger:
                    done = backfill_index(ledger)
                assert (done.rows, done.reindexed) == (0, 0), done
                return time.perf_counter() - started

            def emptied() -> float:
                delete_index(url)
                started = time.perf_counter()
                with open_ledger(url) as ledger:
                    done = backfill_index(ledger)
                assert done.rows > 0, done
                return time.perf_counter() - started

            def load_only() -> float:
                started = time.perf_counter()
                with open_ledger(url) as ledger:
                    refs = list(ledger.iter_refs())
                    for start in range(0, len(refs), CHUNK):
                        ledger.load_complaints(refs[start : start + CHUNK])
                return time.perf_counter() - started

            compared, _ = median_of(3, whole)
            loading, _ = median_of(3, load_only)
            filed, _ = median_of(3, emptied)
        finally:
            drop(url)
    print(json.dumps({"backend": args.backend, "events": events,
                      "whole_index_s": round(compared, 2), "load_only_s": round(loading, 2),
                      "emptied_index_s": round(filed, 2)}))  # fmt: skip


if __name__ == "__main__":
    main()
