"""Text stored in plain by an earlier release (event class version 1) is upcast as it is read:
it shows while the complaint's personal data is kept and reads ``[erased]`` after, though its
stored bytes never change (docs/audit.md, "What erasure does not reach")."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from tests.helpers import run
from tests.integration.test_personal_data import holds, raw_database

FIXTURE = Path(__file__).parent.parent / "fixtures" / "ledgers" / "v1"
REFERRAL = "TS-20261125-0003"
CONTENT, NOTE = "催收员威胁上门", "封存之后"


@pytest.fixture
def v1_url(tmp_path: Path) -> str:
    shutil.copy(FIXTURE / "ledger.db", tmp_path / "ledger.db")
    return f"sqlite:///{tmp_path / 'ledger.db'}"


def notes(url: str) -> list[str]:
    story = json.loads(run(url, "history", REFERRAL, "--format", "json").stdout)
    return [e["fields"]["text"] for e in story["events"] if e["event"] == "NoteAdded"]


def test_v1_text_shows_until_erasure_then_reads_erased_with_its_bytes_unchanged(
    v1_url: str,
) -> None:
    before = json.loads(run(v1_url, "show", REFERRAL, "--format", "json").stdout)
    notes_before = notes(v1_url)

    erased = run(v1_url, "erase", REFERRAL, "--reason", "保存期满", "--actor", "chen",
                 "--role", "leadership")  # fmt: skip
    after = json.loads(run(v1_url, "show", REFERRAL, "--format", "json").stdout)

    assert erased.exit_code == 0, erased.output
    assert (before["content"], notes_before) == (CONTENT, ["复核中", NOTE])
    assert (after["content"], after["account_ref"], after["root_cause"]) == ("[erased]",) * 3
    assert notes(v1_url) == ["[erased]", "[erased]"]
    assert holds(raw_database(v1_url), NOTE)  # stored events are never rewritten
    assert run(v1_url, "verify", "--digest", str(FIXTURE / "digest.json")).exit_code == 0
