"""What the ledger's mapper pays to check a stored event's shape (branch ``tamper``): decode
every stored event of a filled SQLite ledger with the mapper as it was (the library's decoding
after importing the stored module) and with the ledger's mapper (which also turns a topic of
no class into one error and checks that the state holds each field of its event), alternating,
medians of several runs, in the same process.

    .venv/bin/python -m bench.decode_check --events 20000 --runs 7
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from eventsourcing.persistence import Mapper, StoredEvent

from bench.common import drop, fill, fresh_url
from ledger.store.root import open_ledger
from ledger.store.topics import load_classes_of


def timed(decode: Callable[[StoredEvent], Any], stored: list[StoredEvent]) -> float:
    # CPU time: the machine is shared, and waiting for a core is not the mapper's cost.
    started = time.process_time()
    for s in stored:
        decode(s)
    return time.process_time() - started


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--events", type=int, default=20_000)
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        url = fresh_url("sqlite", "decode", Path(folder))
        try:
            fill(url, args.events)
            with open_ledger(url) as ledger:
                stored = list(ledger.recorder.select_notifications(1, 10**9))
                mapper = ledger.mapper

                def before(s: StoredEvent) -> Any:
                    load_classes_of(s.topic)
                    return Mapper.to_domain_event(mapper, s)

                pairs = []
                for run in range(args.runs):  # which goes first alternates
                    if run % 2:
                        checked = timed(mapper.to_domain_event, stored)
                        pairs.append((timed(before, stored), checked))
                    else:
                        pairs.append((timed(before, stored), timed(mapper.to_domain_event, stored)))
        finally:
            drop(url)
    n = len(stored)
    old = statistics.median(p[0] for p in pairs)
    new = statistics.median(p[1] for p in pairs)
    print(f"events {n}, runs {args.runs}, load {os.getloadavg()}")
    print("run by run CPU µs/event (before / checked):",
          ", ".join(f"{a / n * 1e6:.2f}/{b / n * 1e6:.2f}" for a, b in pairs))  # fmt: skip
    print(f"median CPU µs/event: before {old / n * 1e6:.2f}, checked {new / n * 1e6:.2f}, "
          f"ratio {new / old:.3f}")  # fmt: skip


if __name__ == "__main__":
    main()
