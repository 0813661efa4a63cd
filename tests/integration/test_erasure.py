"""Erasure that erases: free text is sealed under the complaint's key with its personal data,
the command log's fingerprints are keyed with it, and once ``erase`` destroyed the key none of
it can be found in the database (raw bytes of every SQLite file, a ``pg_dump``) or recovered
by guessing; a key table restored from a backup is erased again on the first open."""

from __future__ import annotations

import hashlib
import json
import sqlite3
from pathlib import Path
from typing import Any

import psycopg
import pytest

from commands import fingerprints
from commands.models import parse_command
from ledger.store.root import open_ledger
from tests.audit_helpers import is_sqlite, pg_schema, sqlite_path
from tests.conftest import PG_DSN
from tests.helpers import jsonl, receive_cmd, run
from tests.integration.test_personal_data import CLEAR, holds, raw_database

PHONE = "13912345678"
PHRASE = "债务人说催收员威胁去女儿就读的第三中学闹事"  # in the complaint's content
NOTE = "客户透露其丈夫在市二医院住院"
FINDINGS = "录音证实催收员泄露了客户住址"
ACCOUNT = "LN-7788-PERSONAL"
REASON = "客户称将向其工作单位投诉催收员"  # an escalation's reason
LEAD = ["--actor", "chen", "--role", "leadership"]
TEAM = ["--actor", "wang", "--role", "handling_team"]


def receive(phone: str = PHONE) -> dict[str, Any]:
    person = {"name": "欧阳娜娜", "phone": phone, "id_number": "44030519851230123X"}
    return receive_cmd("TS-E", complainant=person, content=PHRASE, account_ref=ACCOUNT)


def text_commands() -> list[dict[str, Any]]:
    team = {"id": "wang", "role": "handling_team"}
    return [
        {"command": "triage", "command_id": "e-triage", "ref": "TS-E", "actor": team,
         "severity": "normal", "category": "harassment", "assessment": "一般投诉",
         "occurred_at": "2026-09-24T16:40:00+08:00"},
        {"command": "escalate", "command_id": "e-escalate", "ref": "TS-E", "actor": team,
         "reason": REASON, "occurred_at": "2026-09-24T16:50:00+08:00"},
        {"command": "record_findings", "command_id": "e-findings", "ref": "TS-E",
         "actor": team, "substantiated": "yes", "findings": FINDINGS,
         "occurred_at": "2026-09-25T10:00:00+08:00"},
        {"command": "add_note", "command_id": "e-note", "ref": "TS-E", "actor": team,
         "text": NOTE, "occurred_at": "2026-09-25T11:00:00+08:00"},
    ]  # fmt: skip


@pytest.fixture
def written(ledger_url: str) -> str:
    result = run(ledger_url, "apply", "-", input=jsonl([receive(), *text_commands()]))
    assert result.exit_code == 0, result.output
    assert run(ledger_url, "projections", "run").exit_code == 0
    return ledger_url


def complaint_key(url: str) -> tuple[str, bytes]:
    with open_ledger(url) as ledger:
        complaint = ledger.get_complaint("TS-E")
        key = ledger.complaint_key(complaint)
    assert key is not None
    return key.key_id, key.key


SECRETS = (PHONE, PHRASE, NOTE, FINDINGS, ACCOUNT, REASON)


def test_after_erase_no_phone_phrase_or_note_is_found_in_any_file_or_dump(written: str) -> None:
    key_id, key = complaint_key(written)
    shown = json.loads(run(written, "show", "TS-E", "--format", "json").stdout)
    before = raw_database(written)

    erased = run(written, "erase", "TS-E", "--reason", "本人要求删除", *LEAD)
    rebuilt = run(written, "projections", "rebuild")

    assert erased.exit_code == 0, erased.output
    assert rebuilt.exit_code == 0, rebuilt.output
    # Before: the text was readable, and the search finds the key that opens it (and what is
    # stored in clear), so a search that finds nothing afterwards would have found it.
    assert (shown["content"], shown["account_ref"], shown["findings"]) == (
        PHRASE,
        ACCOUNT,
        FINDINGS,
    )
    assert shown["complainant"]["phone"] == PHONE
    assert holds(before, key)
    assert holds(before, CLEAR)
    after = raw_database(written)
    assert holds(after, CLEAR)
    assert not holds(after, key)
    for secret in SECRETS:
        assert not holds(before, secret), secret  # never stored in plain
        assert not holds(after, secret), secret
    with open_ledger(written) as ledger:
        assert ledger.ledger_recorder.person_keys([key_id]) == {}
    assert run(written, "verify", "--no-anchor").exit_code == 0


