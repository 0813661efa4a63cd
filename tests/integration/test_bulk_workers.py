"""Bulk writes decided in worker processes: the same answers and the same ledger as in one."""

from __future__ import annotations

import contextlib
import json
import pickle
import uuid
from pathlib import Path
from typing import Any

import pytest

import commands.bulk_workers
import ledger.store.batch_writer
from bench.common import synthetic_lines
from commands.bulk import apply_in_batches, one_by_one
from commands.bulk_workers import Deciders
from commands.handlers import handle
from commands.jsonlines import BOM
from commands.models import Envelope, parse_command
from ledger.domain import errors
from ledger.domain.sealed import SealedComplainant, SealedText
from ledger.store.root import open_ledger
from tests.helpers import run

ACTOR = {"id": "li", "role": "handling_team"}
LEADER = {"id": "wang", "role": "leadership"}
RANDOM = ("timestamp", "key_id")  # the recording time, and a key's id (made at random)


def note(command_id: str, ref: str, at: str = "2026-11-25T10:00:00+08:00") -> dict[str, Any]:
    return {"command": "add_note", "command_id": command_id, "ref": ref, "actor": ACTOR,
            "occurred_at": at, "text": "复核"}  # fmt: skip


def mixed_input(complaints: int) -> list[bytes]:
    """Synthetic histories with refusals of several kinds, repeats and an erasure among them."""
    lines = synthetic_lines(complaints, 7)
    receipt = json.loads(lines[0])
    ref = receipt["ref"]
    extra = [
        note("n-unknown", "NO-SUCH-REF"),  # ComplaintNotFound
        json.dumps({**receipt, "command_id": "again-receive"}),  # DuplicateReference
        note("n-1", ref),
        note("n-1", "B7-00000002"),  # the same id on another complaint: CommandIdReused
        note("n-early", ref, "2001-01-01T00:00:00+08:00"),  # before the complaint was received
        note("n-1", ref),  # the same command again: already applied
        b"{not json",
        {"command": "erase", "command_id": "erase-3", "ref": "B7-00000003", "actor": LEADER,
         "occurred_at": "2026-11-26T10:00:00+08:00", "reason": "the customer asked"},
        note("n-erased", "B7-00000003", "2026-11-27T10:00:00+08:00"),
    ]  # fmt: skip
    encoded = [
        e if isinstance(e, bytes) else (e if isinstance(e, str) else json.dumps(e)).encode()
        for e in extra
    ]
    middle = len(lines) // 2
    return lines[:middle] + [e + b"\n" for e in encoded] + lines[middle:]


def normal(value: Any) -> Any:
    """An event's fields but those that differ between any two ledgers: the recording time
    and sealed values (sealed under random keys; text withheld after an erasure stays apart)."""
    if isinstance(value, SealedText):
        return "withheld" if value.withheld else "sealed"
    if isinstance(value, SealedComplainant):
        return type(value).__name__
    if isinstance(value, list | tuple):
        return [normal(v) for v in value]
    return value


def ledger_state(
    url: str, command_ids: list[str], moving: frozenset[tuple[str, str]] = frozenset()
) -> tuple[Any, Any]:
    """Every stream's events (kind, version, fields) and the command log (id, ref, version);
    ``moving``: (kind, field) of fields set to the time they were decided at."""
    with open_ledger(url) as ledger:
        streams = {
            ref: [
                (
                    type(e).__name__,
                    e.originator_version,
                    {
                        k: normal(v)
                        for k, v in vars(e).items()
                        if k not in RANDOM and (type(e).__name__, k) not in moving
                    },
                )
                for e in ledger.complaint_events(ref)
            ]
            for ref in ledger.iter_refs()
        }
        log = ledger.ledger_recorder.select_commands(command_ids)
    return streams, sorted((c.command_id, c.ref, c.version) for c in log.values())


def command_ids(lines: list[bytes]) -> list[str]:
    ids = []
    for line in lines:
        with contextlib.suppress(ValueError):
            ids.append(json.loads(line)["command_id"])
    return ids


