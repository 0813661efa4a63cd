"""``import cfpb`` when another writer appends to one of its complaints while a chunk is
being saved: the chunk's write fails on the (stream, version) constraint and its rows are
decided again from the store, each row still all or nothing."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import commands.bulk
import ledger.store.batch_writer
from commands.bulk_workers import Deciders
from commands.handlers import handle
from commands.importers.runner import ROW_ATTEMPTS
from commands.models import parse_command
from ledger.store.root import open_ledger
from tests.helpers import run

FIXTURES = Path(__file__).parents[1] / "fixtures"
NEW = FIXTURES / "cfpb_new.csv"
# What the newer export adds to CFPB-9100004, which was in progress (docs/import-cfpb.md).
COMPLETION = ["findings", "plan", "execute", "notify-outcome", "close"]


def newer_export(tmp_path: Path) -> str:
    """cfpb_new.csv as a later export has it: CFPB-9100004 is now closed."""
    text = NEW.read_text(encoding="utf-8")
    old = "2020-03-06,In progress"
    assert text.count(old) == 1
    path = tmp_path / "newer.csv"
    path.write_text(text.replace(old, "2020-03-06,Closed with explanation"), encoding="utf-8")
    return str(path)


def assign(occurred_at: str, command_id: str = "other-writer") -> dict[str, Any]:
    return {
        "command": "assign", "command_id": command_id, "ref": "CFPB-9100004",
        "actor": {"id": "li", "role": "handling_team"}, "occurred_at": occurred_at,
        "handler": "wang", "team": "handling_group",
    }  # fmt: skip


@pytest.fixture
def other_writer_first(
    ledger_url: str, monkeypatch: pytest.MonkeyPatch
) -> Iterator[list[dict[str, Any]]]:
    """Just before each write of the bulk path, another connection applies the next of the
    commands appended to the yielded list (none left: no other writer)."""
    interlopers: list[dict[str, Any]] = []
    write = commands.bulk.write_events
    with open_ledger(ledger_url) as other:

        def first_the_other_writer(*args: Any) -> Any:
            if interlopers:
                handle(other, parse_command(interlopers.pop(0)))
            return write(*args)

        monkeypatch.setattr(commands.bulk, "write_events", first_the_other_writer)
        yield interlopers


def recorded(url: str, command_ids: list[str]) -> list[str]:
    with open_ledger(url) as ledger:
        return [c for c in command_ids if ledger.find_command(c) is not None]


def import_json(url: str, path: str) -> tuple[int, dict[str, Any]]:
    result = run(url, "import", "cfpb", path, "--format", "json")
    return result.exit_code, json.loads(result.stdout)


def test_a_row_refused_after_another_writer_meets_its_chunk_saves_none_of_its_commands(
    ledger_url: str, tmp_path: Path, other_writer_first: list[dict[str, Any]]
) -> None:
    """The other writer assigns CFPB-9100004 after the day the export closes it: decided
    again, the row's findings, plan, execution and outcome pass, but the closure is refused
    (it may not precede the assignment). None of the row may be saved."""
    assert import_json(ledger_url, str(NEW))[0] == 0
    other_writer_first.append(assign("2020-04-01T10:00:00-04:00"))

    code, summary = import_json(ledger_url, newer_export(tmp_path))

    assert code == 1
    assert other_writer_first == []  # the other writer did write first
    [rejected] = summary["rejected"]
    assert rejected["line"] == 11
    assert rejected["reason"].startswith("CFPB-9100004: ")
    assert "is before the assignment at 2020-04-01T10:00:00-04:00" in rejected["reason"]
    assert "part of this row" not in rejected["reason"]
    assert (summary["imported"], summary["skipped"], summary["events"]) == (0, 6, 0)
    ids = [f"cfpb-9100004-{s}" for s in COMPLETION]
    assert recorded(ledger_url, [*ids, "other-writer"]) == ["other-writer"]


def test_a_row_whose_chunk_meets_another_writer_is_decided_again_and_saved_whole(
    ledger_url: str, tmp_path: Path, other_writer_first: list[dict[str, Any]]
) -> None:
    assert import_json(ledger_url, str(NEW))[0] == 0
    other_writer_first.append(assign("2020-03-05T12:00:00-05:00"))

    code, summary = import_json(ledger_url, newer_export(tmp_path))

    assert code == 0
    assert other_writer_first == []
    assert (summary["imported"], summary["skipped"], summary["events"]) == (1, 6, 6)
    ids = [f"cfpb-9100004-{s}" for s in COMPLETION]
    assert recorded(ledger_url, ids) == ids
    with open_ledger(ledger_url) as ledger:
        kinds = [type(e).__qualname__ for e in ledger.complaint_events("CFPB-9100004")]
    assert kinds[3] == "Complaint.Assigned"  # the other writer's, before the row's


def test_a_row_other_writers_keep_changing_is_rejected_whole_and_the_next_import_completes_it(
    ledger_url: str, tmp_path: Path, other_writer_first: list[dict[str, Any]]
) -> None:
    """Another writer appends before the chunk's write and before each of the row's five
    tries on its own: the row is rejected with nothing of it saved; imported again, it is."""
    assert import_json(ledger_url, str(NEW))[0] == 0
    other_writer_first.extend(
        assign("2020-03-05T12:00:00-05:00", f"other-writer-{n}") for n in range(1 + ROW_ATTEMPTS)
    )
    newer = newer_export(tmp_path)

    code, summary = import_json(ledger_url, newer)
    ids = [f"cfpb-9100004-{s}" for s in COMPLETION]
    saved_then = recorded(ledger_url, ids)
    again = import_json(ledger_url, newer)

    assert code == 1
    assert other_writer_first == []
    [rejected] = summary["rejected"]
    assert rejected["line"] == 11
    assert rejected["reason"] == (
        "CFPB-9100004: other writers kept changing the complaint while it was imported; "
        "nothing of this row was imported (import the file again)"
    )
    assert saved_then == []
    assert again[0] == 0
    assert (again[1]["imported"], again[1]["events"]) == (1, 6)
    assert recorded(ledger_url, ids) == ids


def test_with_two_workers_a_row_refused_after_another_writer_meets_its_chunk_saves_none(
    ledger_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The same race when the workers decide the chunk: the main process's write meets the
    other writer, the rows are decided again one at a time, and the refused row leaves none
    of its commands behind."""
    assert import_json(ledger_url, str(NEW))[0] == 0
    interlopers = [assign("2020-04-01T10:00:00-04:00")]
    sent: list[int] = []
    # The workers' chunks are written by copy_encoded on PostgreSQL, insert_encoded on SQLite.
    name = "copy_encoded" if ledger_url.startswith("postgresql") else "insert_encoded"
    send, write = Deciders._send, getattr(ledger.store.batch_writer, name)
    with open_ledger(ledger_url) as other:

        def first_the_other_writer(*args: Any) -> Any:
            if interlopers:
                handle(other, parse_command(interlopers.pop(0)))
            return write(*args)

        def counted(self: Deciders, parts: list[list[Any]]) -> None:
            sent.append(sum(len(p) for p in parts))
            send(self, parts)

        monkeypatch.setattr(ledger.store.batch_writer, name, first_the_other_writer)
        monkeypatch.setattr(Deciders, "_send", counted)
        result = run(ledger_url, "import", "cfpb", newer_export(tmp_path), "--workers", "2",
                     "--format", "json")  # fmt: skip

    summary = json.loads(result.stdout)
    assert (result.exit_code, interlopers) == (1, [])
    assert sent  # the workers decided the chunk
    [rejected] = summary["rejected"]
    assert "is before the assignment at 2020-04-01T10:00:00-04:00" in rejected["reason"]
    assert (summary["imported"], summary["skipped"], summary["events"]) == (0, 6, 0)
    ids = [f"cfpb-9100004-{s}" for s in COMPLETION]
    assert recorded(ledger_url, [*ids, "other-writer"]) == ["other-writer"]
