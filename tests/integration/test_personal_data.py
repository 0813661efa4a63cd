"""Personal data is stored only encrypted, and ``erase`` destroys its key (crypto-shredding):
no plaintext in the database file or tables, ever; ``[erased]`` afterwards; the proof holds."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from ledger.domain.values import reference_id
from ledger.store.root import open_ledger
from tests.audit_helpers import SEAL_ENV, is_sqlite, pg_schema, sqlite_path
from tests.conftest import PG_DSN
from tests.helpers import event_count, jsonl, life_cmds, receive_cmd, run

NAME, PHONE, ID_NUMBER, ADDRESS = (
    "欧阳娜娜",
    "13912345678",
    "44030519851230123X",
    "深圳市南山区科技园",
)
PLAINTEXT = (NAME, PHONE, ID_NUMBER, ADDRESS)
CLEAR = "外包一部"  # the collection agency, stored in clear: the search must find it
LEAD = ["--actor", "chen", "--role", "leadership"]


def raw_database(url: str) -> bytes:
    """Every byte the database holds: the SQLite file and its WAL, or a dump of the schema."""
    if is_sqlite(url):
        path = sqlite_path(url)
        files = [Path(path + suffix) for suffix in ("", "-wal", "-shm", "-journal")]
        return b"".join(f.read_bytes() for f in files if f.exists())
    return subprocess.run(
        ["pg_dump", PG_DSN, "--schema", pg_schema(url)], check=True, capture_output=True
    ).stdout


def holds(raw: bytes, value: str | bytes) -> bool:
    """Whether ``raw`` holds ``value`` in any form the ledger could store it in: its bytes
    (SQLite pages, text in a dump), in hex (bytea in a dump), and text also JSON-escaped."""
    forms = [value] if isinstance(value, bytes) else [value.encode()]
    if isinstance(value, str):
        forms.append(json.dumps(value)[1:-1].encode())
    return any(form in raw or form.hex().encode() in raw for form in forms)


def assert_no_plaintext(url: str) -> None:
    raw = raw_database(url)
    assert holds(raw, CLEAR)  # what is stored in clear is found, so what is not found is not
    for value in PLAINTEXT:
        assert not holds(raw, value), value


@pytest.fixture
def received(ledger_url: str) -> str:
    person = {"name": NAME, "phone": PHONE, "id_number": ID_NUMBER, "address": ADDRESS}
    commands = [receive_cmd("TS-P", complainant=person), *life_cmds("TS-P")[1:]]
    assert run(ledger_url, "apply", "-", input=jsonl(commands)).exit_code == 0
    bulk = [receive_cmd("TS-Q", complainant=person), *life_cmds("TS-Q", until="triage")[1:]]
    assert run(ledger_url, "apply", "--bulk", "-", input=jsonl(bulk)).exit_code == 0
    return ledger_url


def key_of(url: str, ref: str) -> bytes:
    with open_ledger(url) as ledger:
        key_id = ledger.get_complaint(ref).complainant.key_id
        return ledger.ledger_recorder.person_keys([key_id])[key_id]


def test_personal_data_is_never_stored_in_plaintext_but_shows_to_readers(received: str) -> None:
    shown = json.loads(run(received, "show", "TS-Q", "--format", "json").stdout)

    assert_no_plaintext(received)
    assert shown["complainant"] == {
        "name": NAME,
        "phone": PHONE,
        "id_number": ID_NUMBER,
        "address": ADDRESS,
    }


def test_erase_destroys_the_key_and_leaves_no_plaintext_anywhere(
    received: str, tmp_path: Path
) -> None:
    key = key_of(received, "TS-P")
    before = raw_database(received)

    result = run(received, "erase", "TS-P", "--reason", "保存期满", *LEAD)

    assert result.stdout == "TS-P: PersonalDataErased (version 9)\n"
    assert_no_plaintext(received)
    assert holds(before, key)  # the same search finds the key while it is kept
    assert not holds(raw_database(received), key)
    story = json.loads(run(received, "history", "TS-P", "--format", "json").stdout)
    erased = dict.fromkeys(("name", "phone", "id_number", "address"), "[erased]")
    assert story["events"][0]["fields"]["complainant"] == erased
    assert story["state"]["complainant"] == erased
    last = story["events"][-1]
    assert (last["event"], last["actor_role"], last["fields"]["reason"]) == (
        "PersonalDataErased",
        "leadership",
        "保存期满",
    )
    assert "[erased] [erased]" in run(received, "show", "TS-P").stdout
    shown_other = json.loads(run(received, "show", "TS-Q", "--format", "json").stdout)
    assert shown_other["complainant"]["name"] == NAME  # only TS-P's key was destroyed
    assert run(received, "seal", "--out", str(tmp_path / "d.json"), env=SEAL_ENV).exit_code == 0
    assert run(received, "verify", "--digest", str(tmp_path / "d.json")).exit_code == 0
    assert run(received, "export", "TS-P", "--out", str(tmp_path / "b")).exit_code == 0
    trail = (tmp_path / "b" / "trail.csv").read_text(encoding="utf-8")
    assert "[erased]" in trail
    assert NAME not in trail
    checked = run(
        received, "verify-bundle", str(tmp_path / "b"), "--digest", str(tmp_path / "d.json")
    )
    assert checked.exit_code == 0, checked.stderr


def test_a_replayed_complaint_still_works_after_erasure(received: str) -> None:
    run(received, "erase", "TS-Q", "--reason", "本人要求", *LEAD)

    triage_again = run(
        received, "add-note", "TS-Q", "--text", "已删除个人信息", "--actor", "li",
        "--role", "customer_service",
    )  # fmt: skip

    assert triage_again.exit_code == 0
    with open_ledger(received) as ledger:
        complaint = ledger.get_complaint("TS-Q")
        assert (complaint.version, complaint.personal_data_erased) == (4, True)
        assert ledger.reveal(complaint) is None
        assert complaint.id == reference_id("TS-Q")


def test_erasing_twice_or_without_leadership_is_refused_and_changes_nothing(
    received: str,
) -> None:
    run(received, "erase", "TS-P", "--reason", "保存期满", *LEAD)
    before = event_count(received)

    again = run(received, "erase", "TS-P", "--reason", "再次", *LEAD)
    not_allowed = run(
        received, "erase", "TS-Q", "--reason", "x", "--actor", "li", "--role", "handling_team"
    )
    unknown = run(received, "erase", "TS-NONE", "--reason", "x", *LEAD)

    assert (again.exit_code, not_allowed.exit_code, unknown.exit_code) == (1, 1, 1)
    assert again.stderr == "Error: TS-P: the complainant's personal data was already erased\n"
    assert not_allowed.stderr == ("Error: role handling_team may not erase; allowed: leadership\n")
    assert unknown.stderr == "Error: no complaint has reference 'TS-NONE'\n"
    assert event_count(received) == before
    assert (
        json.loads(run(received, "show", "TS-Q", "--format", "json").stdout)["complainant"]["name"]
        == NAME
    )


def test_bulk_apply_stores_keys_and_erases_in_the_same_transaction(ledger_url: str) -> None:
    person = {"name": NAME, "phone": PHONE}
    erase = {
        "command": "erase",
        "command_id": "TS-B-erase",
        "ref": "TS-B",
        "actor": {"id": "chen", "role": "leadership"},
        "reason": "本人要求",
    }
    commands = [receive_cmd("TS-A", complainant=person), receive_cmd("TS-B", complainant=person)]

    result = run(ledger_url, "apply", "--bulk", "-", input=jsonl([*commands, erase]))

    assert result.stdout == "applied 3, already applied 0, failed 0\n"
    shown = {
        ref: json.loads(run(ledger_url, "show", ref, "--format", "json").stdout)["complainant"]
        for ref in ("TS-A", "TS-B")
    }
    assert (shown["TS-A"]["name"], shown["TS-B"]["name"]) == (NAME, "[erased]")
    with open_ledger(ledger_url) as ledger:
        key_ids = [ledger.get_complaint(r).complainant.key_id for r in ("TS-A", "TS-B")]
        assert list(ledger.ledger_recorder.person_keys(key_ids)) == key_ids[:1]
    assert_no_plaintext(ledger_url)
