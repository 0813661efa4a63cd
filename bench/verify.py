"""Benchmark: seal and verify a PostgreSQL ledger of N events.

Fills a schema of its own with synthetic complaints through the bulk path (the same
lifecycles ``complaint-ledger generate`` writes, applied in batches of many commands per
transaction), then times ``seal`` and ``verify`` (the whole chain, every event) several
times and prints the medians and events per second.

    .venv/bin/python -m bench.verify --events 100000 --runs 5
    .venv/bin/python -m bench.verify --events 1000000 --runs 3 --keep
    .venv/bin/python -m bench.verify --schema bench_verify_ab12cd --runs 3   # reuse a filled one

The schema is dropped at the end unless --keep (or --schema) is given.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
import uuid
from datetime import UTC, datetime

import psycopg
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from bench.common import PG_DSN, fill
from ledger.integrity.sealing import seal_ledger
from ledger.integrity.verify import verify_ledger
from ledger.store.root import open_ledger

BENCH_KEY = "be" * 32


def timed_runs(url: str, runs: int) -> dict[str, object]:
    """Seal, then verify the whole ledger, ``runs`` times (each seal adds one event)."""
    # A fixed key (benchmarks only), so that a kept schema can be sealed again later.
    key = Ed25519PrivateKey.from_private_bytes(bytes.fromhex(BENCH_KEY))
    seal_times, verify_times, verified = [], [], 0
    with open_ledger(url) as ledger:
        for _ in range(runs):
            started = time.perf_counter()
            seal_ledger(ledger, key, "bench", datetime.now(UTC))
            seal_times.append(time.perf_counter() - started)
            started = time.perf_counter()
            verified = verify_ledger(ledger).events
            verify_times.append(time.perf_counter() - started)
    median_verify = statistics.median(verify_times)
    return {
        "events_verified": verified,
        "seal_seconds": [round(t, 3) for t in seal_times],
        "seal_median_seconds": round(statistics.median(seal_times), 3),
        "verify_seconds": [round(t, 3) for t in verify_times],
        "verify_median_seconds": round(median_verify, 3),
        "verify_events_per_second": round(verified / median_verify),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--schema", help="Reuse this already filled schema (kept).")
    parser.add_argument("--keep", action="store_true", help="Keep the schema afterwards.")
    args = parser.parse_args()

    schema = args.schema or f"bench_verify_{uuid.uuid4().hex[:6]}"
    url = f"{PG_DSN}?schema={schema}"
    result: dict[str, object] = {"schema": schema}
    try:
        if args.schema is None:
            with psycopg.connect(PG_DSN, autocommit=True) as conn:
                conn.execute(f"CREATE SCHEMA {schema}")
            total, seconds = fill(url, args.events, args.seed)
            result.update(
                filled_events=total,
                fill_seconds=round(seconds, 1),
                fill_events_per_second=round(total / seconds),
            )
            print(f"filled {total} events in {seconds:.1f} s ({total / seconds:,.0f} events/s)")
        result.update(timed_runs(url, args.runs))
        print(
            f"seal: median {result['seal_median_seconds']} s; verify {result['events_verified']}"
            f" events: median {result['verify_median_seconds']} s "
            f"({result['verify_events_per_second']:,} events/s) over {args.runs} runs"
        )
        print(json.dumps(result))
    finally:
        if args.schema is None and not args.keep:
            with psycopg.connect(PG_DSN, autocommit=True) as conn:
                conn.execute(f"DROP SCHEMA {schema} CASCADE")


if __name__ == "__main__":
    main()
