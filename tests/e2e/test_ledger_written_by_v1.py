"""A ledger written by an earlier release (tests/fixtures/ledgers/v1) still opens, replays,
verifies, projects and takes new events after the code moved on."""

from __future__ import annotations

import json
import shutil
import sqlite3
from pathlib import Path

import pytest

from tests.helpers import run

FIXTURE = Path(__file__).parent.parent / "fixtures" / "ledgers" / "v1"
REFERRAL = "TS-20261125-0003"  # paused, extended, closed, reopened, noted after the seal


@pytest.fixture
def v1_url(tmp_path: Path) -> str:
    shutil.copy(FIXTURE / "ledger.db", tmp_path / "ledger.db")
    return f"sqlite:///{tmp_path / 'ledger.db'}"


def test_a_v1_ledger_verifies_against_the_digest_it_was_sealed_with(v1_url: str) -> None:
    result = run(v1_url, "verify", "--digest", str(FIXTURE / "digest.json"))

    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("verified 404 events (to position 404) and 1 seal")


def test_a_v1_complaint_replays_with_its_whole_history(v1_url: str) -> None:
    shown = json.loads(run(v1_url, "show", REFERRAL, "--format", "json").stdout)

    assert shown["status"] == "open"
    assert shown["reopened_count"] == 1
    assert shown["version"] == 18
    assert shown["complainant"]["phone"] == "13900000000"


def test_a_v1_ledger_projects_every_read_model(v1_url: str) -> None:
    rebuilt = run(v1_url, "projections", "rebuild")
    listed = json.loads(run(v1_url, "list", "--format", "json").stdout)

    assert rebuilt.exit_code == 0, rebuilt.output
    assert "from 404 event(s)" in rebuilt.stdout
    assert len(listed) == 36 + 2 + 7  # the demo, the referral and the withdrawn one, CFPB
    assert run(v1_url, "report", "sla", "--format", "json").exit_code == 0
    assert run(v1_url, "audit", REFERRAL).exit_code == 0


def test_new_events_on_a_v1_ledger_keep_the_stored_names_of_their_classes(v1_url: str) -> None:
    added = run(
        v1_url, "add-note", REFERRAL, "--text", "n", "--actor", "li", "--role", "customer_service"
    )

    assert added.exit_code == 0, added.output
    path = v1_url.removeprefix("sqlite:///")
    with sqlite3.connect(path) as db:
        (topic,) = db.execute("SELECT topic FROM stored_events ORDER BY rowid DESC").fetchone()
    assert topic == "ledger.complaint:Complaint.NoteAdded"
    assert run(v1_url, "verify", "--digest", str(FIXTURE / "digest.json")).exit_code == 0
