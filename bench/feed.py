"""The event feed's publish rate, beside reading the same events without publishing.

    .venv/bin/python -m bench.feed sqlite:////tmp/ledger.db [--runs 3] [--batch-size 2000]

Each run publishes the whole log to a stream of its own (deleted afterwards) through the
feed's own code (``Feed.publish_pending``: read, encode, publish, wait for the acks, move the
position); the baselines read the log in the same batches (``read``) and also encode every
event as its CloudEvent (``encode``). Prints events/s, medians of the runs, and peak RSS.
Fill a ledger first with ``bench.common.fill`` (docs/performance.md, "Event feed").
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import time
import uuid
from typing import Any

from bench.common import peak_rss_mb
from consumers.feed.feeder import Feed
from consumers.feed.messages import to_message
from consumers.feed.sinks import NatsSink
from ledger.store.root import Ledger, open_reader
from projections.db import ReadStore

NATS = "nats://127.0.0.1:4222"


def read_all(ledger: Ledger, batch: int, encode: bool) -> int:
    n, start = 0, 1
    while True:
        found = ledger.recorder.select_notifications(start=start, limit=batch)
        if not found:
            return n
        if encode:
            for notification in found:
                to_message(notification, "/bench", "bench")
        n += len(found)
        start = found[-1].id + 1


def publish_all(ledger: Ledger, url: str, batch: int) -> tuple[int, float]:
    tag = uuid.uuid4().hex[:8]
    stream, prefix = f"BENCH_{tag}", f"bench{tag}"
    sink = NatsSink(url, stream, f"{prefix}.>")
    try:
        started = time.perf_counter()
        report = Feed(ledger, sink, f"nats:{stream}", prefix=prefix, source="/bench",
                      batch_size=batch).publish_pending()  # fmt: skip
        seconds = time.perf_counter() - started
    finally:
        sink.close()
        _forget(ledger, url, stream)
    return report.stored, seconds


def _forget(ledger: Ledger, url: str, stream: str) -> None:
    """Delete the run's stream and its position row."""

    async def delete() -> None:
        import nats

        nc = await nats.connect(url)
        await nc.jetstream().delete_stream(stream)
        await nc.close()

    asyncio.run(delete())
    store = ReadStore(ledger)
    with store.transaction({"positions": store.name("feed_positions")}) as cur:
        cur.execute("DELETE FROM {positions} WHERE name = ?", (f"nats:{stream}",))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("url")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--batch-size", type=int, default=2000)
    parser.add_argument("--nats", default=NATS)
    args = parser.parse_args()
    results: dict[str, Any] = {}
    with open_reader(args.url) as ledger:
        events = ledger.count_events()
        results["events"] = events

        def timed(encode: bool) -> float:
            started = time.perf_counter()
            assert read_all(ledger, args.batch_size, encode) == events
            return events / (time.perf_counter() - started)

        def published() -> float:
            count, seconds = publish_all(ledger, args.nats, args.batch_size)
            assert count == events, (count, events)
            return events / seconds

        # Alternating, so that a slower minute of the shared machine hits every kind alike.
        samples: dict[str, list[float]] = {"read": [], "encode": [], "publish": []}
        for _ in range(args.runs):
            samples["read"].append(timed(False))
            samples["encode"].append(timed(True))
            samples["publish"].append(published())
            print(json.dumps({k: round(v[-1]) for k, v in samples.items()}), flush=True)
        for kind, values in samples.items():
            results[f"{kind} events/s"] = round(statistics.median(values))
            results[f"{kind} runs"] = [round(v) for v in values]
    results["peak RSS MB"] = round(peak_rss_mb())
    print(json.dumps(results))


if __name__ == "__main__":
    main()
