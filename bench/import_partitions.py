"""Would deciding in worker processes pay on this machine? (issue 17, item 3)

```sh
.venv/bin/python -m bench.import_partitions --events 50000 --runs 3 [--backend postgres|sqlite]
```

The best case for workers partitioned by complaint: the synthetic complaints are split by a
stable hash of their reference into P parts, and each part is imported by the bulk path in a
process of its own into a ledger of its own, all P starting together (after each has parsed
its commands). Nothing is shared, so nothing waits on one writer or on a barrier: a real
split with one writer can only be slower. Each run times P = 1 and P = 2 back to back and
prints events/s (all events over the time from the first start to the last finish).
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import statistics
import tempfile
import time
import zlib
from pathlib import Path
from typing import Any

from bench.common import EVENTS_PER_COMPLAINT, drop, fresh_url, synthetic_commands
from commands.bulk import apply_in_batches
from ledger.store.root import open_ledger


def _part(url: str, complaints: int, part: int, parts: int, barrier: Any, out: Any) -> None:
    commands = [
        (n, c)
        for n, c in synthetic_commands(complaints, 1)
        if zlib.crc32(str(getattr(c, "ref", "")).encode()) % parts == part
    ]
    with open_ledger(url) as ledger:
        barrier.wait()
        started = time.time()
        failures = list(apply_in_batches(ledger, iter(commands), 2000))
        assert not failures, failures[:3]
        out.put((started, time.time(), ledger.count_events()))


def partitioned(backend: str, complaints: int, parts: int, workdir: Path) -> float:
    urls = [fresh_url(backend, f"i17p{p}", workdir) for p in range(parts)]
    barrier, out = multiprocessing.Barrier(parts), multiprocessing.Queue()
    procs = [
        multiprocessing.Process(target=_part, args=(u, complaints, p, parts, barrier, out))
        for p, u in enumerate(urls)
    ]
    try:
        for proc in procs:
            proc.start()
        results = [out.get() for _ in procs]
        for proc in procs:
            proc.join()
    finally:
        for url in urls:
            drop(url)
    wall = max(r[1] for r in results) - min(r[0] for r in results)
    return sum(r[2] for r in results) / wall


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=50_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--backend", choices=["postgres", "sqlite"], default="postgres")
    args = parser.parse_args()
    complaints = max(1, round(args.events / EVENTS_PER_COMPLAINT))
    runs: list[dict[str, float]] = []
    with tempfile.TemporaryDirectory() as workdir:
        for _ in range(args.runs):
            one = {f"P{p}": partitioned(args.backend, complaints, p, Path(workdir)) for p in (1, 2)}
            runs.append(one)
            print(json.dumps({"backend": args.backend, **one}), flush=True)
    p1 = statistics.median(r["P1"] for r in runs)
    p2 = statistics.median(r["P2"] for r in runs)
    print(f"| {args.backend} | P=1 {p1:,.0f} events/s | P=2 {p2:,.0f} events/s | {p2 / p1:.2f}x |")


if __name__ == "__main__":
    main()
