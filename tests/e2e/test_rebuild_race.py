"""Two processes that both find read models of an earlier shape, at the same moment: a
``projections run`` and a read that catches up first. One rebuilds; the other waits for it
and then finds the work done. Neither fails, and the read models are the rebuilt ones."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import psutil
import psycopg

from projections.schema import CASES_SHAPE, SHAPE_KEY
from tests.audit_helpers import is_sqlite, pg_schema, sqlite_path
from tests.conftest import PG_DSN
from tests.helpers import event_count, run
from tests.integration.test_projections import SCRIPT, dump

COMPLAINTS = 300
APPLICATION = f"rebuild-race-{uuid.uuid4().hex[:8]}"  # the test's processes' sessions


def set_shape(url: str, shape: int) -> None:
    """Pretend an earlier release built the case read models."""
    sql = "UPDATE {}projection_positions SET position = %s WHERE name = %s"
    if is_sqlite(url):
        with sqlite3.connect(sqlite_path(url)) as conn:
            conn.execute(sql.format("").replace("%s", "?"), (shape, SHAPE_KEY))
        conn.close()
        return
    with psycopg.connect(PG_DSN) as conn:
        conn.execute(sql.format(f"{pg_schema(url)}."), (shape, SHAPE_KEY))


def shape(url: str) -> int:
    sql = "SELECT position FROM {}projection_positions WHERE name = '" + SHAPE_KEY + "'"
    if is_sqlite(url):
        conn = sqlite3.connect(sqlite_path(url))
        try:
            return int(conn.execute(sql.format("")).fetchone()[0])
        finally:
            conn.close()
    with psycopg.connect(PG_DSN) as pg:
        row = pg.execute(sql.format(f"{pg_schema(url)}.")).fetchone()
        assert row is not None
        return int(row[0])


@contextmanager
def positions_held(url: str) -> Iterator[list[subprocess.Popen[bytes]]]:
    """Hold the read models' positions table so that the processes put in the yielded list
    stop at their first look at it (the shape); once both wait there, let them go together."""
    started: list[subprocess.Popen[bytes]] = []
    if is_sqlite(url):
        conn = sqlite3.connect(sqlite_path(url), isolation_level=None)
        conn.execute("BEGIN IMMEDIATE")  # their look at the shape is a write transaction
        yield started
        _both_opened(sqlite_path(url), started)
        conn.execute("COMMIT")
        conn.close()
        return
    with psycopg.connect(PG_DSN) as pg:
        table = f"{pg_schema(url)}.projection_positions"
        pg.execute(f"LOCK TABLE {table} IN ACCESS EXCLUSIVE MODE")
        yield started
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            # Waiting for the table, or (a rebuild behind another) for the rebuild's lock.
            # Only this test's processes count: other tests on the server wait for advisory
            # locks of their own, which would let the two go before they got here. (Within a
            # transaction pg_stat_activity is read once unless its snapshot is cleared.)
            pg.execute("SELECT pg_stat_clear_snapshot()")
            waiting = pg.execute(
                "SELECT count(DISTINCT pid) FROM pg_locks WHERE NOT granted AND "
                "(relation = %s::regclass OR locktype = 'advisory') AND pid IN "
                "(SELECT pid FROM pg_stat_activity WHERE application_name = %s)",
                (table, APPLICATION),
            ).fetchone()
            if waiting is not None and waiting[0] >= 2:
                break
            time.sleep(0.05)
        else:
            raise AssertionError("the two processes never reached the read models")
        pg.commit()


def spawn(*args: str) -> subprocess.Popen[bytes]:
    env = {**os.environ, "PGAPPNAME": APPLICATION}  # libpq names their sessions so
    return subprocess.Popen([SCRIPT, *args], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE)  # fmt: skip


def _both_opened(path: str, processes: list[subprocess.Popen[bytes]]) -> None:
    """Wait until every process has the ledger's file open, and a moment more for it to
    reach the write lock the test holds."""
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        opened = [
            any(f.path == str(Path(path).resolve()) for f in psutil.Process(p.pid).open_files())
            for p in processes
            if p.poll() is None
        ]
        if len(opened) == len(processes) and all(opened):
            time.sleep(2)
            return
        time.sleep(0.05)
    raise AssertionError("the two processes never opened the ledger")


def test_a_run_and_a_read_that_both_find_an_old_shape_rebuild_once_without_error(
    ledger_url: str,
) -> None:
    commands = run(ledger_url, "generate", "--complaints", str(COMPLAINTS)).stdout
    assert run(ledger_url, "apply", "--bulk", "-", input=commands).exit_code == 0
    assert run(ledger_url, "projections", "run").exit_code == 0
    expected, head = dump(ledger_url), event_count(ledger_url)
    set_shape(ledger_url, CASES_SHAPE - 1)

    with positions_held(ledger_url) as started:
        for args in (["projections", "run"], ["list", "--limit", "5", "--format", "json"]):
            started.append(spawn(*args, "--db", ledger_url))
    outcomes = [(p.wait(timeout=300), *(s.decode() for s in p.communicate())) for p in started]

    ran, listed = outcomes
    assert (ran[0], ran[2]) == (0, ""), ran[2]
    assert (listed[0], listed[2]) == (0, f"lag: 0 events (read models at position {head}, "
                                         "the head of the log)\n"), listed[2]  # fmt: skip
    assert shape(ledger_url) == CASES_SHAPE
    assert dump(ledger_url) == expected


def test_two_rebuilds_at_once_take_turns_and_both_succeed(ledger_url: str) -> None:
    commands = run(ledger_url, "generate", "--complaints", str(COMPLAINTS)).stdout
    assert run(ledger_url, "apply", "--bulk", "-", input=commands).exit_code == 0
    assert run(ledger_url, "projections", "run").exit_code == 0
    expected, head = dump(ledger_url), event_count(ledger_url)

    with positions_held(ledger_url) as started:
        for workers in ("1", "2"):
            started.append(
                spawn("projections", "rebuild", "--workers", workers, "--db", ledger_url)
            )
    outcomes = [(p.wait(timeout=300), *(s.decode() for s in p.communicate())) for p in started]

    rebuilt = f"rebuilt case_state, sla_clocks, audit_trail, statistics from {head} event(s)\n"
    assert outcomes == [(0, rebuilt, ""), (0, rebuilt, "")]
    assert dump(ledger_url) == expected
