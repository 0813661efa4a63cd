"""Read commands only read: they create nothing, read the read models as they stand with
``--no-catch-up`` (or where they may not write), say how far behind the log that is, and
refuse with ``--max-lag`` when it is further."""

from __future__ import annotations

import json
import sqlite3
from contextlib import closing
from pathlib import Path

import psycopg
import pytest

from tests.audit_helpers import SEAL_ENV, is_sqlite, pg_schema, sqlite_path
from tests.conftest import PG_DSN
from tests.helpers import jsonl, life_cmds, run

BEHIND = "lag: 1 event behind the log (read models at position 8 of 9)"
READS = {
    "list": ["list"],
    "report sla": ["report", "sla"],
    "report stats": ["report", "stats"],
    "audit": ["audit", "TS-1"],
    "show": ["show", "TS-1"],
    "history": ["history", "TS-1"],
    "sla": ["sla", "TS-1"],
    "verify": ["verify", "--no-anchor"],
    "export": ["export", "TS-1", "--out", "bundle"],
    "export-commands": ["export-commands"],
    "projections status": ["projections", "status"],
    "staff list": ["staff", "list"],
    "policy list": ["policy", "list"],
    "policy show": ["policy", "show", "default-2026.1"],
    "calendar list": ["calendar", "list"],
    "training report": ["training", "report"],
    "drill list": ["drill", "list"],
}


def tables(url: str) -> list[str]:
    """Every table of the ledger's database (SQLite) or schema (PostgreSQL)."""
    if is_sqlite(url):
        if not Path(sqlite_path(url)).exists():
            return []
        with closing(sqlite3.connect(sqlite_path(url))) as db:
            rows = db.execute("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY 1")
            return [name for (name,) in rows]
    with psycopg.connect(PG_DSN) as conn:
        found = conn.execute(
            "SELECT tablename FROM pg_tables WHERE schemaname = %s ORDER BY 1", (pg_schema(url),)
        ).fetchall()
    return [name for (name,) in found]


def positions(url: str) -> list[tuple[object, ...]]:
    if is_sqlite(url):
        with closing(sqlite3.connect(sqlite_path(url))) as db:
            return db.execute("SELECT * FROM projection_positions ORDER BY name").fetchall()
    with psycopg.connect(PG_DSN) as conn:
        return conn.execute(
            f"SELECT * FROM {pg_schema(url)}.projection_positions ORDER BY name"
        ).fetchall()


@pytest.fixture
def behind(ledger_url: str) -> str:
    """A closed complaint, projected, then a note the read models have not seen."""
    assert run(ledger_url, "apply", "-", input=jsonl(life_cmds("TS-1"))).exit_code == 0
    assert run(ledger_url, "projections", "run").exit_code == 0
    note = ["--text", "回访", "--actor", "li", "--role", "leadership"]
    assert run(ledger_url, "add-note", "TS-1", *note).exit_code == 0
    return ledger_url


def test_without_catching_up_reads_say_how_far_behind_the_log_they_are(behind: str) -> None:
    trail = run(behind, "audit", "TS-1", "--no-catch-up", "--format", "json")
    table = run(behind, "audit", "TS-1", "--no-catch-up")
    report = run(behind, "report", "sla", "--no-catch-up", "--format", "json")
    listed = run(behind, "list", "--no-catch-up", "--format", "csv")

    assert [row["action"] for row in json.loads(trail.stdout)][-1] == "Closed"
    assert trail.stderr == BEHIND + "\n"
    assert table.stdout.splitlines()[-1] == BEHIND
    assert table.stderr == ""
    assert json.loads(report.stdout)["lag"] == 1
    assert report.stderr == ""
    assert listed.stdout.startswith("ref,status,stage,")
    assert listed.stderr == BEHIND + "\n"


def test_reads_that_may_write_catch_up_first(behind: str) -> None:
    trail = run(behind, "audit", "TS-1", "--format", "json")

    assert [row["action"] for row in json.loads(trail.stdout)][-1] == "NoteAdded"
    assert trail.stderr == "lag: 0 events (read models at position 9, the head of the log)\n"


@pytest.mark.parametrize(
    "args",
    [["list"], ["report", "sla", "--format", "json"], ["report", "stats"], ["audit", "TS-1"]],
    ids=["list", "report sla", "report stats", "audit"],
)
def test_max_lag_refuses_read_models_further_behind_in_one_line(
    behind: str, args: list[str]
) -> None:
    refused = run(behind, *args, "--no-catch-up", "--max-lag", "0")
    allowed = run(behind, *args, "--no-catch-up", "--max-lag", "1")

    assert (refused.exit_code, refused.stdout) == (1, "")
    assert refused.stderr == (
        "Error: the read models are 1 event behind the log (position 8 of 9), more than "
        "--max-lag 0: run complaint-ledger projections run, or keep projections follow "
        "running\n"
    )
    assert allowed.exit_code == 0, allowed.stderr


def test_max_lag_is_met_by_catching_up_first(behind: str) -> None:
    result = run(behind, "list", "--max-lag", "0", "--format", "json")

    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout)[0]["ref"] == "TS-1"


@pytest.mark.parametrize("args", READS.values(), ids=READS.keys())
def test_reading_where_there_is_no_ledger_creates_nothing(
    ledger_url: str, args: list[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)

    result = run(ledger_url, *args)

    assert result.exit_code == 1
    assert result.stderr.startswith("Error: there is no ledger at ")
    assert result.stderr.endswith(
        ": nothing has been recorded there yet (reading creates nothing)\n"
    )
    assert tables(ledger_url) == []
    assert list(tmp_path.iterdir()) == []  # no ledger file, no -wal, no bundle


@pytest.mark.parametrize("args", READS.values(), ids=READS.keys())
def test_reads_leave_the_database_as_it_was(
    behind: str, args: list[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Everything but catching up (turned off here) leaves every table as it was."""
    monkeypatch.chdir(tmp_path)
    assert run(behind, "seal", "--out", str(tmp_path / "digest.json"), env=SEAL_ENV).exit_code == 0
    extra = ["--no-catch-up"] if args[0] in ("list", "report", "audit") else []
    before = (tables(behind), run(behind, "export-commands").stdout, positions(behind))

    result = run(behind, *args, *extra)

    assert result.exit_code == 0, result.stderr
    assert (tables(behind), run(behind, "export-commands").stdout, positions(behind)) == before


def test_without_read_models_a_read_that_may_not_catch_up_says_so_and_creates_none(
    ledger_url: str,
) -> None:
    assert run(ledger_url, "apply", "-", input=jsonl(life_cmds("TS-1"))).exit_code == 0
    before = tables(ledger_url)

    result = run(ledger_url, "report", "sla", "--no-catch-up")

    assert result.exit_code == 1
    assert result.stderr == (
        "Error: the read models have not been built yet (no table case_state): run "
        "complaint-ledger projections run, as a login that may write them\n"
    )
    assert tables(ledger_url) == before
