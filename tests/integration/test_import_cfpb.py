"""``complaint-ledger import cfpb`` on the fixtures, on SQLite and on PostgreSQL."""

from __future__ import annotations

import gc
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from commands.collection import BULK_THRESHOLD
from commands.importers.cfpb import read_rows
from commands.importers.records import Rejection, Row
from commands.importers.runner import import_rows
from ledger.domain.values import Channel, RemedyKind, Stage, Status
from ledger.store.root import open_ledger
from tests.helpers import actor, event_count, jsonl, receive_cmd, run

FIXTURES = Path(__file__).parents[1] / "fixtures"
NEW = str(FIXTURES / "cfpb_new.csv")
EVENTS_NEW = 5 * 8 + 2 * 3  # five closed complaints, two still open


def import_json(url: str, *args: str) -> tuple[int, dict[str, Any]]:
    result = run(url, "import", "cfpb", *args, "--format", "json")
    return result.exit_code, json.loads(result.stdout)


def variant(tmp_path: Path, old: str, new: str, source: str = NEW) -> str:
    """A copy of a fixture with one piece of text changed, as a newer export would be."""
    text = Path(source).read_text(encoding="utf-8")
    assert text.count(old) == 1
    path = tmp_path / "variant.csv"
    path.write_text(text.replace(old, new), encoding="utf-8")
    return str(path)


def recorded(url: str, command_ids: list[str]) -> list[str]:
    with open_ledger(url) as ledger:
        return [c for c in command_ids if ledger.find_command(c) is not None]


STEPS = ["receive", "triage", "findings", "plan", "execute", "notify-outcome", "close"]


def test_each_row_becomes_a_complaint_history(ledger_url: str) -> None:
    code, summary = import_json(ledger_url, NEW)

    assert code == 0
    assert summary == {
        "imported": 7,
        "skipped": 0,
        "rejected": [],
        "filtered": 0,
        "events": EVENTS_NEW,
        "files": [
            {
                "file": NEW,
                "imported": 7,
                "skipped": 0,
                "filtered": 0,
                "rejected": 0,
                "events": EVENTS_NEW,
            }
        ],
    }
    assert event_count(ledger_url) == EVENTS_NEW


def test_a_closed_cfpb_complaint_is_closed_with_its_response_on_the_day_it_was_sent(
    ledger_url: str,
) -> None:
    import_json(ledger_url, NEW)

    with open_ledger(ledger_url) as ledger:
        complaint = ledger.get_complaint("CFPB-9100002")

    assert complaint.status is Status.CLOSED
    assert complaint.channel is Channel.PHONE
    assert complaint.category == "Communication tactics"
    assert complaint.collector == "NORTHWIND COLLECTIONS INC"
    assert complaint.received_at == datetime(2020, 3, 3, 5, 0, tzinfo=UTC)
    assert complaint.triaged_at == datetime(2020, 3, 5, 5, 0, tzinfo=UTC)
    assert complaint.closed_at == datetime(2020, 3, 5, 5, 0, tzinfo=UTC)
    assert [(r.kind, r.amount) for r in complaint.remedies] == [(RemedyKind.OTHER, None)]
    assert complaint.notes == 1


def test_state_and_zip_are_kept_as_the_complainants_address(ledger_url: str) -> None:
    import_json(ledger_url, NEW)

    shown = json.loads(run(ledger_url, "show", "CFPB-9100002", "--format", "json").stdout)

    assert shown["complainant"] == {
        "name": None,
        "phone": None,
        "id_number": None,
        "address": "CA 94110",
    }


def test_a_complaint_still_in_progress_stays_open_after_triage(ledger_url: str) -> None:
    import_json(ledger_url, NEW)

    with open_ledger(ledger_url) as ledger:
        complaint = ledger.get_complaint("CFPB-9100004")

    assert complaint.status is Status.OPEN
    assert complaint.stage is Stage.INVESTIGATION
    assert complaint.outcome_at is None


def test_importing_the_same_file_again_appends_nothing(ledger_url: str) -> None:
    import_json(ledger_url, NEW)

    code, summary = import_json(ledger_url, NEW)

    assert code == 0
    assert (summary["imported"], summary["skipped"], summary["events"]) == (0, 7, 0)
    assert event_count(ledger_url) == EVENTS_NEW


