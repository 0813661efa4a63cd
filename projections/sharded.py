"""A sharded rebuild: the log's streams split among worker processes by a hash of their id.

A read model built from the log is a fold per stream (the case read models), or rows that
each depend on one event and its stream's first one (the audit trail). So a worker can
read its streams one after another, each stream's events in order (the way Marten's
per-stream rebuild does), instead of the whole log in log order, and workers need not
wait for each other. What they fold is every event up to one position, the head when the
rebuild starts; the runner then applies what came after in log order, as any catch-up,
and swaps the rebuilt tables in, in one transaction (``Runner.rebuild``).

Where the workers write depends on the backend. On PostgreSQL they write the ``__rebuild``
tables themselves, in parallel. On SQLite one write lock would make them take turns, so
each writes a scratch file of its own, and the parent copies the files into the
``__rebuild`` tables in one transaction (SQLite copies them table to table, without Python).
Either way the rebuild's position moves to the head only once every worker is done, in
the transaction that holds their last rows: a rebuild killed before then has no position,
and running it again folds afresh; the live tables serve readers all along.
"""

from __future__ import annotations

import json
import os
import resource
import sqlite3
import tempfile
import time
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any
from uuid import UUID

from eventsourcing.persistence import StoredEvent

from projections.db import Cursor, quoted
from projections.decoding import decode

if TYPE_CHECKING:
    from ledger.store.root import Ledger
    from projections.cases import Rules
    from projections.runner import Runner, Unit

STREAMS_PER_CHUNK = 500  # streams read, folded and written together by a worker
# A fault point for the tests that kill a rebuild mid-fold: with this set to a folder, each
# worker, once its first chunk is committed, leaves a file ``shard-N`` there and waits to be
# killed, so the kill never races the fold.
HOLD_AFTER_FIRST_CHUNK = "LEDGER_TEST_HOLD_FOLD"
WRITTEN = {  # the tables a worker fills, by unit (the parent writes the rest)
    "cases": ("case_folds", "case_state", "sla_clocks"),
    "audit_trail": ("audit_trail", "audit_streams"),
}


def default_workers() -> int:
    """The number of cores this process may use."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def shard_of(stream: UUID, workers: int) -> int:
    """The worker a stream belongs to: a stable hash of its id (the same in every process)."""
    return zlib.crc32(stream.bytes) % workers


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
    """What a worker did: the events it folded, in how long, and its peak resident memory."""

    events: int
    seconds: float
    peak_rss_kb: int


def fold(runner: Runner, units: list[Unit], workers: int) -> list[Folded]:
    """Fold every stream up to the head into the units' fresh ``__rebuild`` tables with
    ``workers`` processes, and move the units' rebuild positions to the head; one entry per
    worker (none when the log is empty)."""
    from projections.parallel import fold_in_processes
    from projections.runner import REBUILD, current_rules

    assert runner.url is not None
    upto = runner.head()
    if upto == 0:
        return []
    names = [u.name for u in units]
    _fresh_tables(runner, units)
    with tempfile.TemporaryDirectory(prefix="ledger-rebuild-") as scratch_dir:
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
        folded = fold_in_processes(shards)
        rules = current_rules(runner.ledger)
        keys = [n + REBUILD for n in names]
        if runner.store.postgres:
            with runner.store.transaction(_staging(runner, units)) as cur:
                _finish(cur, units, rules, keys, upto)
        else:
            _merge_scratch(runner, units, shards, rules, keys, upto)
    return folded


def _fresh_tables(runner: Runner, units: list[Unit]) -> None:
    """Empty ``__rebuild`` tables: whatever an earlier, unfinished fold left goes."""
    from projections.runner import REBUILD
    from projections.schema import DDL

    with runner.store.transaction(_staging(runner, units)) as cur:
        for unit in units:
            for table in unit.own:
                cur.execute(f"DROP TABLE IF EXISTS {runner.store.name(table + REBUILD)}")
                cur.execute(DDL[table])
                runner._index(cur, table, table)


def _staging(runner: Runner, units: list[Unit], qualified: bool = True) -> dict[str, str]:
    """Table names for SQL: the units' own tables as their ``__rebuild`` ones."""
    names = runner._names([(u, "") for u in units], True)
    if not qualified:  # a connection of its own, with scratch files attached: say ``main``
        names = {t: f"main.{n}" for t, n in names.items()}
    return names


