"""The blind index at scale (issue 15, item 5): fill a ledger through the bulk path, then time
``report stats --repeats`` (a union-find over every digest) and ``related REF`` (an index
lookup), medians of five runs each, as the command line's query side runs them.

    .venv/bin/python -m bench.repeats --backend sqlite --complaints 10000
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

from bench.common import drop, fill, fresh_url, median_of
from projections.query import open_query


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--backend", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--complaints", type=int, default=10_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        url = fresh_url(args.backend, "repeats", Path(folder))
        try:
            events, seconds = fill(url, round(args.complaints * 10.1))

            def repeats() -> float:
                started = time.perf_counter()
                with open_query(url, catch_up=False) as query:
                    query.repeats(None, None)
                return time.perf_counter() - started

            def related() -> float:
                started = time.perf_counter()
                with open_query(url, catch_up=False) as query:
                    query.related("B1-00000006")
                return time.perf_counter() - started

            with open_query(url, catch_up=False) as query:
                figures = query.repeats(None, None)
            report, _ = median_of(5, repeats)
            lookup, _ = median_of(5, related)
        finally:
            drop(url)
    print(json.dumps({"backend": args.backend, "events": events, "fill_s": round(seconds, 1),
                      **figures, "repeats_s": round(report, 3),
                      "related_s": round(lookup, 4)}))  # fmt: skip


if __name__ == "__main__":
    main()
