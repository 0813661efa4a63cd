"""The end of a sharded rebuild's fold, once its workers are done (``projections.sharded``):
the staged tables' indexes, the tally, the publications, the statistics, the positions.

None of it shards by stream, so while one process does it the other cores sit idle. On
PostgreSQL it is cut into statements that need no order among them (each index, the
tally, the publications, the statistics) and run on as many connections as the process
has cores, each statement in a transaction of its own; the positions then move in one
more. Committing them apart is safe: staged tables count only once their position is set,
and a rebuild that finds them without one drops them and folds afresh.

On SQLite one write lock makes writers take turns, so the parent copies the workers'
scratch files and does the rest in one transaction, one statement after another.
(Copying each table in the order of its key, the scratch files merged as read, was
measured slower: 5.7 s against about 2.6 s at 129,901 events.)
"""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from projections.cores import usable_cores
from projections.db import Cursor, quoted

if TYPE_CHECKING:
    from projections.cases import Rules
    from projections.runner import Runner, Unit

MERGE_CACHE_KB = 262_144  # SQLite's page cache while the parent merges the scratch files
WRITTEN = {  # the tables a worker fills, by unit (the parent writes the rest)
    "cases": ("case_folds", "case_state", "sla_clocks"),
    "audit_trail": ("audit_trail", "audit_streams"),
}
Job = tuple[str, Callable[[Cursor], None]]


def staging(runner: Runner, units: list[Unit], qualified: bool = True) -> dict[str, str]:
    """Table names for SQL: the units' own tables as their ``__rebuild`` ones."""
    names = runner._names([(u, "") for u in units], True)
    if not qualified:  # a connection of its own, with scratch files attached: say ``main``
        names = {t: f"main.{n}" for t, n in names.items()}
    return names


def jobs(
    cur: Cursor, units: list[Unit], rules: Rules, statistics: bool, placeholder: bool = True
) -> list[Job]:
    """What completes the staged tables once the workers are done, in no order of need:
    each index the workers' tables lack, and (cases) the tally, the publications and, with
    ``statistics``, the staged statistics; the indexes first."""
    from projections import statistics as stats
    from projections import tally
    from projections.publications import keep_publications
    from projections.runner import REBUILD, index_statements

    todo: list[Job] = []
    for unit in units:
        for table in WRITTEN[unit.name]:
            # SQLite: CREATE INDEX names its table unqualified (``main`` is where it goes).
            target = table if placeholder else quoted(table + REBUILD)
            for n, statement in enumerate(index_statements(cur, table, table)):
                sql = statement if placeholder else statement.replace(f"{{{table}}}", target)
                todo.append((f"index {table} {n}", lambda c, sql=sql: c.execute(sql)))  # type: ignore[misc]
    if any(u.name == "cases" for u in units):
        # After the indexes, which their queries use (run before them, the tally took twice
        # as long); on PostgreSQL each begins as soon as a connection is free.
        todo.append(("tally", tally.refresh))  # the workers wrote sla_clocks alone
        if statistics:
            todo.append(("statistics", stats.work_out_all))
        todo.append(("publications", lambda c: keep_publications(c, rules)))
    return todo


