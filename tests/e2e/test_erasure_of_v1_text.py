"""Text stored in plain by an earlier release (event class version 1) is upcast as it is read:
it shows while the complaint's personal data is kept and reads ``[erased]`` after, though its
stored bytes never change (docs/audit.md, "What erasure does not reach")."""

from __future__ import annotations

import json
import shutil
import sqlite3
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


def test_an_audit_trail_written_by_v1_is_rebuilt_without_the_reasons_it_copied(
    v1_url: str,
) -> None:
    path = v1_url.removeprefix("sqlite:///")
    with sqlite3.connect(path) as db:
        copied = db.execute(
            "SELECT count(*) FROM audit_trail WHERE summary_en LIKE 'Clocks paused: %'"
        ).fetchone()[0]

    audit = run(v1_url, "audit", REFERRAL, "--format", "json")
    story = json.loads(run(v1_url, "history", REFERRAL, "--format", "json").stdout)

    assert copied == 1  # what v1 copied into its read model, so that the check can fail
    assert audit.exit_code == 0, audit.output
    summaries = [row["summary_en"] for row in json.loads(audit.stdout)]
    assert "Clocks paused" in summaries
    assert "Escalated to leadership" in summaries
    with sqlite3.connect(path) as db:
        rows = db.execute("SELECT summary_zh || summary_en FROM audit_trail").fetchall()
    assert not any("等待客户材料" in r[0] or "媒体关注" in r[0] for r in rows)
    paused = [e for e in story["events"] if e["event"] == "ClocksPaused"]
    assert paused[0]["fields"]["reason"] == "等待客户材料"  # history still reads it