@pytest.fixture
def worker_batches(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The number of commands of each batch sent to the workers (in this process's CLI)."""
    sizes: list[int] = []
    send = Deciders._send

    def counted(self: Deciders, parts: list[list[Any]]) -> None:
        sizes.append(sum(len(p) for p in parts))
        send(self, parts)

    monkeypatch.setattr(Deciders, "_send", counted)
    return sizes


def apply_file(url: str, path: Path, workers: int) -> tuple[int, dict[str, Any]]:
    result = run(url, "apply", str(path), "--bulk", "--batch-size", "40", "--workers",
                 str(workers), "--format", "json")  # fmt: skip
    return result.exit_code, json.loads(result.stdout)


@pytest.fixture
def decided_again(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The commands a failed write of the workers' batch made this process decide again."""
    again: list[str] = []

    def counted(ledger: Any, batch: list[tuple[int, Envelope]], outcomes: Any) -> Any:
        again.extend(c.command_id for _, c in batch)
        return one_by_one(ledger, batch, outcomes)

    monkeypatch.setattr(commands.bulk_workers, "one_by_one", counted)
    return again


def test_two_workers_give_the_answers_and_the_ledger_of_one(
    ledger_url: str,
    second_url: str,
    tmp_path: Path,
    worker_batches: list[int],
    decided_again: list[str],
) -> None:
    lines = mixed_input(25)
    path = tmp_path / "commands.jsonl"
    path.write_bytes(b"".join(lines))

    one = [apply_file(ledger_url, path, 1), apply_file(ledger_url, path, 1)]
    assert not worker_batches
    two = [apply_file(second_url, path, 2), apply_file(second_url, path, 2)]

    assert len(worker_batches) > 10  # most batches went to the workers (not the one with n-1)
    # The workers decided each batch while the one before was written, on what it would
    # store, and were right: no write failed.
    assert decided_again == []
    assert two == one
    assert len(one[0][1]["errors"]) == 5, one[0][1]["errors"]
    assert one[1][1]["applied"] == 0  # the replay appended nothing
    # ... and refused the repeats on the erased complaint, which can no longer be compared.
    assert any("erased" in e["error"] for e in one[1][1]["errors"])
    ids = command_ids(lines)
    assert ledger_state(second_url, ids) == ledger_state(ledger_url, ids)
    for url in (ledger_url, second_url):
        verified = run(url, "verify", "--no-anchor")
        assert verified.exit_code == 0, verified.output


def test_every_refusal_crosses_processes_with_its_kind_and_message() -> None:
    kinds = [errors.LedgerError]
    for kind in kinds:
        kinds.extend(kind.__subclasses__())

    # Kinds made from more than a message, each with an instance of its own.
    made = {
        errors.StoredEventUnreadable: lambda: errors.StoredEventUnreadable(
            uuid.UUID(int=7), 3, "topic 'x' names no event", "complaint CFPB-1"
        ),
    }

    for kind in kinds:
        error = made[kind]() if kind in made else kind("CFPB-1: refused, for a reason")
        back = pickle.loads(pickle.dumps(error))

        assert type(back) is kind
        assert str(back) == str(error)


def test_a_worker_batch_whose_write_meets_another_writer_is_applied_again_one_by_one(
    ledger_url: str, second_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Another writer appends to a complaint of the second batch after the workers decided it
    and before it is written: the write fails, the workers forget, the batch is decided again
    one by one in this process, and the batches after it go to the workers again. The result
    is that of applying every command one by one with the other writer's between batches."""
    lines = synthetic_lines(12, 3)
    commands_ = [(i, parse_command(json.loads(line))) for i, line in enumerate(lines, start=1)]
    refs = [json.loads(line)["ref"] for line in lines]
    spanning = next(r for r in refs[20:30] if r in refs[30:60])  # in batches 1 and 2
    interloper = parse_command(note("other-writer", spanning, "2026-11-30T09:00:00+08:00"))
    assert isinstance(interloper, Envelope)
    # The workers' batches are written by copy_encoded on PostgreSQL, insert_encoded on SQLite.
    name = "copy_encoded" if ledger_url.startswith("postgresql") else "insert_encoded"
    write = getattr(ledger.store.batch_writer, name)
    writes: list[int] = []

    def other_writer_first(*args: Any) -> int:
        writes.append(len(args[1]))
        if len(writes) == 2:
            with open_ledger(ledger_url) as other:
                handle(other, interloper)
        return write(*args)

    with open_ledger(ledger_url) as main, Deciders(ledger_url, 2) as deciders:
        monkeypatch.setattr(ledger.store.batch_writer, name, other_writer_first)
        refused = [f.position for f in apply_in_batches(main, commands_, 30, deciders=deciders)]
        monkeypatch.undo()
    with open_ledger(second_url) as single:
        refused_single = []
        for position, command in commands_:
            if position == 31:
                handle(single, interloper)
            assert isinstance(command, Envelope)
            try:
                handle(single, command)
            except errors.LedgerError:
                refused_single.append(position)

    assert len(writes) >= 4  # batches after the failed one were written by the workers' path
    assert refused == refused_single
    ids = [*command_ids(lines), "other-writer"]
    assert ledger_state(ledger_url, ids) == ledger_state(second_url, ids)
    assert run(ledger_url, "verify", "--no-anchor").exit_code == 0


def test_the_cfpb_import_with_two_workers_imports_what_one_does(
    ledger_url: str, second_url: str, worker_batches: list[int]
) -> None:
    sample = Path("/work/shared/data/cfpb/Consumer_Complaints.csv")
    if not sample.is_file():
        pytest.skip(f"{sample} is not on this machine")

    one = run(ledger_url, "import", "cfpb", str(sample), "--workers", "1", "--format", "json")
    two = run(second_url, "import", "cfpb", str(sample), "--workers", "2", "--format", "json")
    again = run(second_url, "import", "cfpb", str(sample), "--workers", "2", "--format", "json")

    assert worker_batches
    assert (two.exit_code, two.stdout, two.stderr) == (one.exit_code, one.stdout, one.stderr)
    assert json.loads(again.stdout)["files"][0]["imported"] == 0
    with open_ledger(ledger_url) as first:
        refs = list(first.iter_refs())
    # The import dates the notes it adds when it adds them.
    moving = frozenset({("NoteAdded", "occurred_at")})
    assert ledger_state(second_url, [], moving) == ledger_state(ledger_url, [], moving)
    assert refs
    assert run(second_url, "verify", "--no-anchor").exit_code == 0


def test_lines_that_do_not_parse_are_refused_by_two_workers_as_by_one(
    ledger_url: str, second_url: str, tmp_path: Path, worker_batches: list[int]
) -> None:
    """Lines of every kind of fault, among others the workers parse themselves: the same
    errors at the same lines, and the same ledger."""
    lines = synthetic_lines(6, 5)
    ref = json.loads(lines[0])["ref"]

    def line(command_id: str, **fields: Any) -> bytes:
        data = {"command": "add_note", "command_id": command_id, "ref": ref, "actor": ACTOR,
                "text": "x", **fields}  # fmt: skip
        return json.dumps({k: v for k, v in data.items() if v is not None}).encode()

    odd = [
        b"\xff\xfe not UTF-8",
        b"[1, 2]",
        b"   ",
        b"[" * 5000,
        line("o-nan").replace(b'"x"', b"NaN"),
        line("o-missing", text=None),
        line("o-extra", x=1),
        line("o-kind", command="no_such"),
        line(" o-spaced ", ref=f" {ref} "),  # stripped by the model: parsed in this process
        line("o-dup").replace(b'"ref"', b'"ref": "NOPE", "ref"'),
        line("o-time", occurred_at="soon"),
        BOM + line("o-bom"),
        line("o-nul\x00"),  # a NUL in an id: refused before the command log is asked about it
    ]
    filled = [o + b"\n" for o in odd]
    middle = len(lines) // 2
    path = tmp_path / "commands.jsonl"
    path.write_bytes(b"".join(lines[:middle] + filled + lines[middle:]))

    one = apply_file(ledger_url, path, 1)
    two = apply_file(second_url, path, 2)

    assert worker_batches
    assert two == one
    assert [e["line"] for e in one[1]["errors"]] == [
        middle + n for n in (1, 2, 4, 5, 6, 7, 8, 11, 13)
    ]
    ids = [*command_ids(lines), "o-spaced", "o-dup", "o-bom"]
    moving = frozenset({("NoteAdded", "occurred_at")})  # now, when given no time
    assert ledger_state(second_url, ids, moving) == ledger_state(ledger_url, ids, moving)


def test_a_line_nested_too_deeply_to_send_back_is_refused_by_a_worker_not_its_end(
    ledger_url: str, second_url: str, tmp_path: Path, worker_batches: list[int]
) -> None:
    """Lines a worker parses whose error holds a value nested nearly as deep as ``json`` takes
    (too deep to pickle back): refused at their lines, the import goes on."""
    lines = synthetic_lines(2, 5)
    ref = json.loads(lines[0])["ref"]
    deep = [
        json.dumps({"command": "add_note", "command_id": f"deep-{n}", "ref": ref,
                    "actor": ACTOR, "text": "x"}).replace('"x"', "[" * n + "]" * n).encode()
        + b"\n"
        for n in range(950, 1010)
    ]  # fmt: skip
    path = tmp_path / "commands.jsonl"
    path.write_bytes(b"".join(lines + deep))

    one = apply_file(ledger_url, path, 1)
    two = apply_file(second_url, path, 2)

    assert worker_batches
    assert two[1]["applied"] == one[1]["applied"] == len(lines)
    # The same lines refused; where ``json`` stops (how deep the stack is) may differ.
    assert [e["line"] for e in two[1]["errors"]] == [e["line"] for e in one[1]["errors"]]
    assert [e["line"] for e in one[1]["errors"]] == list(range(len(lines) + 1, len(lines) + 61))
    assert {e["error"] for e in two[1]["errors"]} <= {
        "text: Input should be a valid string",
        "not valid JSON (nested too deeply)",
    }


@pytest.mark.parametrize("ledger_url", ["postgres"], indirect=True)  # a PostgreSQL session's
def test_command_ids_beyond_ascii_are_logged_as_given_whatever_the_client_encoding(
    ledger_url: str, tmp_path: Path, worker_batches: list[int], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The workers' rows go by ``COPY`` as UTF-8: with a session in another client encoding
    (``PGCLIENTENCODING``), a command id with an accent is logged as it was given, and the
    same input again is all repeats."""
    monkeypatch.setenv("PGCLIENTENCODING", "LATIN1")
    lines = [
        line.replace(b'"command_id": "', '"command_id": "é-'.encode(), 1)
        for line in synthetic_lines(4, 3)
    ]
    path = tmp_path / "commands.jsonl"
    path.write_bytes(b"".join(lines))

    first = apply_file(ledger_url, path, 2)
    again = apply_file(ledger_url, path, 2)

    assert worker_batches
    assert first[1]["applied"] == again[1]["duplicates"] == len(lines)
    with open_ledger(ledger_url) as ledger:
        assert len(ledger.ledger_recorder.select_commands(command_ids(lines))) == len(lines)
