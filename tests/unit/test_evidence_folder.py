"""Where the evidence files of a ledger are kept, and where a hash's file lies in it."""

from __future__ import annotations

from pathlib import Path

import pytest

from ledger.store.evidence import evidence_folder, stored_path


@pytest.mark.parametrize(
    ("url", "folder"),
    [
        ("sqlite:///complaints.db", "evidence"),
        ("sqlite:///data/complaints.db", "data/evidence"),
        ("sqlite:////srv/ledger/complaints.db", "/srv/ledger/evidence"),
        ("sqlite:///data/archive.db?mode=ro", "data/evidence"),
        ("postgresql://postgres@127.0.0.1:5432/test?schema=ledger", "evidence"),
    ],
)
def test_the_evidence_folder_is_beside_a_sqlite_file_and_in_the_working_directory_otherwise(
    url: str, folder: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("LEDGER_EVIDENCE_DIR", raising=False)

    assert evidence_folder(url) == Path(folder)


def test_an_option_then_the_environment_name_the_folder(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LEDGER_EVIDENCE_DIR", "/mnt/evidence")

    assert evidence_folder("sqlite:///complaints.db") == Path("/mnt/evidence")
    assert evidence_folder("sqlite:///complaints.db", "kept") == Path("kept")


def test_a_file_lies_under_its_hash() -> None:
    sha256 = "5891b5b522d5df086d0ff0b110fbd9d21bb4fc7163af34d08286a2e846f6be03"

    assert stored_path(sha256) == f"sha256/58/{sha256[2:]}"
