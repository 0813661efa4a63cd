"""Kill -9 of ``projections rebuild`` takes its worker processes with it, and a rerun finishes."""

from __future__ import annotations

import json
import sqlite3
import tempfile
import time
from pathlib import Path

import psutil
import psycopg

from projections.scratch import PREFIX
from tests.audit_helpers import is_sqlite, pg_schema, sqlite_path
from tests.conftest import PG_DSN
from tests.helpers import run
from tests.integration.test_projections import kill_while_folding, start_held

COMPLAINTS = 400


def rebuild_positions(url: str) -> list[tuple[str, int]]:
    """The rebuild's positions (a sharded rebuild sets them once its workers are done), read
    without writing."""
    query = "SELECT name, position FROM {}projection_positions WHERE name LIKE '%rebuild'"
    if is_sqlite(url):
        conn = sqlite3.connect(f"file:{sqlite_path(url)}?mode=ro", uri=True)
        try:
            return list(conn.execute(query.format("")).fetchall())
        except sqlite3.OperationalError:  # the table is not there yet
            return []
        finally:
            conn.close()
    with psycopg.connect(PG_DSN) as conn:
        try:
            return list(conn.execute(query.format(f"{pg_schema(url)}.")).fetchall())
        except psycopg.errors.UndefinedTable:
            return []


def alive(processes: list[psutil.Process]) -> list[psutil.Process]:
    """Those still running; a zombie no one has reaped yet counts as ended."""
    running = []
    for process in processes:
        try:
            if process.status() != psutil.STATUS_ZOMBIE:
                running.append(process)
        except psutil.NoSuchProcess:
            continue
    return running


def test_kill_9_of_a_rebuild_ends_its_workers_and_a_rerun_completes(
    ledger_url: str, tmp_path: Path
) -> None:
    commands = run(ledger_url, "generate", "--complaints", str(COMPLAINTS)).stdout
    assert run(ledger_url, "apply", "--bulk", "-", input=commands).exit_code == 0
    hold = tmp_path / "hold"
    parent = start_held(ledger_url, hold, "rebuild", "--workers", "2")
    deadline = time.monotonic() + 120
    workers: list[psutil.Process] = []
    while time.monotonic() < deadline and len(workers) < 2 and parent.poll() is None:
        workers = psutil.Process(parent.pid).children(recursive=True)
        time.sleep(0.05)
    assert len(workers) >= 2, "the rebuild never started its workers"

    kill_while_folding(parent, hold, workers=2)
    killed_at = rebuild_positions(ledger_url)
    gone_by = time.monotonic() + 3
    while alive(workers) and time.monotonic() < gone_by:
        time.sleep(0.05)

    assert alive(workers) == [], [p.cmdline() for p in alive(workers)]
    left = list(Path(tempfile.gettempdir()).glob(f"{PREFIX}{parent.pid}-*"))
    assert len(left) == 1  # the killed rebuild's scratch folder, named after it
    rerun = run(ledger_url, "projections", "rebuild")
    listed = run(ledger_url, "list", "--limit", "1000", "--format", "json")
    assert rerun.exit_code == 0, rerun.stderr
    assert all(position == 0 for _, position in killed_at), killed_at  # killed while folding
    assert len(json.loads(listed.stdout)) == COMPLAINTS
    assert not left[0].exists()  # removed by the rerun, its process having ended