def test_show_history_and_export_read_erased_after_the_erasure(written: str, tmp_path: Any) -> None:
    run(written, "erase", "TS-E", "--reason", "本人要求删除", *LEAD)

    shown = json.loads(run(written, "show", "TS-E", "--format", "json").stdout)
    story = json.loads(run(written, "history", "TS-E", "--format", "json").stdout)
    exported = run(written, "export-commands")
    table = run(written, "show", "TS-E").stdout

    assert (shown["content"], shown["account_ref"], shown["findings"]) == ("[erased]",) * 3
    fields = {e["event"]: e["fields"] for e in story["events"]}
    assert fields["NoteAdded"]["text"] == "[erased]"
    assert fields["Received"]["content"] == "[erased]"
    assert fields["Escalated"]["reason"] == "[erased]"
    assert fields["PersonalDataErased"]["reason"] == "本人要求删除"
    assert exported.exit_code == 0, exported.output
    assert not any(s in exported.stdout for s in SECRETS)
    assert '"text": "[erased]"' in exported.stdout
    assert PHRASE not in table
    assert "[erased]" in table


def test_text_reads_in_full_while_the_key_exists(written: str) -> None:
    story = json.loads(run(written, "history", "TS-E", "--format", "json").stdout)
    exported = run(written, "export-commands").stdout

    fields = {e["event"]: e["fields"] for e in story["events"]}
    assert fields["NoteAdded"]["text"] == NOTE
    assert fields["Received"]["content"] == PHRASE
    assert fields["FindingsRecorded"]["findings"] == FINDINGS
    assert fields["Escalated"]["reason"] == REASON
    assert all(s in exported for s in (PHRASE, NOTE, FINDINGS, ACCOUNT, PHONE))


def candidate(phone: str) -> Any:
    return parse_command(receive(phone))


def test_the_fingerprint_guessing_attack_recovers_nothing_after_erasure(written: str) -> None:
    """Knowing every other field of the receive command, try each phone number of a range that
    holds the real one against what the command log keeps."""
    _, key = complaint_key(written)
    phones = [f"139123456{n:02d}" for n in range(100)]
    assert PHONE in phones
    with open_ledger(written) as ledger:
        stored = ledger.find_command("TS-E-receive")
    assert stored is not None

    def guessed(key: bytes | None) -> list[str]:
        return [
            p
            for p in phones
            if fingerprints.compare(candidate(p), stored.fingerprint, lambda: key)
            is fingerprints.Match.SAME
        ]

    # With the key the same guessing finds the number: the attack works while the key exists.
    assert guessed(key) == [PHONE]

    run(written, "erase", "TS-E", "--reason", "本人要求删除", *LEAD)

    with open_ledger(written) as ledger:
        log = ledger.ledger_recorder.select_commands(["TS-E-receive", "e-note", "e-findings"])
    kept = " ".join(r.fingerprint for r in log.values())
    assert log["TS-E-receive"] == stored  # the log is not rewritten: what it held was safe
    # Without the key: no unkeyed digest of any guess is in the log, the public part is the
    # same whatever the number, and the keyed part cannot be recomputed.
    assert [p for p in phones if candidate(p).fingerprint() in kept] == []
    assert [p for p in phones if hashlib.sha256(candidate(p).body()).hexdigest() in kept] == []
    assert len({candidate(p).public_fingerprint() for p in phones}) == 1
    assert guessed(None) == []
    assert fingerprints.compare(candidate(PHONE), stored.fingerprint, lambda: None) is (
        fingerprints.Match.UNKNOWABLE
    )