def _finish(cur: Cursor, units: list[Unit], rules: Rules, keys: list[str], upto: int) -> None:
    """In the transaction that completes the fold: the publications, and the positions."""
    from projections import tally
    from projections.publications import keep_publications

    if any(u.name == "cases" for u in units):
        keep_publications(cur, rules)
        tally.refresh(cur)  # the workers wrote sla_clocks alone: count the breaches from it
    for key in keys:
        cur.execute(
            "INSERT INTO {positions} VALUES (?, ?) "
            "ON CONFLICT (name) DO UPDATE SET position = excluded.position",
            (key, upto),
        )


def _merge_scratch(
    runner: Runner,
    units: list[Unit],
    shards: list[Shard],
    rules: Rules,
    keys: list[str],
    upto: int,
) -> None:
    """Copy the workers' files into the ``__rebuild`` tables, in one transaction."""
    from projections.runner import REBUILD

    db_name = runner.store.datastore.pool.db_name  # type: ignore[union-attr]
    conn = sqlite3.connect(db_name, uri=True, timeout=60, isolation_level=None)
    try:
        conn.row_factory = sqlite3.Row
        for shard in shards:  # ATTACH is refused inside a transaction
            conn.execute("ATTACH DATABASE ? AS ?", (shard.scratch, f"shard{shard.index}"))
        conn.execute("BEGIN IMMEDIATE")
        for unit in units:
            for table in WRITTEN[unit.name]:
                columns = ", ".join(
                    r[1] for r in conn.execute(f"PRAGMA main.table_info({quoted(table + REBUILD)})")
                )
                for shard in shards:
                    conn.execute(
                        f"INSERT INTO main.{quoted(table + REBUILD)} ({columns}) "
                        f"SELECT {columns} FROM shard{shard.index}.{quoted(table)}"
                    )
        cur = Cursor(conn.cursor(), False, _staging(runner, units, qualified=False))
        _finish(cur, units, rules, keys, upto)
        conn.execute("COMMIT")
    finally:
        conn.close()


# ---------------------------------------------------------------------- in a worker process


def fold_shard(shard: Shard) -> Folded:
    """In a worker: fold this shard's streams, chunk by chunk, into its tables."""
    from ledger.store.root import open_ledger
    from projections.runner import current_rules

    started, events = time.perf_counter(), 0
    with open_ledger(shard.url) as ledger:
        rules = current_rules(ledger)
        recorder = ledger.ledger_recorder
        streams = [
            s for s in recorder.stream_ids(shard.upto) if shard_of(s, shard.workers) == shard.index
        ]
        with _sink(ledger, shard) as transaction:
            for start in range(0, len(streams), STREAMS_PER_CHUNK):
                chunk = streams[start : start + STREAMS_PER_CHUNK]
                batch = [
                    (a.position, decode(ledger.mapper, StoredEvent(a.originator_id, a.version,
                                                                   a.topic, a.state)))
                    for a in recorder.streams_events(chunk, shard.upto)
                ]  # fmt: skip
                with transaction() as cur:
                    _write(cur, shard.units, batch, rules)
                events += len(batch)
                if start == 0 and (hold := os.environ.get(HOLD_AFTER_FIRST_CHUNK)):
                    _hold(Path(hold), shard.index)
    elapsed = time.perf_counter() - started
    return Folded(events, elapsed, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)


def _hold(folder: Path, index: int) -> None:
    """Say this worker has folded a chunk, then wait for the kill (see HOLD_AFTER_FIRST_CHUNK)."""
    (folder / f"shard-{index}").touch()
    while True:
        time.sleep(0.05)


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


def _write(cur: Cursor, units: tuple[str, ...], batch: list[tuple[int, Any]], rules: Rules) -> None:
    """Fold a chunk of whole streams (each one's events in order) into the tables."""
    from projections import audit
    from projections.casefold import fold_case, new_state
    from projections.cases import CASE_COLUMNS, CLOCK_COLUMNS, case_row, clock_rows

    if "cases" in units:
        states: dict[str, dict[str, Any]] = {}
        for _, event in batch:
            if type(event).__module__ == "ledger.domain.complaint":
                fold_case(states.setdefault(event.originator_id.hex, new_state()), event)
        folds = [(case_id, json.dumps(s, separators=(",", ":"))) for case_id, s in states.items()]
        cur.insert("case_folds", ("case_id", "state"), folds)
        cur.insert("case_state", CASE_COLUMNS, [case_row(s, rules) for s in states.values()])
        cur.insert("sla_clocks", CLOCK_COLUMNS,
                   [row for s in states.values() for row in clock_rows(s, rules)])  # fmt: skip
    if "audit_trail" in units:
        audit.apply_events(cur, batch, rules)
