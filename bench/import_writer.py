"""The bulk import's writer beside the library and the database (issue 17, item 3).

```sh
.venv/bin/python -m bench.import_writer --events 100000 --runs 3 [--backend postgres|sqlite] \
    [--workers 2]
```

Each run, on fresh ledgers of one backend, in this order:

- **writer**: the bulk path as ``apply --bulk`` runs it (``read_commands`` of the synthetic
  commands as JSON Lines, rendered before the clock starts, then ``apply_in_batches``, 2,000
  commands a batch), whose batches go through ``ledger.store.batch_writer`` (``COPY`` on
  PostgreSQL), with the time spent deciding (``handle``), encoding and writing (the
  encoding included) added up separately, and the CPU time of the process;
- **writer, N workers** (``--workers``, default 2; 0 leaves the row out): the same, the
  commands decided in N worker processes (``commands.bulk_workers``), starting them timed
  too, the lines read as ``apply`` reads them then (``scan_commands``: left for the workers
  to parse); the main process's CPU and the workers' (their pickling of the answers apart, and
  this process's unpickling) are given per event;
- **save**: the same bulk path with each batch saved by the library's ``Ledger.save`` (the
  writer before this change), on a second fresh ledger;
- **library**: a stock eventsourcing ``Application`` saving each complaint's events (taken
  from the first ledger) with one ``save``, one complaint per transaction;
- **raw INSERT** / **COPY**: the first ledger's event rows into a bare table of the same shape
  (``bench.suite``'s limits: ``executemany`` of 1,000 rows a transaction; ``COPY`` of 5,000).

It prints one JSON line per run and then a table of medians.
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import commands.bulk as bulk
import commands.handlers as handlers
from bench.common import EVENTS_PER_COMPLAINT, drop, fresh_url, synthetic_lines
from bench.suite import LibraryApp, library_env, part_raw
from commands.bulk import apply_in_batches
from commands.bulk_workers import Deciders
from commands.jsonlines import read_commands, scan_commands
from ledger.store import batch_writer, event_rows
from ledger.store.batch_writer import copy_encoded, insert_encoded, write_events, write_rows
from ledger.store.recorders import CommandRecord
from ledger.store.root import Ledger, open_ledger


class Clock:
    """Seconds spent in the functions it wraps, by name."""

    def __init__(self) -> None:
        self.spent: dict[str, float] = {}

    def wrap(self, name: str, fn: Callable[..., Any]) -> Callable[..., Any]:
        def timed(*args: Any, **kwargs: Any) -> Any:
            started = time.perf_counter()
            try:
                return fn(*args, **kwargs)
            finally:
                self.spent[name] = self.spent.get(name, 0.0) + time.perf_counter() - started

        return timed


def saved_by_library(
    ledger: Ledger, events: Sequence[Any], commands: Sequence[CommandRecord], keys: Any
) -> int:
    """The writer before this change: the library's ``save`` of the batch's events."""
    return len(ledger.save(*events, commands=list(commands), keys=keys))


stored = event_rows.EventRows.stored


def import_into(
    url: str, complaints: int, writer: Callable[..., int], workers: int = 1
) -> dict[str, Any]:
    clock = Clock()
    bulk.handle = clock.wrap("decide", handlers.handle)  # type: ignore[attr-defined]
    bulk.write_events = clock.wrap("write", writer)  # type: ignore[attr-defined]
    batch_writer.write_rows = clock.wrap("write", write_rows)
    batch_writer.copy_encoded = clock.wrap("write", copy_encoded)
    batch_writer.insert_encoded = clock.wrap("write", insert_encoded)
    lines = synthetic_lines(complaints, 1)  # the input, as a file holds it: not timed
    started, cpu = time.perf_counter(), time.process_time()
    deciders = None
    try:
        with open_ledger(url) as ledger:
            mapper = ledger.mapper
            encode = mapper.to_stored_event
            mapper.to_stored_event = clock.wrap("encode", encode)  # type: ignore[method-assign]
            event_rows.EventRows.stored = clock.wrap("encode", stored)  # type: ignore[method-assign]
            if workers > 1:
                deciders = Deciders(url, workers)
            # As ``apply`` reads them: with workers, their lines left for them to parse.
            items = (
                read_commands(lines)
                if deciders is None
                else scan_commands(lines, deciders.unparsed)
            )
            failures = list(apply_in_batches(ledger, items, 2000, deciders=deciders))
            assert not failures, failures[:3]
            if deciders is not None:
                deciders.close()
            events = ledger.count_events()
        seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
    finally:
        bulk.handle = handlers.handle  # type: ignore[attr-defined]
        bulk.write_events = write_events  # type: ignore[attr-defined]
        batch_writer.write_rows = write_rows
        batch_writer.copy_encoded = copy_encoded
        batch_writer.insert_encoded = insert_encoded
        event_rows.EventRows.stored = stored  # type: ignore[method-assign]
    us = {k: round(v / events * 1e6, 1) for k, v in clock.spent.items()}
    us["total"] = round(seconds / events * 1e6, 1)
    us["cpu"] = round(cpu / events * 1e6, 1)  # this process's
    if deciders is not None:
        us["workers_cpu"] = round(deciders.cpu / events * 1e6, 1)
        us["workers_pickling"] = round(deciders.pickling / events * 1e6, 1)
        us["unpickling"] = round(deciders.unpickling / events * 1e6, 1)
        us["workers_wall"] = round(deciders.deciding / events * 1e6, 1)  # both, added up
        us["waiting"] = round(deciders.waiting / events * 1e6, 1)  # this process, for answers
    return {"events": events, "events_per_s": events / seconds, "us_per_event": us}


def library_import(url: str) -> float:
    """Events/s of the stock application saving one complaint per transaction."""
    with open_ledger(url) as ledger:
        histories = [ledger.complaint_events(ref) for ref in ledger.iter_refs()]
    app = LibraryApp(env=library_env(url))
    started = time.perf_counter()
    for history in histories:
        app.save(*history)
    seconds = time.perf_counter() - started
    app.close()
    return sum(len(h) for h in histories) / seconds


def one_run(backend: str, events: int, workdir: Path, workers: int) -> dict[str, Any]:
    complaints = max(1, round(events / EVENTS_PER_COMPLAINT))
    first = fresh_url(backend, "i17w", workdir)
    second = fresh_url(backend, "i17s", workdir)
    try:
        out: dict[str, Any] = {"writer": import_into(first, complaints, write_events)}
        if workers > 1:
            third = fresh_url(backend, "i17n", workdir)
            try:
                out["workers"] = import_into(third, complaints, write_events, workers)
            finally:
                drop(third)
        out["save"] = import_into(second, complaints, saved_by_library)
        out["library"] = library_import(first)
        out["raw"] = part_raw(first)
    finally:
        drop(first)
        drop(second)
        if backend == "sqlite":
            Path(first.removeprefix("sqlite:///") + ".library").unlink(missing_ok=True)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--backend", choices=["postgres", "sqlite"], action="append")
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    for backend in args.backend or ["postgres", "sqlite"]:
        runs = []
        with tempfile.TemporaryDirectory() as workdir:
            for _ in range(args.runs):
                runs.append(one_run(backend, args.events, Path(workdir), args.workers))
                print(json.dumps({"backend": backend, **runs[-1]}), flush=True)

        def med(get: Callable[[dict[str, Any]], float], of: list[dict[str, Any]] = runs) -> float:
            return statistics.median(get(r) for r in of)

        ours = med(lambda r: r["writer"]["events_per_s"])
        lib = med(lambda r: r["library"])
        raw = med(lambda r: r["raw"]["insert_events_per_s"])
        print(f"| {backend} | {runs[0]['writer']['events']:,} events | medians of {len(runs)} |")
        print(f"| writer (bulk path) | {ours:,.0f} events/s |")
        paths = ["writer", "save"]
        if "workers" in runs[0]:
            paths.insert(1, "workers")
            ours = med(lambda r: r["workers"]["events_per_s"])
            print(f"| writer, {args.workers} workers | {ours:,.0f} events/s |")
        print(f"| save (bulk path, library save) | {med(lambda r: r['save']['events_per_s']):,.0f}"
              " events/s |")  # fmt: skip
        print(f"| library, one complaint a transaction | {lib:,.0f} events/s | {ours / lib:.2f}x |")
        print(f"| raw batched INSERT | {raw:,.0f} events/s | {ours / raw:.2f} |")
        if backend == "postgres":
            copy = med(lambda r: r["raw"]["copy_events_per_s"])
            print(f"| raw COPY | {copy:,.0f} events/s | {ours / copy:.2f} |")
        for path in paths:
            parts = {k: med(lambda r, k=k, p=path: r[p]["us_per_event"][k]) for k in
                     runs[0][path]["us_per_event"]}  # fmt: skip
            print(f"| µs per event, {path} | " + ", ".join(f"{k} {v:.0f}" for k, v in
                                                          parts.items()) + " |")  # fmt: skip


if __name__ == "__main__":
    main()
