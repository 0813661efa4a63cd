"""A sharded rebuild: the log's streams split among worker processes by a hash of their id.

A read model built from the log is a fold per stream (the case read models), or rows that
each depend on one event and its stream's first one (the audit trail). So a worker can
read its streams one after another, each stream's events in order (the way Marten's
per-stream rebuild does), instead of the whole log in log order, and workers need not
wait for each other. A worker's streams are one range of ids (a complaint's id is a SHA-1
hash of its reference, so the ranges hold even shares), read with one query in the order of
the events' primary key, a page at a time. What they fold is every event up to one
position, the head when the rebuild starts; the runner then applies what came after in log
order, as any catch-up, and swaps the rebuilt tables in, in one transaction
(``Runner.rebuild``).

Where the workers write depends on the backend. On PostgreSQL they write the ``__rebuild``
tables themselves, in parallel. On SQLite one write lock would make them take turns, so
each writes a scratch file of its own, and the parent copies the files into the
``__rebuild`` tables in one transaction (SQLite copies them table to table, without Python,
and builds their indexes once they are full).
Either way the rebuild's position moves to the head only once every worker is done, in
the transaction that holds their last rows: a rebuild killed before then has no position,
and running it again folds afresh; the live tables serve readers all along.
"""

from __future__ import annotations

import gc
import json
import resource
import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any
from uuid import UUID

from ledger.integrity.chain import Appended
from projections.db import Cursor, quoted
from projections.decoding import Decoder
from projections.merge import WRITTEN
from projections.scratch import rebuild_scratch

if TYPE_CHECKING:
    from ledger.store.root import Ledger
    from projections.cases import Rules
    from projections.runner import Runner, Unit

GC_YOUNG = 50_000  # a worker's threshold for collecting young objects (Python's default: 700)
STREAMS_PER_CHUNK = 500  # streams read, folded and written together by a worker


def shard_of(stream: UUID, workers: int) -> int:
    """The worker a stream belongs to: the leading bits of its id, which for a complaint is
    a SHA-1 hash of its reference (``uuid5``), so the shares are even and each worker's
    streams are one range of the events' primary key, read with one ordered query."""
    return stream.int * workers >> 128


