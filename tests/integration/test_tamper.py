"""Tampering with the stored events directly in SQL, as a superuser who disables the
append-only triggers would: ``verify`` names the first divergence, on both backends."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import psycopg
import pytest

from ledger.integrity.chain import GENESIS, log_link, record_hash, stream_link
from tests.audit_helpers import (
    SEAL_ENV,
    VERIFY_ENV,
    Superuser,
    is_sqlite,
    pg_schema,
    sqlite_path,
    superuser,
)
from tests.conftest import PG_DSN
from tests.helpers import jsonl, life_cmds, run

NOTE = "ledger.complaint:Complaint.NoteAdded"


@pytest.fixture
def sealed(ledger_url: str, tmp_path: Path) -> str:
    """Three complaints (TS-1 and TS-2 closed, TS-3 planned), sealed, then one more note."""
    commands = life_cmds("TS-1") + life_cmds("TS-2") + life_cmds("TS-3", until="plan")
    assert run(ledger_url, "apply", "-", input=jsonl(commands)).exit_code == 0
    digest = tmp_path / "digest.json"
    assert run(ledger_url, "seal", "--out", str(digest), env=SEAL_ENV).exit_code == 0
    note = ["add-note", "TS-3", "--text", "回访预约", "--actor", "li", "--role", "customer_service"]
    assert run(ledger_url, *note).exit_code == 0
    return ledger_url


def verify(url: str, *args: str, env: dict[str, str] | None = None) -> tuple[int, str]:
    """``verify ARGS`` as an auditor holding the seal's public key runs it (``env``)."""
    result = run(url, "verify", *args, env=VERIFY_ENV if env is None else env)
    assert "Traceback" not in result.output
    return result.exit_code, (result.stderr or result.stdout).strip()


def relink(db: Superuser) -> None:
    """Recompute every chain link from the events as they now are, as someone who knows how
    the chain is made (it is unkeyed) would after changing an event."""
    previous, heads = GENESIS, {}
    for row in db.links():
        position, oid, version = row[0], db.uuid(row[2]), row[3]
        query = f"SELECT topic, state FROM {db.events} WHERE {db.pos} = ?"
        topic, state = db.sql(query, position)[0]
        record = record_hash(oid, version, topic, bytes(state))
        previous = log_link(previous, position, record)
        heads[oid] = stream_link(heads.get(oid, GENESIS), position, version, record)
        db.replace_link(position, previous, heads[oid], record)


def test_an_untouched_ledger_verifies_intact(sealed: str) -> None:
    code, out = verify(sealed)

    assert code == 0
    assert out.splitlines()[0] == "verified 24 events (to position 24) and 1 seal: intact"
    assert out.splitlines()[-1].endswith("(LEDGER_VERIFY_PUBLIC_KEY)")


def test_one_changed_byte_is_named_by_position_reference_and_version(sealed: str) -> None:
    with superuser(sealed) as db:
        position = db.position_of("TS-2", 2)
        db.change_byte(position, offset=len(db.state_at(position)) - 5)

    code, out = verify(sealed)

    assert code == 1
    assert out == (
        f"Error: position {position} (TS-2 version 2): Triaged differs from what was "
        "chained: its stored bytes or topic were changed"
    )


def test_a_deleted_event_is_named(sealed: str) -> None:
    with superuser(sealed) as db:
        position = db.position_of("TS-1", 5)
        db.delete(position)

    code, out = verify(sealed)

    assert code == 1
    assert out == f"Error: position {position} (TS-1 version 5): the event is missing: deleted"


def test_an_event_deleted_with_its_link_is_named_by_position(sealed: str) -> None:
    with superuser(sealed) as db:
        position = db.position_of("TS-1", 5)
        db.delete(position)
        db.sql("DELETE FROM chain_links WHERE position = ?", position)

    code, out = verify(sealed)

    assert code == 1
    assert out == (
        f"Error: position {position}: the chain expects an event here but neither the event "
        "nor its link exists: deleted"
    )


def test_a_deleted_complaint_is_named_by_its_first_event(sealed: str) -> None:
    with superuser(sealed) as db:
        first = db.position_of("TS-2", 1)
        db.delete_complaint("TS-2")

    code, out = verify(sealed)

    assert code == 1
    assert out == f"Error: position {first} (TS-2 version 1): the event is missing: deleted"


def test_a_forged_event_is_named(sealed: str) -> None:
    with superuser(sealed) as db:
        state = db.state_at(db.position_of("TS-1", 8))
        position = db.insert("TS-1", 9, NOTE, state)

    code, out = verify(sealed)

    assert code == 1
    assert out == (
        f"Error: position {position} (TS-1 version 9): NoteAdded has no chain link: it was "
        "inserted outside the ledger (forged)"
    )


def test_two_swapped_events_are_named_at_the_first_of_them(sealed: str) -> None:
    with superuser(sealed) as db:
        first, second = db.position_of("TS-1", 3), db.position_of("TS-2", 3)
        db.swap(first, second)

    code, out = verify(sealed)

    assert code == 1
    assert out == (
        f"Error: position {first} (TS-2 version 3): the chain has TS-1 version 3 here: "
        "events were moved or swapped"
    )


