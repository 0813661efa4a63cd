"""An example consumer of the ledger's event feed (docs/feed.md): complaints by status, kept in
a SQLite file, built from the JetStream stream with a durable pull consumer.

    python docs/feed/consumer.py --stream LEDGER --db counts.db --once

It reads each message as a CloudEvent (the CloudEvents SDK), folds the few event types it cares
about (received, closed, reopened, withdrawn) and ignores the rest. Each fetched batch is applied
in one SQLite transaction together with the stream sequence it reached, and acknowledged after
the commit: a consumer killed before its acknowledgement gets the batch again and skips what its
file already holds, so every event counts once. The durable consumer remembers, on the server,
where it got to; ``--once`` stops when no message is waiting and prints the counts as JSON.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sqlite3
from typing import Any

import nats
from cloudevents.core.formats.json import JSONFormat

STATUS_AFTER = {  # CloudEvents type -> the complaint's status after it
    "complaint-ledger.Complaint.Received": "open",
    "complaint-ledger.Complaint.Reopened": "open",
    "complaint-ledger.Complaint.Closed": "closed",
    "complaint-ledger.Complaint.Withdrawn": "withdrawn",
}
SCHEMA = """
CREATE TABLE IF NOT EXISTS complaints (id TEXT PRIMARY KEY, status TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS consumed (stream TEXT PRIMARY KEY, sequence INTEGER NOT NULL);
"""


def open_model(path: str) -> sqlite3.Connection:
    db = sqlite3.connect(path, isolation_level=None)
    db.executescript(SCHEMA)
    return db


def apply(db: sqlite3.Connection, stream: str, messages: list[Any]) -> None:
    """Apply a batch and record the stream sequence it reached, in one transaction."""
    cloud = JSONFormat()
    db.execute("BEGIN IMMEDIATE")
    row = db.execute("SELECT sequence FROM consumed WHERE stream = ?", (stream,)).fetchone()
    done = 0 if row is None else row[0]
    for msg in messages:
        sequence = msg.metadata.sequence.stream
        if sequence <= done:  # applied before a restart, not acknowledged then
            continue
        event = cloud.read(None, msg.data)
        status = STATUS_AFTER.get(event.get_type())
        if status is not None:
            db.execute(
                "INSERT INTO complaints VALUES (?, ?) "
                "ON CONFLICT (id) DO UPDATE SET status = excluded.status",
                (event.get_subject(), status),
            )
        done = sequence
    db.execute(
        "INSERT INTO consumed VALUES (?, ?) "
        "ON CONFLICT (stream) DO UPDATE SET sequence = excluded.sequence",
        (stream, done),
    )
    db.execute("COMMIT")


def counts(db: sqlite3.Connection) -> dict[str, int]:
    rows = db.execute("SELECT status, count(*) FROM complaints GROUP BY status ORDER BY status")
    return dict(rows)


async def consume(
    url: str, stream: str, subjects: str, durable: str, path: str, once: bool
) -> None:
    nc = await nats.connect(url)
    db = open_model(path)
    try:
        js = nc.jetstream()
        subscription = await js.pull_subscribe(subjects, durable=durable, stream=stream)
        while True:
            try:
                messages = await subscription.fetch(batch=500, timeout=1.0)
            except TimeoutError:  # nothing waiting (nats-py raises asyncio's, or its own subclass)
                if once:
                    break
                continue
            apply(db, stream, messages)
            for msg in messages:
                await msg.ack()
        await nc.flush()
        print(json.dumps(counts(db), sort_keys=True))
    finally:
        db.close()
        await nc.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", default="nats://127.0.0.1:4222")
    parser.add_argument("--stream", default="LEDGER")
    parser.add_argument("--subjects", default="ledger.Complaint.>")
    parser.add_argument("--durable", default="case-counts")
    parser.add_argument("--db", default="case-counts.db")
    parser.add_argument("--once", action="store_true", help="stop when no message is waiting")
    args = parser.parse_args()
    asyncio.run(consume(args.url, args.stream, args.subjects, args.durable, args.db, args.once))


if __name__ == "__main__":
    main()
