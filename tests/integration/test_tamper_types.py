"""Tampering that changes the type a column's value is stored as (SQLite keeps whatever
type is written: ``state || x'00'`` makes an event's bytes text). ``verify`` names the
position as tampered in one ``Error:`` line, never a traceback. PostgreSQL's typed columns
refuse such values, so these cases are SQLite's alone."""

from __future__ import annotations

import sqlite3
from contextlib import closing
from pathlib import Path

import pytest

from tests.audit_helpers import SEAL_ENV, sqlite_path, superuser
from tests.helpers import jsonl, life_cmds, run
from tests.integration.test_tamper import verify


@pytest.fixture
def ledger(tmp_path: Path) -> str:
    url = f"sqlite:///{tmp_path / 'ledger.db'}"
    commands = life_cmds("TS-1") + life_cmds("TS-2", until="plan")
    assert run(url, "apply", "-", input=jsonl(commands)).exit_code == 0
    assert run(url, "seal", "--out", str(tmp_path / "digest.json"), env=SEAL_ENV).exit_code == 0
    return url


TYPE_CHANGES = {
    "state as text": "UPDATE stored_events SET state = state || x'00' WHERE rowid = ?",
    "state as a number": "UPDATE stored_events SET state = 7 WHERE rowid = ?",
    "topic as bytes": "UPDATE stored_events SET topic = CAST(topic AS BLOB) WHERE rowid = ?",
    "version as text": "UPDATE stored_events SET originator_version = "
    "originator_version || 'x' WHERE rowid = ?",
    "originator id as bytes": "UPDATE stored_events SET originator_id = "
    "CAST(originator_id AS BLOB) WHERE rowid = ?",
    "record hash as text": "UPDATE chain_links SET record_hash = hex(record_hash) "
    "WHERE position = ?",
    "originator id in capitals": "UPDATE stored_events SET originator_id = "
    "upper(originator_id) WHERE rowid = ?",
}


@pytest.mark.parametrize("change", TYPE_CHANGES.values(), ids=TYPE_CHANGES.keys())
def test_a_value_stored_as_another_type_is_named_as_tampered(ledger: str, change: str) -> None:
    with superuser(ledger) as db:
        position = db.position_of("TS-2", 2)
        db.sql(change, position)

    code, out = verify(ledger, "--no-anchor", env={})

    assert code == 1
    assert len(out.splitlines()) == 1, out
    assert out.startswith(f"Error: position {position}")
    assert "stored as" in out
    assert "changed outside the ledger" in out


@pytest.mark.parametrize("ref", ["TS-2", "seal-book"])
def test_one_complaint_or_the_seal_stream_with_text_state_is_named(ledger: str, ref: str) -> None:
    with superuser(ledger) as db:
        oid = db.oid("TS-2") if ref == "TS-2" else None
        if oid is None:
            position = int(db.sql("SELECT MAX(rowid) FROM stored_events")[0][0])  # the seal
        else:
            position = db.position_of("TS-2", 2)
        db.sql(TYPE_CHANGES["state as text"], position)

    for args in (["--no-anchor"], ["TS-2", "--no-anchor"]):
        code, out = verify(ledger, *args, env={})
        assert code == 1, out
        assert len(out.splitlines()) == 1, out
        assert out.startswith(f"Error: position {position}"), out
        assert "stored as" in out
        assert "changed outside the ledger" in out


SIDE_TABLE_CHANGES = {
    "a personal-data key as text": ("UPDATE person_keys SET key = hex(key)", "key"),
    "a command-log reference as bytes": (
        "UPDATE command_log SET ref = CAST(ref AS BLOB) WHERE ref = 'TS-2'",
        "command log",
    ),
}


@pytest.mark.parametrize("change", SIDE_TABLE_CHANGES.values(), ids=SIDE_TABLE_CHANGES.keys())
@pytest.mark.parametrize("args", [["--no-anchor"], ["TS-2", "--no-anchor"]], ids=["all", "one"])
def test_a_side_table_value_stored_as_another_type_is_named_as_tampered(
    ledger: str, change: tuple[str, str], args: list[str]
) -> None:
    statement, names = change
    with superuser(ledger) as db:
        db.sql(statement)

    code, out = verify(ledger, *args, env={})

    assert code == 1, out
    assert len(out.splitlines()) == 1, out
    assert out.startswith("Error: "), out
    assert names in out, out
    assert "stored as" in out, out
    assert "outside the ledger" in out, out


@pytest.mark.parametrize("table", ["chain_links", "command_log", "person_keys"])
@pytest.mark.parametrize("args", [["--no-anchor"], ["TS-2", "--no-anchor"]], ids=["all", "one"])
def test_a_table_dropped_is_a_database_error_in_one_line(
    ledger: str, table: str, args: list[str]
) -> None:
    """Read in one snapshot, the driver's errors are still the library's: one line."""
    with closing(sqlite3.connect(sqlite_path(ledger))) as db, db:
        db.execute(f"DROP TABLE {table}")

    code, out = verify(ledger, *args, env={})

    assert code == 1, out
    assert out.startswith("Error: database error: no such table: "), out
    assert out.endswith(table), out