def test_a_change_with_every_later_link_recomputed_is_caught_by_the_seal(sealed: str) -> None:
    with superuser(sealed) as db:
        changed = db.position_of("TS-1", 4)
        db.change_byte(changed, offset=len(db.state_at(changed)) - 5)
        relink(db)

    code, out = verify(sealed)

    assert code == 1
    assert out.startswith("Error: position 21: the recomputed chain head differs from the seal")


SEAL_DAMAGE = {
    "bytes that do not decode": ("state", b"{not json"),
    "another kind of event": ("topic", "ledger.sealbook:SealBook.Opened"),
}


@pytest.mark.parametrize(("column", "value"), SEAL_DAMAGE.values(), ids=SEAL_DAMAGE.keys())
def test_a_seal_made_unreadable_and_relinked_fails_verification(
    sealed: str, tmp_path: Path, column: str, value: object
) -> None:
    assert run(sealed, "seal", "--out", str(tmp_path / "d2.json"), env=SEAL_ENV).exit_code == 0
    with superuser(sealed) as db:  # the second seal; the first still vouches for the rest
        position = db.position_of("@seals", 3)
        db.sql(f"UPDATE {db.events} SET {column} = ? WHERE {db.pos} = ?", value, position)
        relink(db)

    results = [verify(sealed), verify(sealed, "TS-1")]
    sealing = run(sealed, "seal", "--out", str(tmp_path / "again.json"), env=SEAL_ENV)

    said = (
        f"Error: position {position} (@seals version 3): the seal event cannot be decoded "
        if column == "state"
        else f"Error: position {position} (@seals version 3): Opened stands where the seal "
        "stream holds LedgerSealed: the seal event was changed outside the ledger"
    )
    assert [code for code, _ in results] == [1, 1]
    assert all(out.startswith(said) for _, out in results), results
    assert (sealing.exit_code, sealing.stderr.startswith(said)) == (1, True), sealing.output


def test_verify_of_one_complaint_names_its_changed_version(sealed: str) -> None:
    with superuser(sealed) as db:
        position = db.position_of("TS-3", 4)
        db.change_byte(position, offset=20)

    assert verify(sealed, "TS-1")[0] == 0
    code, out = verify(sealed, "TS-3")

    assert code == 1
    assert out.startswith(f"Error: position {position} (TS-3 version 4): FindingsRecorded differs")


def test_removing_the_sealed_event_itself_is_caught_with_the_digest_or_the_key(
    sealed: str, tmp_path: Path
) -> None:
    with superuser(sealed) as db:
        seal_book = db.position_of("@seals", 1)
        db.sql(f"DELETE FROM {db.events} WHERE {db.pos} >= ?", seal_book)
        db.sql("DELETE FROM chain_links WHERE position >= ?", seal_book)

    forgot_the_log = verify(sealed)
    with superuser(sealed) as db:  # the note's command-log entry names an event now gone
        db.sql("DELETE FROM command_log WHERE ref = ? AND version = ?", "TS-3", 6)

    assert forgot_the_log[0] == 1
    assert forgot_the_log[1].startswith("Error: the command log has command ")
    assert forgot_the_log[1].endswith(
        "leaving TS-3 at version 6, but no such event of that command exists: the entry was "
        "inserted or altered, or the events were deleted"
    )
    unanchored = verify(sealed, "--no-anchor", env={})  # the shortened log is self-consistent
    code, out = verify(sealed, "--digest", str(tmp_path / "digest.json"))
    by_key = verify(sealed)

    assert unanchored[0] == 0
    assert "not anchored (--no-anchor)" in unanchored[1]
    assert code == 1
    assert "the seal event was removed" in out
    assert by_key[0] == 1
    assert by_key[1].startswith("Error: no seal ties what was checked to key ")


def test_update_and_delete_through_a_normal_connection_are_refused(sealed: str) -> None:
    if is_sqlite(sealed):
        conn = sqlite3.connect(sqlite_path(sealed))
        for table in ("stored_events", "chain_links"):
            for statement in (f"UPDATE {table} SET rowid = rowid", f"DELETE FROM {table}"):
                with pytest.raises(sqlite3.IntegrityError, match="append-only"):
                    conn.execute(statement)
        conn.close()
    else:
        with psycopg.connect(PG_DSN, autocommit=True) as conn:
            conn.execute(f"SET search_path TO {pg_schema(sealed)}")
            for table in ("complaintledger_events", "chain_links"):
                for statement in (
                    f"UPDATE {table} SET state = state"
                    if table != "chain_links"
                    else f"UPDATE {table} SET link = link",
                    f"DELETE FROM {table}",
                    f"TRUNCATE {table}",
                ):
                    with pytest.raises(psycopg.errors.RaiseException, match="append-only"):
                        conn.execute(statement)

    assert verify(sealed)[0] == 0