def bounds(index: int, workers: int) -> tuple[UUID | None, UUID | None]:
    """The ids of shard ``index``'s streams: at least the first, below the second (None: no
    bound); exactly those for which ``shard_of`` is ``index``."""
    low = None if index == 0 else UUID(int=-(-(index << 128) // workers))
    high = None if index == workers - 1 else UUID(int=-(-((index + 1) << 128) // workers))
    return low, high


@dataclass(frozen=True)
class Shard:
    """One worker's part of a sharded rebuild."""

    url: str
    units: tuple[str, ...]
    index: int
    workers: int
    upto: int  # the last position folded
    scratch: str | None  # SQLite: the worker's own file; None: the ``__rebuild`` tables


@dataclass(frozen=True)
class Folded:
    """What a worker did: the events it folded, in how long, and its peak resident memory;
    ``phases``: seconds spent listing its streams, reading, decoding, folding and writing."""

    events: int
    seconds: float
    peak_rss_kb: int
    phases: dict[str, float] = field(default_factory=dict)


def fold(runner: Runner, units: list[Unit], workers: int, statistics: bool = False) -> list[Folded]:
    """Fold every stream up to the head into the units' fresh ``__rebuild`` tables with
    ``workers`` processes, and move the units' rebuild positions to the head; one entry per
    worker (none when the log is empty). With ``statistics`` (and the cases among the
    units), the staged statistics are worked out from the folded tables too."""
    from projections import merge
    from projections.parallel import fold_in_processes
    from projections.runner import REBUILD, UNITS, current_rules

    assert runner.url is not None
    upto = runner.head()
    if upto == 0:
        return []
    names = [u.name for u in units]
    statistics = statistics and "cases" in names
    with runner.phase("fresh_tables"):
        _fresh_tables(runner, [*units, UNITS["statistics"]] if statistics else units)
    with rebuild_scratch() as scratch_dir:
        shards = [
            Shard(
                runner.url,
                tuple(names),
                index,
                workers,
                upto,
                None if runner.store.postgres else str(Path(scratch_dir) / f"shard-{index}.db"),
            )
            for index in range(workers)
        ]
        with runner.phase("workers"):
            folded = fold_in_processes(shards)
        rules = current_rules(runner.ledger)
        keys = [n + REBUILD for n in names]
        with runner.phase("merge"):
            if runner.store.postgres:
                merge.finish_postgres(runner, units, rules, keys, upto, statistics)
            else:
                files = [s.scratch for s in shards if s.scratch is not None]
                merge.merge_scratch(runner, units, files, rules, keys, upto, statistics)
    return folded


def _fresh_tables(runner: Runner, units: list[Unit]) -> None:
    """Empty ``__rebuild`` tables: whatever an earlier, unfinished fold left goes. The
    tables the workers fill get their indexes (other than their keys) once they are full, in
    the transaction that completes the fold: an index built from the whole table costs less
    than one kept up row by row in the workers' order, which is no order of its own (and on
    PostgreSQL that upkeep is the server's work, on the cores the workers need)."""
    from projections.merge import staging
    from projections.runner import REBUILD
    from projections.schema import DDL

    with (
        runner.store.transaction(staging(runner, units)) as cur,
        runner.store.fast_drops(cur),
    ):
        for unit in units:
            for table in unit.own:
                cur.execute(f"DROP TABLE IF EXISTS {runner.store.name(table + REBUILD)}")
                cur.execute(DDL[table])
                if table not in WRITTEN.get(unit.name, ()):
                    runner._index(cur, table, table)


# ---------------------------------------------------------------------- in a worker process


def fold_shard(shard: Shard) -> Folded:
    """In a worker: fold this shard's streams, chunk by chunk, into its tables."""
    from ledger.store.root import open_ledger
    from projections.runner import current_rules

    started, events = time.perf_counter(), 0
    phases = dict.fromkeys(("read", "decode", "fold", "write"), 0.0)
    with open_ledger(shard.url) as ledger:
        rules = current_rules(ledger)
        decoder = Decoder(ledger.mapper)
        # What is loaded by now lives as long as the worker: the collector need not walk it
        # again. Folding makes many small objects that die with their chunk, so young ones
        # are collected less often (peak RSS per worker measured the same: 122 MB at 1.3M
        # events, docs/performance.md).
        gc.freeze()
        gc.set_threshold(GC_YOUNG, 20, 100)
        low, high = bounds(shard.index, shard.workers)
        appended = ledger.ledger_recorder.range_events(low, high, shard.upto)
        with _sink(ledger, shard) as transaction:
            for chunk in _whole_streams(appended, phases):
                mark = time.perf_counter()
                batch = [
                    (a.position, decoder.decode(a.originator_id, a.version, a.topic, a.state))
                    for a in chunk
                ]
                folded = time.perf_counter()
                rows = _rows(shard.units, batch, rules)
                written = time.perf_counter()
                with transaction() as cur:
                    for table, (columns, table_rows) in rows.items():
                        cur.insert(table, columns, table_rows)
                done = time.perf_counter()
                phases["decode"] += folded - mark
                phases["fold"] += written - folded
                phases["write"] += done - written
                events += len(batch)
    elapsed = time.perf_counter() - started
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return Folded(events, elapsed, peak, {k: round(v, 3) for k, v in phases.items()})


def _whole_streams(
    appended: Iterator[Appended], phases: dict[str, float]
) -> Iterator[list[Appended]]:
    """The events, stream by stream, in chunks of whole streams (``STREAMS_PER_CHUNK``);
    the time spent waiting for them goes to ``phases["read"]``."""
    chunk: list[Appended] = []
    streams, last = 0, None
    mark = time.perf_counter()
    for a in appended:
        if a.originator_id != last:
            if streams == STREAMS_PER_CHUNK:
                phases["read"] += time.perf_counter() - mark
                yield chunk
                mark = time.perf_counter()
                chunk, streams = [], 0
            streams, last = streams + 1, a.originator_id
        chunk.append(a)
    phases["read"] += time.perf_counter() - mark
    if chunk:
        yield chunk


@contextmanager
def _sink(ledger: Ledger, shard: Shard) -> Iterator[Any]:
    """Transactions on the tables this worker fills: the ``__rebuild`` tables of the
    ledger's database, or (SQLite) the same tables in the worker's own scratch file."""
    from projections.db import ReadStore
    from projections.runner import REBUILD
    from projections.schema import DDL

    tables = [t for u in shard.units for t in WRITTEN[u]]
    if shard.scratch is None:
        store = ReadStore(ledger)
        names = {t: store.name(t + REBUILD) for t in tables}
        yield lambda: store.transaction(names)
        return
    conn = sqlite3.connect(shard.scratch, isolation_level=None)
    try:
        conn.row_factory = sqlite3.Row
        # A scratch file is thrown away if anything fails: no journal to keep.
        conn.execute("PRAGMA journal_mode = OFF")
        conn.execute("PRAGMA synchronous = OFF")
        names = {t: quoted(t) for t in tables}
        for table in tables:
            conn.execute(DDL[table].format(**names))

        @contextmanager
        def transaction() -> Iterator[Cursor]:
            conn.execute("BEGIN")
            yield Cursor(conn.cursor(), False, names)
            conn.execute("COMMIT")

        yield transaction
    finally:
        conn.close()


def _rows(
    units: tuple[str, ...], batch: list[tuple[int, Any]], rules: Rules
) -> dict[str, tuple[tuple[str, ...], list[tuple[Any, ...]]]]:
    """The rows a chunk of whole streams (each one's events in order) adds, by table."""
    from projections import audit
    from projections.casefold import fold_case, new_state
    from projections.cases import CASE_COLUMNS, CLOCK_COLUMNS, case_row, clock_rows

    rows: dict[str, tuple[tuple[str, ...], list[tuple[Any, ...]]]] = {}
    if "cases" in units:
        states: dict[str, dict[str, Any]] = {}
        stream, state = None, new_state()
        for _, event in batch:  # whole streams, one after another
            if type(event).__module__ == "ledger.domain.complaint":
                if event.originator_id != stream:
                    stream = event.originator_id
                    state = states.setdefault(stream.hex, new_state())
                fold_case(state, event)
        rows["case_folds"] = (
            ("case_id", "state"),
            [(case_id, json.dumps(s, separators=(",", ":"))) for case_id, s in states.items()],
        )
        rows["case_state"] = (CASE_COLUMNS, [case_row(s, rules) for s in states.values()])
        rows["sla_clocks"] = (
            CLOCK_COLUMNS,
            [row for s in states.values() for row in clock_rows(s, rules)],
        )
    if "audit_trail" in units:
        new_streams, trail = audit.audit_rows(batch, rules, dict(audit.FIXED_STREAMS))
        rows["audit_streams"] = (("stream_id", "ref", "policy_version"), new_streams)
        rows["audit_trail"] = (audit.AUDIT_COLUMNS, trail)
    return rows