def test_the_product_filter_imports_only_that_product_and_counts_the_rest(
    ledger_url: str,
) -> None:
    code, summary = import_json(ledger_url, NEW, "--product", "Debt collection")

    assert code == 0
    assert (summary["imported"], summary["filtered"], summary["skipped"]) == (5, 2, 0)
    with open_ledger(ledger_url) as ledger:
        assert not ledger.has_complaint("CFPB-9100003")
        assert ledger.has_complaint("CFPB-9100005")


def test_rows_that_cannot_be_read_are_reported_and_the_rest_imported(ledger_url: str) -> None:
    path = str(FIXTURES / "cfpb_bad_rows.csv")

    result = run(ledger_url, "import", "cfpb", path, "--format", "json")

    assert result.exit_code == 1
    summary = json.loads(result.stdout)
    assert (summary["imported"], summary["events"]) == (2, 16)
    assert [r["line"] for r in summary["rejected"]] == list(range(3, 13))
    assert result.stderr.splitlines()[0] == (
        f"Error: {path} line 3: CFPB-9300011: Submitted via 'Carrier pigeon' is not one of "
        "'Web', 'Referral', 'Web Referral', 'Phone', 'Postal mail', 'Fax', 'Email'"
    )
    assert event_count(ledger_url) == 16


def test_a_cut_off_last_record_is_rejected_with_the_line_it_starts_on(ledger_url: str) -> None:
    path = str(FIXTURES / "cfpb_truncated.csv")

    code, summary = import_json(ledger_url, path)

    assert code == 1
    assert summary["imported"] == 2
    assert summary["rejected"] == [
        {
            "file": path,
            "line": 4,
            "reason": "the record has 6 fields, the header 18 (a line break inside an "
            "unquoted field, or the file is cut off)",
        }
    ]


def test_a_row_the_ledger_refuses_midway_is_rejected_whole_and_the_others_imported(
    ledger_url: str, tmp_path: Path
) -> None:
    # Receipt is in the past, but the day it was sent to the company is in the future:
    # receive passes, triage is refused.
    path = variant(
        tmp_path, "2020-03-04,Closed with non-monetary", "2099-03-04,Closed with non-monetary"
    )

    code, summary = import_json(ledger_url, path)

    assert code == 1
    assert summary["rejected"] == [
        {
            "file": path,
            "line": 7,
            "reason": "CFPB-9100003: occurred_at 2099-03-04T00:00:00-05:00 is in the future",
        }
    ]
    assert summary["imported"] == 6
    assert recorded(ledger_url, [f"cfpb-9100003-{s}" for s in STEPS]) == []
    assert event_count(ledger_url) == EVENTS_NEW - 8


def test_a_reference_already_in_the_ledger_rejects_the_row_and_saves_none_of_it(
    ledger_url: str,
) -> None:
    manual = receive_cmd("CFPB-9100003", command_id="manual-1", actor=actor("customer_service"))
    assert run(ledger_url, "apply", "-", input=jsonl([manual])).exit_code == 0

    code, summary = import_json(ledger_url, NEW)

    assert code == 1
    assert summary["rejected"][0]["reason"] == (
        "CFPB-9100003: a complaint with reference 'CFPB-9100003' was already received"
    )
    assert recorded(ledger_url, [f"cfpb-9100003-{s}" for s in STEPS]) == []
    assert event_count(ledger_url) == 1 + EVENTS_NEW - 8


def test_a_newer_export_completes_a_complaint_that_was_in_progress(
    ledger_url: str, tmp_path: Path
) -> None:
    import_json(ledger_url, NEW)
    newer = variant(tmp_path, "2020-03-06,In progress", "2020-03-06,Closed with explanation")

    code, summary = import_json(ledger_url, newer)

    assert code == 0
    assert (summary["imported"], summary["skipped"], summary["events"]) == (1, 6, 6)
    with open_ledger(ledger_url) as ledger:
        complaint = ledger.get_complaint("CFPB-9100004")
    assert complaint.status is Status.CLOSED
    assert complaint.notes == 2


def test_a_row_imported_before_with_other_content_is_rejected_and_left_as_it_was(
    ledger_url: str, tmp_path: Path
) -> None:
    import_json(ledger_url, NEW)
    edited = variant(tmp_path, "have the receipt", "have no receipt")

    code, summary = import_json(ledger_url, edited)

    assert code == 1
    assert summary["rejected"][0]["line"] == 4
    assert summary["rejected"][0]["reason"] == (
        "CFPB-9100001 was imported before with other content (cfpb-9100001-receive); "
        "the ledger keeps what it recorded and nothing of this row was imported"
    )
    assert event_count(ledger_url) == EVENTS_NEW


