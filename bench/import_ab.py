"""The 2-worker import of ``bench.import_writer`` from two source trees, run by run in turn.

```sh
git archive bb1cb7e | tar -x -C /tmp/before
.venv/bin/python -m bench.import_ab --before /tmp/before --events 100000 --runs 3 \
    --backend postgres --workers 2
```

Each run imports the same synthetic input into a fresh ledger, once with the code of
``--before`` and once with this tree's (alternating which goes first), each in a process of
its own started from that tree, through that tree's ``bench.import_writer.import_into``:
events/s, and per event the wall time, the main process's CPU, the workers' CPU (their
pickling included), this process's unpickling and its waiting for the workers. It prints one
JSON line per import and then the medians.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent.parent
ONE = """
import json, sys
from pathlib import Path
from bench.common import EVENTS_PER_COMPLAINT, drop, fresh_url
from bench.import_writer import import_into
from ledger.store.batch_writer import write_events
backend, events, workers, workdir = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
if __name__ == "__main__":
    url = fresh_url(backend, "ab", Path(workdir))
    try:
        complaints = max(1, round(events / EVENTS_PER_COMPLAINT))
        print(json.dumps(import_into(url, complaints, write_events, workers)))
    finally:
        drop(url)
"""


def one(tree: Path, backend: str, events: int, workers: int, workdir: str) -> dict[str, Any]:
    script = Path(workdir) / "one_import.py"
    script.write_text(ONE)
    env = {**os.environ, "PYTHONPATH": str(tree)}
    done = subprocess.run(
        [sys.executable, str(script), backend, str(events), str(workers), workdir],
        cwd=tree, env=env, capture_output=True, text=True, check=True,
    )  # fmt: skip
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--before", type=Path, required=True)
    parser.add_argument("--after", type=Path, default=HERE, help="default: this tree")
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--backend", choices=["postgres", "sqlite"], action="append")
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    trees = {"before": args.before.resolve(), "after": args.after.resolve()}
    for backend in args.backend or ["postgres", "sqlite"]:
        results: dict[str, list[dict[str, Any]]] = {"before": [], "after": []}
        with tempfile.TemporaryDirectory() as workdir:
            for run in range(args.runs):
                order = ["before", "after"] if run % 2 == 0 else ["after", "before"]
                for name in order:
                    load = os.getloadavg()[0]
                    out = one(trees[name], backend, args.events, args.workers, workdir)
                    out["load"] = round(load, 2)
                    results[name].append(out)
                    print(json.dumps({"backend": backend, "tree": name, **out}), flush=True)
        for name, runs in results.items():
            rate = statistics.median(r["events_per_s"] for r in runs)
            parts = {
                k: statistics.median(r["us_per_event"].get(k, 0.0) for r in runs)
                for k in runs[0]["us_per_event"]
            }
            shown = ", ".join(f"{k} {v:.0f}" for k, v in parts.items())
            print(f"| {backend} | {name} | {rate:,.0f} events/s | µs per event: {shown} |")


if __name__ == "__main__":
    main()
