"""How long `complaint-ledger serve` takes, on an existing ledger, from the command to the
first answer of /healthz (the process start, the imports, opening the ledger, uvicorn).

    .venv/bin/python -m bench.serve_start --events 100000 --runs 5            # PostgreSQL
    .venv/bin/python -m bench.serve_start --backend sqlite --events 100000 --runs 5

Fills a fresh ledger with synthetic complaints first (bulk path) and catches its read models
up (as on a ledger in use), then starts and stops the server ``--runs`` times and prints each
time and the median (JSON on the last line).
"""

from __future__ import annotations

import argparse
import json
import signal
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path

import httpx

from bench.common import drop, fill, fresh_url
from ledger.store.root import open_ledger
from projections.runner import Runner


def start_once(url: str) -> float:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    script = str(Path(sys.executable).parent / "complaint-ledger")
    started = time.perf_counter()
    server = subprocess.Popen([script, "serve", "--port", str(port), "--db", url],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
    try:
        while True:
            try:
                httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1)
                return time.perf_counter() - started
            except httpx.TransportError:
                if server.poll() is not None:
                    raise RuntimeError("serve exited") from None
                time.sleep(0.01)
    finally:
        server.send_signal(signal.SIGINT)
        server.wait(timeout=60)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", choices=["postgres", "sqlite"], default="postgres")
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    url = fresh_url(args.backend, "serve", Path("/tmp"))
    try:
        events, _ = fill(url, args.events)
        with open_ledger(url) as ledger:
            Runner(ledger).catch_up_all()
        times = [start_once(url) for _ in range(args.runs)]
    finally:
        drop(url)
    print(json.dumps({"backend": args.backend, "events": events,
                      "seconds": [round(t, 2) for t in times],
                      "median_seconds": round(statistics.median(times), 2)}))  # fmt: skip


if __name__ == "__main__":
    main()
