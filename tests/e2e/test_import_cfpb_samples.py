"""The three real CFPB samples in ../shared/data/cfpb, imported as a user would.

The files stay where they are (they are never copied into the project). On a machine without
them these tests are skipped; with ``CI=true`` they must run, so a missing directory fails.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

from tests.helpers import event_count, run


def _samples_dir() -> Path:
    """Where the CFPB samples are: $LEDGER_CFPB_DIR, else ``shared/data/cfpb`` beside the
    repository or beside one of its parent folders (``../shared`` in the workplace), else
    the workplace's own ``/work/shared`` (CI may clone the repository somewhere else)."""
    if os.environ.get("LEDGER_CFPB_DIR"):
        return Path(os.environ["LEDGER_CFPB_DIR"])
    repo = Path(__file__).resolve().parents[2]
    for folder in [*repo.parents, Path("/work")]:
        candidate = folder / "shared" / "data" / "cfpb"
        if candidate.is_dir():
            return candidate
    return repo.parent / "shared" / "data" / "cfpb"


SAMPLES = _samples_dir()
FILES = ("complaints_sample.csv", "Consumer_Complaints.csv", "complaints.csv")
# Data rows and Debt collection rows per file, as the samples' README counts them.
ROWS = {"complaints_sample.csv": 6623, "Consumer_Complaints.csv": 349, "complaints.csv": 2067}
DEBT_COLLECTION = {
    "complaints_sample.csv": 1231,
    "Consumer_Complaints.csv": 105,
    "complaints.csv": 87,
}
# 8,282 closed complaints × 8 events + 757 open ones × 3 + 10 notes continuing 5 long narratives.
EVENTS = 68_537
CUT_OFF = {
    "file": str(SAMPLES / "complaints.csv"),
    "line": 3302,
    "reason": "the record has 2 fields, the header 18 (a line break inside an unquoted field, "
    "or the file is cut off)",
}


@pytest.fixture
def samples() -> list[str]:
    missing = [name for name in FILES if not (SAMPLES / name).is_file()]
    if missing:
        reason = f"the CFPB samples are not in {SAMPLES} (missing {', '.join(missing)})"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"{reason}; CI=true: these tests must run")
        pytest.skip(reason)
    return [str(SAMPLES / name) for name in FILES]


def import_json(url: str, files: list[str], *args: str) -> dict[str, Any]:
    result = run(url, "import", "cfpb", *files, *args, "--format", "json")
    assert result.exit_code == 1, result.stderr  # the cut-off record is always rejected
    summary: dict[str, Any] = json.loads(result.stdout)
    return summary


def per_file(summary: dict[str, Any], key: str) -> dict[str, int]:
    return {Path(f["file"]).name: f[key] for f in summary["files"]}


def test_every_sample_row_is_imported_or_rejected_with_a_reason_and_only_once(
    samples: list[str], ledger_url: str
) -> None:
    debt = import_json(ledger_url, samples, "--product", "Debt collection")
    rest = import_json(ledger_url, samples)
    again = import_json(ledger_url, samples)

    assert per_file(debt, "imported") == DEBT_COLLECTION
    assert (debt["imported"], debt["filtered"], debt["rejected"]) == (1423, 7616, [CUT_OFF])
    assert (rest["imported"], rest["skipped"], rest["rejected"]) == (7616, 1423, [CUT_OFF])
    assert debt["imported"] + rest["imported"] == sum(ROWS.values()) == 9039
    assert per_file(again, "skipped") == ROWS
    assert (again["imported"], again["events"], again["rejected"]) == (0, 0, [CUT_OFF])
    assert debt["events"] + rest["events"] == EVENTS
    assert event_count(ledger_url) == EVENTS