def test_a_complaint_twice_in_one_file_is_imported_once(ledger_url: str, tmp_path: Path) -> None:
    source = (FIXTURES / "cfpb_old.csv").read_text(encoding="utf-8")
    path = tmp_path / "twice.csv"
    path.write_text(source + source.splitlines(keepends=True)[1], encoding="utf-8")

    code, summary = import_json(ledger_url, str(path))

    assert code == 0
    assert (summary["imported"], summary["skipped"]) == (4, 1)
    assert summary["events"] == 3 * 8 + 3


def ledger_contents(url: str) -> tuple[list[dict[str, Any]], list[tuple[str, int, str]]]:
    """What a ledger holds, independent of when it was written: every command that made it
    (exported, personal data decrypted) and every complaint's events by name, in order. The
    import's own note about a row happens when it is imported: its time is left out."""
    exported = run(url, "export-commands")
    assert exported.exit_code == 0, exported.stderr
    commands = [json.loads(line) for line in exported.stdout.splitlines()]
    for command in commands:
        if command["command"] == "add_note":
            del command["occurred_at"]
    with open_ledger(url) as ledger:
        refs = list(ledger.iter_refs())
        events = [
            (ref, event.originator_version, type(event).__name__)
            for ref in refs
            for event in ledger.complaint_events(ref)
        ]
    return commands, events


def test_small_batches_give_the_same_ledger(ledger_url: str, second_url: str) -> None:
    code, summary = import_json(ledger_url, NEW, "--batch-size", "1")
    default_code, _ = import_json(second_url, NEW)

    small, usual = ledger_contents(ledger_url), ledger_contents(second_url)

    assert (code, default_code) == (0, 0)
    assert (summary["imported"], summary["events"]) == (7, EVENTS_NEW)
    assert (len(small[0]), len(small[1])) == (EVENTS_NEW, EVENTS_NEW)  # a command an event
    assert small == usual


def test_a_file_that_is_not_a_cfpb_export_changes_nothing(ledger_url: str) -> None:
    bad = str(FIXTURES / "cfpb_no_header.csv")

    result = run(ledger_url, "import", "cfpb", NEW, bad)

    assert result.exit_code == 1
    assert result.stdout == ""
    assert result.stderr == (
        f"Error: {bad}: no header line starting with 'Date received' in its first 51 lines; "
        "is it the right kind of file?\n"
    )
    assert event_count(ledger_url) == 0


def test_the_table_shows_each_file_and_the_total(
    ledger_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    for name in ("cfpb_new.csv", "cfpb_truncated.csv"):
        (tmp_path / name).write_bytes((FIXTURES / name).read_bytes())

    result = run(ledger_url, "import", "cfpb", "cfpb_new.csv", "cfpb_truncated.csv")

    assert result.exit_code == 1
    assert result.stdout == (
        "file                imported  skipped  filtered  rejected  events\n"
        "------------------  --------  -------  --------  --------  ------\n"
        "cfpb_new.csv        7         0        0         0         46\n"
        "cfpb_truncated.csv  2         0        0         1         11\n"
        "total               9         0        0         1         57\n"
    )
    assert result.stderr == (
        "Error: cfpb_truncated.csv line 4: the record has 6 fields, the header 18 "
        "(a line break inside an unquoted field, or the file is cut off)\n"
    )


def test_a_missing_file_is_a_usage_error(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'ledger.db'}"

    result = run(url, "import", "cfpb", str(tmp_path / "nope.csv"))

    assert result.exit_code == 2
    assert result.stderr.splitlines()[0] == (
        f"Error: Invalid value for 'FILE...': File '{tmp_path / 'nope.csv'}' does not exist."
    )


def test_the_import_collects_garbage_less_often_while_it_runs(ledger_url: str) -> None:
    """``import_rows`` runs under ``commands.collection.fewer_collections``: raised while the
    rows are imported (seen between the results it yields), put back once it ends."""
    before = gc.get_threshold()
    seen: list[int] = []
    with open_ledger(ledger_url) as ledger, open(NEW, encoding="utf-8") as file:
        rows = (r for r in read_rows(file, NEW) if isinstance(r, Row | Rejection))
        for result in import_rows(ledger, rows, 10):
            seen.append(gc.get_threshold()[0])
            assert result.status == "imported"
    assert seen == [max(BULK_THRESHOLD, before[0])] * 7
    assert gc.get_threshold() == before