def test_resubmissions_are_answered_before_and_after_erasure(written: str) -> None:
    note = text_commands()[-1]
    erase = {"command": "erase", "command_id": "e-erase", "ref": "TS-E",
             "actor": {"id": "chen", "role": "leadership"}, "reason": "本人要求删除"}  # fmt: skip

    def apply(command: dict[str, Any]) -> Any:
        return run(written, "apply", "-", input=jsonl([command]))

    same = apply(note)
    other = apply({**note, "text": "另一条备注"})
    erased = apply(erase)
    erase_again = apply(erase)
    same_after = apply(note)
    other_time_after = apply({**note, "occurred_at": "2026-09-25T12:00:00+08:00"})
    new_after = run(written, "add-note", "TS-E", *TEAM, "--text", "删除后补充的备注")

    assert same.exit_code == 0
    assert same.stdout.endswith("applied 0, already applied 1, failed 0\n")
    assert other.exit_code == 1
    assert (
        "command_id 'e-note' was already used for a different command (on TS-E); "
        "use a new command_id" in other.stderr
    )
    assert erased.exit_code == 0, erased.output
    assert erase_again.exit_code == 0, erase_again.output
    assert erase_again.stdout.endswith("applied 0, already applied 1, failed 0\n")
    assert same_after.exit_code == 1
    assert (
        "command_id 'e-note' was already applied to TS-E, whose personal data has since "
        "been erased: whether this is the same command can no longer be told, and it was not "
        "applied again" in same_after.stderr
    )
    assert "Traceback" not in same_after.output
    assert other_time_after.exit_code == 1
    assert "was already used for a different command" in other_time_after.stderr
    assert new_after.exit_code == 0, new_after.output
    story = json.loads(run(written, "history", "TS-E", "--format", "json").stdout)
    assert story["events"][-1]["fields"]["text"] == "[erased]"  # withheld: never kept
    assert not holds(raw_database(written), "删除后补充的备注")


def key_rows(url: str) -> list[tuple[str, bytes]]:
    if is_sqlite(url):
        with sqlite3.connect(sqlite_path(url)) as db:
            return [(r[0], bytes(r[1])) for r in db.execute("SELECT key_id, key FROM person_keys")]
    with psycopg.connect(PG_DSN) as conn:
        rows = conn.execute(f"SELECT key_id, key FROM {pg_schema(url)}.person_keys").fetchall()
        return [(r[0], bytes(r[1])) for r in rows]


def restore_keys(url: str, rows: list[tuple[str, bytes]]) -> None:
    """Put key rows back, as restoring a backup of the key table would."""
    if is_sqlite(url):
        db = sqlite3.connect(sqlite_path(url))
        with db:
            db.executemany("INSERT OR IGNORE INTO person_keys VALUES (?, ?)", rows)
        db.close()
        return
    with psycopg.connect(PG_DSN) as conn:
        conn.cursor().executemany(
            f"INSERT INTO {pg_schema(url)}.person_keys VALUES (%s, %s) ON CONFLICT DO NOTHING",
            rows,
        )


def test_a_key_table_restored_from_a_backup_is_erased_again_on_first_open(written: str) -> None:
    key_id, key = complaint_key(written)
    backup = key_rows(written)
    run(written, "erase", "TS-E", "--reason", "本人要求删除", *LEAD)
    restore_keys(written, backup)
    assert key_id in dict(key_rows(written))

    # Read-only commands open the ledger without writing: they name the restored key, and
    # never use it.
    checked = run(written, "verify", "--no-anchor")
    shown = json.loads(run(written, "show", "TS-E", "--format", "json").stdout)
    exported = run(written, "export-commands").stdout
    # The first open with write rights destroys it again.
    with open_ledger(written):
        pass

    assert checked.exit_code == 1
    assert "is back in person_keys: it was restored outside the ledger" in checked.output
    assert (shown["complainant"]["phone"], shown["content"]) == ("[erased]", "[erased]")
    assert not any(s in exported for s in SECRETS)
    assert key_id not in dict(key_rows(written))
    assert not holds(raw_database(written), key)
    assert run(written, "verify", "--no-anchor").exit_code == 0


CFPB = str(Path(__file__).parents[1] / "fixtures" / "cfpb_new.csv")


def test_importing_a_file_again_after_an_erasure_skips_the_erased_complaints_row(
    ledger_url: str,
) -> None:
    first = run(ledger_url, "import", "cfpb", CFPB, "--format", "json")
    erased = run(ledger_url, "erase", "CFPB-9100001", "--reason", "本人要求删除", *LEAD)

    again = run(ledger_url, "import", "cfpb", CFPB, "--format", "json")

    assert (first.exit_code, erased.exit_code) == (0, 0)
    assert again.exit_code == 0, again.output
    summary = json.loads(again.stdout)
    assert (summary["imported"], summary["skipped"], summary["rejected"]) == (0, 7, [])
