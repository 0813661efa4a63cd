"""Tampering with the two tables the hash chain does not cover, the personal-data keys and
the command log: ``verify`` (with and without a digest, and for one complaint) checks both
against the chained events and names what was done, on both backends."""

from __future__ import annotations

from pathlib import Path

import pytest

from ledger.store.root import open_ledger
from tests.audit_helpers import superuser
from tests.helpers import jsonl, life_cmds, run
from tests.integration.test_tamper import sealed, verify

__all__ = ["sealed"]  # the fixture, shared with the chain's own tamper tests

CS = ["--actor", "li", "--role", "customer_service"]
LEAD = ["--actor", "chen", "--role", "leadership"]


def every_verify(url: str, ref: str, digest: Path) -> list[tuple[int, str]]:
    return [verify(url), verify(url, "--digest", str(digest)), verify(url, ref)]


def key_id_of(url: str, ref: str) -> str:
    with open_ledger(url) as ledger:
        return ledger.get_complaint(ref).complainant.key_id


def test_an_intact_ledger_with_an_erasure_verifies_and_shows_erased(sealed: str) -> None:
    assert run(sealed, "erase", "TS-1", "--reason", "retention ended", *LEAD).exit_code == 0
    before = run(sealed, "show", "TS-1", "--format", "json", "--as-of", "2099-01-01T00:00:00Z")

    code, out = verify(sealed)
    one = verify(sealed, "TS-1")
    shown = run(sealed, "show", "TS-1")

    assert (code, one[0]) == (0, 0), out + one[1]
    assert shown.exit_code == 0
    assert "complainant: [erased] [erased]" in shown.stdout
    assert before.exit_code == 0, before.stderr
    assert '"name": "[erased]"' in before.stdout


def test_a_key_deleted_without_an_erasure_is_named_and_not_shown_as_erased(
    sealed: str, tmp_path: Path
) -> None:
    key_id = key_id_of(sealed, "TS-2")
    with superuser(sealed) as db:
        position = db.position_of("TS-2", 1)
        db.sql("DELETE FROM person_keys WHERE key_id = ?", key_id)

    results = every_verify(sealed, "TS-2", tmp_path / "digest.json")
    shown = run(sealed, "show", "TS-2")

    assert (
        results
        == [
            (
                1,
                f"Error: position {position} (TS-2 version 1): the key of the complainant's "
                f"personal data ({key_id}) is missing, but no PersonalDataErased records an "
                "erasure: the key was deleted outside the ledger",
            )
        ]
        * 3
    )
    assert shown.exit_code == 1
    assert shown.stderr == (
        "Error: TS-2: the key of the complainant's personal data is missing, but no erasure was "
        "recorded: it was deleted outside the ledger (run complaint-ledger verify)\n"
    )
    assert "[erased]" not in shown.stdout


def test_an_erased_key_put_back_is_named(sealed: str, tmp_path: Path) -> None:
    key_id = key_id_of(sealed, "TS-1")
    with superuser(sealed) as db:
        saved = db.sql("SELECT key FROM person_keys WHERE key_id = ?", key_id)[0][0]
    assert run(sealed, "erase", "TS-1", "--reason", "retention ended", *LEAD).exit_code == 0
    with superuser(sealed) as db:
        erased_at = db.position_of("TS-1", 9)
        db.sql("INSERT INTO person_keys VALUES (?, ?)", key_id, saved)

    results = every_verify(sealed, "TS-1", tmp_path / "digest.json")

    assert (
        results
        == [
            (
                1,
                f"Error: position {erased_at} (TS-1): the key that PersonalDataErased destroyed "
                f"({key_id}) is back in person_keys: it was restored outside the ledger",
            )
        ]
        * 3
    )


def test_a_deleted_command_log_entry_is_named(sealed: str, tmp_path: Path) -> None:
    with superuser(sealed) as db:
        position = db.position_of("TS-1", 2)
        db.sql("DELETE FROM command_log WHERE command_id = ?", "TS-1-triage")

    results = every_verify(sealed, "TS-1", tmp_path / "digest.json")

    assert (
        results
        == [
            (
                1,
                f"Error: position {position} (TS-1 version 2): Triaged was recorded by command "
                "'TS-1-triage', which has no command-log entry: the entry was deleted",
            )
        ]
        * 3
    )


