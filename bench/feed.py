"""The event feed's publish rate, beside reading the same events without publishing; or a
feed killed midway and restarted, and what the stream holds afterwards.

    .venv/bin/python -m bench.feed sqlite:////tmp/ledger.db [--runs 3] [--batch-size 2000]
    .venv/bin/python -m bench.feed sqlite:////tmp/ledger.db --kill-at 500000

Each run publishes the whole log to a stream of its own (deleted afterwards) through the
feed's own code (``Feed.publish_pending``: read, encode, publish, wait for the acks, move the
position); the baselines read the log in the same batches (``read``) and also encode every
event as its CloudEvent (``encode``). Prints events/s, medians of the runs, and peak RSS.
Fill a ledger first with ``bench.common.fill`` (docs/performance.md, "Event feed").

With ``--kill-at N`` it runs the command itself (``complaint-ledger feed nats --once``) to a
stream of its own, kills it with SIGKILL once the stream holds N messages, runs it again to
the end, then reads every message's ``Nats-Msg-Id`` back from the stream (a headers-only
consumer) and compares them with the log's event ids in log order: the count, duplicates,
ids missing, and whether the stream's order is the log's. Prints the rates of both runs and
the feed processes' peak RSS. The feed writes its position into the ledger's database: run
this on a copy of a ledger, never on one that matters.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import resource
import signal
import statistics
import subprocess
import sys
import time
import uuid
from collections import Counter
from pathlib import Path
from typing import Any

from bench.common import peak_rss_mb
from consumers.feed.feeder import Feed
from consumers.feed.messages import to_message
from consumers.feed.position import FeedPositions
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


def stream_state(url: str, stream: str) -> tuple[int, int]:
    """The stream's messages and bytes (0, 0 before it is made)."""

    async def state() -> tuple[int, int]:
        import nats
        from nats.js.errors import NotFoundError

        nc = await nats.connect(url)
        try:
            found = (await nc.jetstream().stream_info(stream)).state
            return int(found.messages), int(found.bytes)
        except NotFoundError:
            return 0, 0
        finally:
            await nc.close()

    return asyncio.run(state())


def stream_count(url: str, stream: str) -> int:
    return stream_state(url, stream)[0]


def stream_ids(url: str, stream: str, subjects: str) -> list[str]:
    """Every message's ``Nats-Msg-Id``, in stream order, through a headers-only consumer."""

    async def read() -> list[str]:
        import nats
        from nats.errors import TimeoutError as NatsTimeout
        from nats.js.api import AckPolicy, ConsumerConfig

        nc = await nats.connect(url)
        js = nc.jetstream()
        last = (await js.stream_info(stream)).state.last_seq
        config = ConsumerConfig(ack_policy=AckPolicy.NONE, headers_only=True)
        sub = await js.pull_subscribe(subjects, durable="bench_ids", stream=stream, config=config)
        ids: list[str] = []
        seq = 0
        try:
            while seq < last:
                try:
                    batch = await sub.fetch(5000, timeout=10)
                except NatsTimeout:
                    break
                for m in batch:
                    ids.append((m.headers or {}).get("Nats-Msg-Id", ""))
                    seq = m.metadata.sequence.stream
        finally:
            await js.delete_consumer(stream, "bench_ids")
            await nc.close()
        return ids

    return asyncio.run(read())


def log_ids(ledger: Ledger, batch: int = 10_000) -> list[str]:
    ids: list[str] = []
    start = 1
    while found := ledger.recorder.select_notifications(start=start, limit=batch):
        ids.extend(f"{n.originator_id}/{n.originator_version}" for n in found)
        start = found[-1].id + 1
    return ids


def killed_and_restarted(url: str, nats_url: str, kill_at: int, batch: int) -> dict[str, Any]:
    tag = uuid.uuid4().hex[:8]
    stream, prefix = f"BENCH_{tag}", f"bench{tag}"
    script = str(Path(sys.executable).with_name("complaint-ledger"))
    command = [script, "feed", "nats", "--url", nats_url, "--stream", stream, "--subject-prefix",
               prefix, "--db", url, "--once", "--batch-size", str(batch)]  # fmt: skip
    result: dict[str, Any] = {"kill at": kill_at, "batch size": batch}
    with open_reader(url) as ledger:
        events = ledger.count_events()
        result["events"] = events
        try:
            started = time.perf_counter()
            first = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            while (count := stream_count(nats_url, stream)) < kill_at:
                assert first.poll() is None, "the feed ended before the kill"
                time.sleep(0.2)
            first.send_signal(signal.SIGKILL)
            first.wait()
            killed = time.perf_counter()
            result["messages at kill"] = stream_count(nats_url, stream)
            result["position at kill"] = FeedPositions(ledger).get(f"nats:{stream}")
            result["first run events/s"] = round(count / (killed - started))
            second = subprocess.run(command, capture_output=True, text=True, check=True)
            seconds = time.perf_counter() - killed
            result["restart says"] = second.stdout.strip()
            result["restart events/s"] = round((events - result["position at kill"]) / seconds)
            result["overall events/s"] = round(events / (time.perf_counter() - started))
            result["feed peak RSS MB"] = round(
                resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
            )
            result["position after"] = FeedPositions(ledger).get(f"nats:{stream}")
            in_stream = stream_ids(nats_url, stream, f"{prefix}.>")
            in_log = log_ids(ledger)
            counted = Counter(in_stream)
            result["stream messages"], stored = stream_state(nats_url, stream)
            result["bytes a message"] = round(stored / max(1, result["stream messages"]))
            result["ids read back"] = len(in_stream)
            result["ids twice or more"] = sum(1 for n in counted.values() if n > 1)
            result["log ids missing"] = sum(1 for i in in_log if i not in counted)
            result["stream order is log order"] = in_stream == in_log
        finally:
            _forget(ledger, nats_url, stream)
    return result


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("url")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--batch-size", type=int, default=2000)
    parser.add_argument("--nats", default=NATS)
    parser.add_argument("--kill-at", type=int, default=0, metavar="N",
                        help="kill -9 the feed at N messages in the stream, rerun it")  # fmt: skip
    args = parser.parse_args()
    if args.kill_at:
        print(json.dumps(killed_and_restarted(args.url, args.nats, args.kill_at, args.batch_size)))
        return
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
