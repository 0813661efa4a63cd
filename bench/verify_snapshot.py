"""Benchmark: what reading ``verify`` in one snapshot costs (the fix for a ledger being
written while it is verified), on SQLite and PostgreSQL.

Fills a ledger of N events per backend, then alternates the two ways of verifying it,
run by run: in one snapshot (``verify_ledger``, every query on one pinned connection, one
at a time), and the baseline, the same checks with each query on a connection of the
pool (``_verify_ledger`` called directly, which is what ``verify`` did before). Prints
the median seconds of each and the load average beside them.

    .venv/bin/python -m bench.verify_snapshot --events 50000 --runs 5
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from bench.common import drop, fill, fresh_url
from ledger.integrity.verify import _verify_ledger, verify_ledger
from ledger.store.root import Ledger, open_ledger


def _timed(fn: Callable[[], object]) -> float:
    started = time.perf_counter()
    fn()
    return time.perf_counter() - started


def measure(url: str, runs: int) -> tuple[list[float], list[float], int]:
    pooled, pinned = [], []
    with open_ledger(url) as ledger:
        events = ledger.count_events()
        for _ in range(runs):
            pooled.append(_timed(lambda: _baseline(ledger)))
            pinned.append(_timed(lambda: verify_ledger(ledger)))
    return pooled, pinned, events


def _baseline(ledger: Ledger) -> None:
    _verify_ledger(ledger, None, None, None)


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--events", type=int, default=50_000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--backends", default="sqlite,postgres")
    args = parser.parse_args()
    print(f"# {datetime.now(UTC):%Y-%m-%d %H:%M} UTC, load before {os.getloadavg()}")
    print("| backend | events | pooled reads (before) s | one snapshot s | ratio | load |")
    print("|---|---|---|---|---|---|")
    with tempfile.TemporaryDirectory() as work:
        for backend in args.backends.split(","):
            url = fresh_url(backend, "vsnap", Path(work))
            try:
                fill(url, args.events)
                pooled, pinned, events = measure(url, args.runs)
                before, after = statistics.median(pooled), statistics.median(pinned)
                load = "/".join(f"{x:.2f}" for x in os.getloadavg())
                print(f"| {backend} | {events:,} | {before:.3f} | {after:.3f} | "
                      f"{after / before:.2f} | {load} |")  # fmt: skip
                print(f"#   pooled {[round(t, 3) for t in pooled]}")
                print(f"#   pinned {[round(t, 3) for t in pinned]}")
            finally:
                drop(url)


if __name__ == "__main__":
    main()