@pytest.mark.parametrize("later", [False, True], ids=["at once", "after other writes"])
def test_a_command_applied_twice_after_its_entry_was_deleted_is_named(
    sealed: str, tmp_path: Path, later: bool
) -> None:
    note = ["add-note", "TS-3", "--text", "补充材料", "--command-id", "note-once", *CS]
    assert run(sealed, *note).exit_code == 0
    with superuser(sealed) as db:
        first = db.position_of("TS-3", 7)
        db.sql("DELETE FROM command_log WHERE command_id = ?", "note-once")
    if later:
        assert run(sealed, "add-note", "TS-3", "--text", "其他", *CS).exit_code == 0

    again = run(sealed, *note)
    results = every_verify(sealed, "TS-3", tmp_path / "digest.json")

    assert again.exit_code == 0  # the command log is what makes a command idempotent
    with superuser(sealed) as db:
        second = db.position_of("TS-3", 9 if later else 8)
    assert (
        results
        == [
            (
                1,
                f"Error: position {second} (TS-3 version {9 if later else 8}): command 'note-once' "
                f"recorded NoteAdded again (it first recorded NoteAdded at position {first}): it "
                "was applied twice, its command-log entry removed in between",
            )
        ]
        * 3
    )


ALTERED = {
    "its complaint": ("ref", "TS-2", "the command log names TS-2 for command 'TS-1-plan'"),
    "its version, lower": (
        "version",
        4,
        "the command log says command 'TS-1-plan' left the complaint at version 4, but its "
        "events end at version 5",
    ),
    "its version, higher": (
        "version",
        6,
        "the command log says command 'TS-1-plan' left the complaint at version 6, but its "
        "events end at version 5",
    ),
}


@pytest.mark.parametrize(("column", "value", "said"), ALTERED.values(), ids=ALTERED.keys())
def test_an_altered_command_log_entry_is_named(
    sealed: str, tmp_path: Path, column: str, value: object, said: str
) -> None:
    with superuser(sealed) as db:
        position = db.position_of("TS-1", 5)
        db.sql(f"UPDATE command_log SET {column} = ? WHERE command_id = ?", value, "TS-1-plan")

    code, out = verify(sealed)
    with_digest = verify(sealed, "--digest", str(tmp_path / "digest.json"))

    assert code == 1
    assert out.startswith(f"Error: position {position} (TS-1 version 5): {said}")
    assert with_digest == (code, out)


def test_an_inserted_command_log_entry_is_named(sealed: str, tmp_path: Path) -> None:
    with superuser(sealed) as db:
        db.sql("INSERT INTO command_log VALUES (?, ?, ?, ?)", "forged", "TS-1", "0" * 64, 4)

    results = every_verify(sealed, "TS-1", tmp_path / "digest.json")

    assert (
        results
        == [
            (
                1,
                "Error: the command log has command 'forged' leaving TS-1 at version 4, but no "
                "such event of that command exists: the entry was inserted or altered, or the "
                "events were deleted",
            )
        ]
        * 3
    )


@pytest.fixture
def escalations(ledger_url: str) -> str:
    """Complaints whose triage records two events (Triaged, Escalated) under one command."""
    commands = []
    for ref in ("TS-U1", "TS-U2", "TS-U3", "TS-U4"):
        received, triage = life_cmds(ref, until="triage")
        commands += [received, {**triage, "severity": "urgent"}]
    assert run(ledger_url, "apply", "-", input=jsonl(commands)).exit_code == 0
    return ledger_url


@pytest.mark.parametrize("batch", [1, 2, 3])
def test_commands_that_span_a_lookup_batch_still_verify(
    escalations: str, monkeypatch: pytest.MonkeyPatch, batch: int
) -> None:
    monkeypatch.setattr("ledger.integrity.logcheck.FLUSH", batch)

    code, out = verify(escalations, "--no-anchor")

    assert code == 0, out
    assert out.startswith("verified 12 events")


def test_a_command_applied_again_in_a_later_batch_is_named(
    escalations: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    note = ["add-note", "TS-U1", "--text", "x", "--command-id", "note-twice", *CS]
    assert run(escalations, *note).exit_code == 0
    with superuser(escalations) as db:
        db.sql("DELETE FROM command_log WHERE command_id = ?", "note-twice")
        first = db.position_of("TS-U1", 4)
    for ref in ("TS-U2", "TS-U3", "TS-U4"):
        assert run(escalations, "add-note", ref, "--text", "y", *CS).exit_code == 0
    assert run(escalations, *note).exit_code == 0
    monkeypatch.setattr("ledger.integrity.logcheck.FLUSH", 2)

    code, out = verify(escalations)

    assert code == 1
    assert out == (
        f"Error: position {first} (TS-U1 version 4): the command log says command 'note-twice' "
        "left the complaint at version 5, but its events end at version 4: the entry was "
        "altered, or the command was applied again later"
    )