def run_jobs(runner: Runner, names: dict[str, str], todo: list[Job]) -> dict[str, float]:
    """Run the jobs on as many connections as this process has cores (at most as many as
    the ledger's pool holds), each in a transaction of its own; the seconds each took. The
    first failure stops the others at their next job and is raised."""
    pending, lock = list(todo), threading.Lock()
    failures: list[BaseException] = []
    seconds: dict[str, float] = {}

    def work() -> None:
        while True:
            with lock:
                if failures or not pending:
                    return
                label, job = pending.pop(0)
            started = time.perf_counter()
            try:
                with runner.store.transaction(names) as cur:
                    job(cur)
            except BaseException as failure:  # raised in the caller's thread
                with lock:
                    failures.append(failure)
                return
            seconds[label] = time.perf_counter() - started

    # No more threads than the ledger's pool has connections: one waiting for a connection
    # longer than the pool's timeout (5 s) would fail the rebuild.
    connections = usable_cores()
    if runner.store.postgres:
        connections = min(connections, runner.store.datastore.pool.max_size)  # type: ignore[union-attr]
    threads = [threading.Thread(target=work) for _ in range(min(connections, len(todo)))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if failures:
        raise failures[0]
    return seconds


def finish_postgres(
    runner: Runner, units: list[Unit], rules: Rules, keys: list[str], upto: int, statistics: bool
) -> None:
    """PostgreSQL: complete the staged tables on several connections, then move the
    positions to ``upto``."""
    from projections.runner import UNITS

    named = [*units, UNITS["statistics"]] if statistics else units
    names = staging(runner, named)
    with runner.store.transaction(names, commit=False) as cur:
        todo = jobs(cur, units, rules, statistics)
    with runner.phase("indexes"):
        seconds = run_jobs(runner, names, todo)
    runner.phases.update({f"job:{label}": s for label, s in seconds.items()})
    with runner.store.transaction(names) as cur:
        set_positions(cur, keys, upto)


def set_positions(cur: Cursor, keys: list[str], upto: int) -> None:
    for key in keys:
        cur.execute(
            "INSERT INTO {positions} VALUES (?, ?) "
            "ON CONFLICT (name) DO UPDATE SET position = excluded.position",
            (key, upto),
        )


def merge_scratch(
    runner: Runner,
    units: list[Unit],
    scratch: list[str],
    rules: Rules,
    keys: list[str],
    upto: int,
    statistics: bool,
) -> None:
    """SQLite: copy the workers' files into the ``__rebuild`` tables, complete them and
    move the positions, in one transaction."""
    from projections.runner import REBUILD, UNITS

    db_name = runner.store.datastore.pool.db_name  # type: ignore[union-attr]
    conn = sqlite3.connect(db_name, uri=True, timeout=60, isolation_level=None)
    try:
        conn.row_factory = sqlite3.Row
        # The staged tables' keys take rows in the workers' order, which is not theirs: a
        # cache that holds those indexes whole (some 60 MB at a million events) spares the
        # merge a read of the file for most rows. Its pages are taken only as they are used.
        conn.execute(f"PRAGMA cache_size = -{MERGE_CACHE_KB}")
        # CREATE INDEX sorts its table; with helper threads the sort uses the other cores.
        conn.execute(f"PRAGMA threads = {usable_cores()}")
        for index, path in enumerate(scratch):  # ATTACH is refused inside a transaction
            conn.execute("ATTACH DATABASE ? AS ?", (path, f"shard{index}"))
        conn.execute("BEGIN IMMEDIATE")
        with runner.phase("copy"):
            for unit in units:
                for table in WRITTEN[unit.name]:
                    _copy(conn, table, table + REBUILD, len(scratch))
        named = [*units, UNITS["statistics"]] if statistics else units
        cur = Cursor(conn.cursor(), False, staging(runner, named, qualified=False))
        with runner.phase("indexes"):
            for label, job in jobs(cur, units, rules, statistics, placeholder=False):
                started = time.perf_counter()
                job(cur)
                runner.phases[f"job:{label}"] = time.perf_counter() - started
        set_positions(cur, keys, upto)
        with runner.phase("merge_commit"):
            conn.execute("COMMIT")
    finally:
        conn.close()


def _copy(conn: sqlite3.Connection, table: str, staged: str, shards: int) -> None:
    """Copy ``table`` of every scratch file into ``staged`` (table to table, in SQLite)."""
    info = conn.execute(f"PRAGMA main.table_info({quoted(staged)})")
    columns = ", ".join(r[1] for r in info)
    for n in range(shards):
        conn.execute(
            f"INSERT INTO main.{quoted(staged)} ({columns}) "
            f"SELECT {columns} FROM shard{n}.{quoted(table)}"
        )
