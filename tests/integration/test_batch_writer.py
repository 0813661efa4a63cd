"""The bulk path's writer (``ledger.store.batch_writer``) stores what ``Ledger.save`` stores.

The same decisions (the same aggregates, command-log entries and keys, copied before either
writes them) go to two fresh ledgers: through the writer into one, through the library's
``save`` into the other. Every table the write touches must then hold the same rows, byte
for byte: events with their positions, chain links, command log, keys, blind index.
"""

from __future__ import annotations

import contextlib
import copy
import enum
import sqlite3
import types
import typing
import uuid
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from eventsourcing.domain import DomainEvent
from eventsourcing.persistence import IntegrityError, OperationalError

from commands import bulk_worker
from commands.bulk import Batch, apply_in_batches
from commands.handlers import handle
from commands.models import Envelope, parse_command
from ledger.domain.complaint import Complaint
from ledger.domain.errors import LedgerError
from ledger.domain.readiness import ReadinessBook
from ledger.domain.sealed import LegacyText, SealedComplainant, SealedText
from ledger.domain.staff import StaffDirectory
from ledger.domain.values import Actor, Method, Remedy, RemedyKind, Role
from ledger.integrity.sealbook import SealBook
from ledger.integrity.verify import verify_ledger
from ledger.store.batch_writer import copy_encoded, insert_encoded
from ledger.store.blind_index import COMPLAINANT_INDEX, COMPLAINT_LINKS
from ledger.store.books import CalendarBook, PolicyBook
from ledger.store.copy_text import command_row
from ledger.store.event_rows import EventRows
from ledger.store.root import Ledger, open_ledger
from ledger.store.side_queries import COMMAND_LOG
from tests.integration.test_bulk import receipts_first

TABLES = {
    "events": "SELECT * FROM {events} ORDER BY {position}",
    "chain_links": "SELECT * FROM {schema}chain_links ORDER BY position",
    "command_log": f"SELECT * FROM {{schema}}{COMMAND_LOG} ORDER BY command_id",
    "person_keys": "SELECT * FROM {schema}person_keys ORDER BY key_id",
    "index": f"SELECT * FROM {{schema}}{COMPLAINANT_INDEX} ORDER BY 1, 2, 3, 4, 5",
    "links": f"SELECT * FROM {{schema}}{COMPLAINT_LINKS} ORDER BY 1, 2, 3",
}


def dump(ledger: Ledger) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of the tables a write touches, in a stable order."""
    recorder: Any = ledger.recorder
    schema = getattr(recorder.datastore, "schema", None)
    prefix = f'"{schema}".' if schema else ""
    events = f"{prefix}{recorder.events_table_name}"
    position = "notification_id" if schema else "rowid"
    out: dict[str, list[tuple[Any, ...]]] = {}
    with recorder.datastore.transaction(commit=False) as c:
        for name, query in TABLES.items():
            c.execute(query.format(events=events, position=position, schema=prefix))
            rows = c.fetchall()
            out[name] = [tuple(r.values()) if isinstance(r, dict) else tuple(r) for r in rows]
    return out


def test_the_writer_stores_what_the_librarys_save_stores(ledger_url: str, second_url: str) -> None:
    commands = [c for _, c in receipts_first(30) if isinstance(c, Envelope)]
    with open_ledger(ledger_url) as written, open_ledger(second_url) as saved:
        batch = Batch(written)
        for start in range(0, len(commands), 37):
            chunk = commands[start : start + 37]
            batch.prefetch(chunk)
            for command in chunk:
                with contextlib.suppress(LedgerError):  # refusals: the same in both
                    handle(batch, command)
            changed = [a for a in batch.staged.values() if a.pending_events]
            twins = copy.deepcopy((changed, list(batch.records.values()), batch.keys))
            saved.save(*twins[0], commands=twins[1], keys=twins[2])
            batch.flush()  # through the writer
        ours, library = dump(written), dump(saved)
        assert verify_ledger(written).events == len(dump(written)["events"])

    assert len(ours["events"]) > 150
    assert len(ours["chain_links"]) == len(ours["events"])
    assert ours["command_log"]
    assert ours["person_keys"]
    assert ours["index"]
    for name in TABLES:
        assert ours[name] == library[name], name


def test_a_bulk_import_run_again_appends_nothing(ledger_url: str) -> None:
    """Idempotency by command id holds through the writer: the same import, twice."""
    commands = receipts_first(12)
    with open_ledger(ledger_url) as ledger:
        first = [f.position for f in apply_in_batches(ledger, commands, 50)]
        count, tables = ledger.count_events(), dump(ledger)
        again = [f.position for f in apply_in_batches(ledger, commands, 50)]
        assert ledger.count_events() == count
        assert dump(ledger) == tables
        complaint = ledger.get_complaint("BULK-0001")
        assert isinstance(complaint, Complaint)
    assert again == first


def note(n: int, ref: str) -> Envelope:
    command = parse_command(
        {
            "command": "add_note",
            "command_id": f"writer-note-{n}",
            "ref": ref,
            "actor": {"id": "li", "role": "handling_team"},
            "occurred_at": "2026-11-25T10:00:00+08:00",
            "text": "复核",
        }
    )
    assert isinstance(command, Envelope)
    return command


def test_a_batch_another_writer_overtook_writes_nothing(ledger_url: str) -> None:
    """The (stream, version) the batch would write was taken meanwhile: the whole transaction
    fails with the library's ``IntegrityError`` (what the bulk path falls back on), and the
    ledger holds only the other writer's event, its chain intact."""
    with open_ledger(ledger_url) as ledger, open_ledger(ledger_url) as other:
        assert not list(apply_in_batches(ledger, receipts_first(3)[:3], 10))
        batch = Batch(ledger, cache_size=0)
        mine = [note(1, "BULK-0001"), note(2, "BULK-0002")]
        batch.prefetch(mine)
        for command in mine:
            handle(batch, command)
        handle(other, note(3, "BULK-0001"))
        tables = dump(ledger)
        count = len(tables["events"])
        with pytest.raises(IntegrityError):
            batch.flush()
        assert dump(ledger) == tables
        assert verify_ledger(ledger).events == count
        # Through the bulk path the same commands are then decided again, one by one.
        assert not list(apply_in_batches(ledger, list(enumerate(mine)), 10))
        # (Positions are not counts: the failed transaction drew two from the sequence.)
        assert len(dump(ledger)["events"]) == count + 2
        assert verify_ledger(ledger).events == count + 2


# ------------------------------------------------------------- the event rows' encoding

STRINGS = [
    "复核 plain",
    'NUL \x00, controls \x01\x1f\x7f, quotes " \\ /, \n\r\t\b\f, \u2028\u2029, 😀, é',
    "",
    "x" * 300,
    "lone surrogate \ud800",  # neither encoder can write it: the same error from both
]
ANY_VALUES: list[Any] = [
    {"text": "复核\x00", "n": 3, "list": [True, None, "x"], "nested": {"k": ["v"]}},
    {"float": 1.5, "big": 1e16, "nan": float("nan")},  # floats: the library's transcoder
    {1: "an int key"},  # orjson refuses it: the library's transcoder
    uuid.UUID("12345678-1234-5678-1234-567812345678"),  # orjson would write it natively
]


def sample(hint: Any, variant: int) -> Any:
    """A value of type ``hint`` (the ``variant``-th kind of it)."""
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if origin in (typing.Union, types.UnionType):
        return sample(args[variant % len(args)], variant)
    if origin is list:
        return [sample(args[0], variant), sample(args[0], variant + 1)]
    if origin is dict or hint is Any:
        return ANY_VALUES[variant % len(ANY_VALUES)]
    values: dict[Any, Any] = {
        str: STRINGS[variant % len(STRINGS)],
        int: [7, -3, 2**70, 0][variant % 4],  # 2**70: more than orjson's 64 bits
        bool: variant % 2 == 0,
        type(None): None,
        datetime: [
            datetime(2026, 1, 2, 3, 4, 5, 678901, tzinfo=ZoneInfo("Asia/Shanghai")),
            datetime(2026, 1, 2, tzinfo=UTC),
        ][variant % 2],
        Actor: Actor(
            STRINGS[variant % len(STRINGS)],
            list(Role)[variant % len(Role)],
            list(Method)[variant % len(Method)],
            "login" if variant % 2 else None,
        ),
        SealedText: SealedText("key-1", b"\x00\x01" * variant, b"\xff\xfe"),
        SealedComplainant: SealedComplainant("key-1", b"\x00\x01", b"\xff"),
        LegacyText: LegacyText("plain"),  # no transcoding: both refuse it
        Remedy: Remedy(
            list(RemedyKind)[variant % len(RemedyKind)],
            Decimal("12.50") if variant % 2 else None,
            STRINGS[variant % 3],
        ),
    }
    if isinstance(hint, type) and issubclass(hint, enum.Enum):
        return list(hint)[variant % len(hint)]
    return values[hint]


def event_classes() -> list[type]:
    found = []
    for aggregate in (Complaint, StaffDirectory, ReadinessBook, PolicyBook, CalendarBook, SealBook):
        for value in vars(aggregate).values():
            if isinstance(value, type) and issubclass(value, DomainEvent):
                found.append(value)
    return found


def encoded(encode: Any) -> tuple[str, Any]:
    try:
        return "stored", encode()
    except Exception as e:  # the same refusal from both is part of the same behaviour
        return "refused", type(e)


def test_the_event_rows_are_the_mappers_for_every_event_class(tmp_path: Path) -> None:
    """Every event class of the ledger, with values of every kind its fields take (NULs,
    controls, quotes, emoji, lone surrogates, sealed fields, enumerations, integers over 64
    bits, free-form dicts with floats and int keys, UUIDs): ``EventRows`` stores the bytes
    the library's mapper stores, and refuses what it refuses."""
    classes = event_classes()
    assert len(classes) >= 60
    with open_ledger(f"sqlite:///{tmp_path / 'rows.db'}") as ledger:
        mapper = ledger.mapper
        rows = EventRows(mapper)
        fast = 0
        for cls in classes:
            hints = {
                name: hint
                for name, hint in typing.get_type_hints(cls).items()
                if typing.get_origin(hint) is not typing.ClassVar
            }
            for variant in range(20):  # 5 strings, 4 free-form values: every pair
                state = {name: sample(hint, variant) for name, hint in hints.items()
                         if name not in ("originator_id", "originator_version")}  # fmt: skip
                event = cls.__new__(cls)
                event.__dict__.update(state, originator_id=uuid.uuid4(), originator_version=3)
                ours = encoded(lambda e=event: rows.stored([e])[0])
                library = encoded(lambda e=event: mapper.to_stored_event(e))
                assert ours == library, (cls.__qualname__, variant)
                fast += ours[0] == "stored" and rows._writes_alike(dict(state))
        assert fast > 60  # orjson wrote many of them (not everything fell back)


def decide_and_write_both_ways(
    written: Ledger, saved: Ledger, commands: list[Envelope], encode: Any, entry: Any,
    write: Any,
) -> None:  # fmt: skip
    """Decide ``commands`` in batches of 37, as a bulk worker does; save each batch's events
    to ``saved`` with the library's ``save``, and write them to ``written`` as the workers'
    path does: each stream made by ``encode``, each command-log entry by ``entry``, the
    batch written by ``write``."""
    batch = Batch(written)
    rows = EventRows(written.mapper)
    for start in range(0, len(commands), 37):
        chunk = commands[start : start + 37]
        batch.prefetch(chunk)
        for command in chunk:
            with contextlib.suppress(LedgerError):
                handle(batch, command)
        changed = [a for a in batch.staged.values() if a.pending_events]
        twins = copy.deepcopy((changed, list(batch.records.values()), batch.keys))
        saved.save(*twins[0], commands=twins[1], keys=twins[2])
        streams = [encode(n, a.id, rows.stored(a.collect_events())) for n, a in enumerate(changed)]
        entries = [entry(r.command_id, r.ref, r.fingerprint, r.version)
                   for r in batch.records.values()]  # fmt: skip
        write(written, streams, entries, batch.keys)
        batch.saved()


@pytest.mark.parametrize("ledger_url", ["postgres"], indirect=True)  # COPY is PostgreSQL's
def test_rows_a_worker_encodes_for_copy_store_what_the_librarys_save_stores(
    ledger_url: str, second_url: str
) -> None:
    """The workers' path on PostgreSQL: events and command-log entries made into ``COPY``
    rows where they are decided (``commands.bulk_worker``), positions and links added by
    ``copy_encoded``; command ids with a backslash and a tab among them."""
    commands = [c for _, c in receipts_first(30) if isinstance(c, Envelope)]
    odd = [c.model_copy(update={"command_id": f"{c.command_id}\\x\t{n}"}) for n, c in
           enumerate(commands[:40:3])]  # fmt: skip
    commands = odd + commands[40:]
    with open_ledger(ledger_url) as written, open_ledger(second_url) as saved:
        decide_and_write_both_ways(written, saved, commands, bulk_worker._encoded, command_row,
                                   copy_encoded)  # fmt: skip
        ours, library = dump(written), dump(saved)
        assert verify_ledger(written).events == len(ours["events"])

    assert len(ours["events"]) > 100
    assert any("\\" in row[0] and "\t" in row[0] for row in ours["command_log"])
    for name in TABLES:
        assert ours[name] == library[name], name


@pytest.mark.parametrize("ledger_url", ["sqlite"], indirect=True)
def test_rows_a_worker_prepares_for_sqlite_store_what_the_librarys_save_stores(
    ledger_url: str, second_url: str
) -> None:
    """The workers' path on SQLite: events made into the recorder's parameters with their
    record hashes where they are decided (``commands.bulk_worker``), positions and links
    added by ``insert_encoded``; batches that make, erase and continue complaints."""
    commands = [c for _, c in receipts_first(30) if isinstance(c, Envelope)]
    with open_ledger(ledger_url) as written, open_ledger(second_url) as saved:
        decide_and_write_both_ways(written, saved, commands, bulk_worker._hashed,
                                   lambda *entry: entry, insert_encoded)  # fmt: skip
        ours, library = dump(written), dump(saved)
        assert verify_ledger(written).events == len(ours["events"])

    assert len(ours["events"]) > 100
    assert ours["person_keys"]
    assert ours["index"]
    for name in TABLES:
        assert ours[name] == library[name], name


@pytest.mark.parametrize("ledger_url", ["sqlite"], indirect=True)
def test_events_sqlite_would_not_give_the_last_rowids_are_not_linked(ledger_url: str) -> None:
    """SQLite gives a new row the rowid past the largest, unless the largest is the last
    there is: then it picks free ones at random, and the writer, which takes the batch's
    positions to be the last ones, refuses the batch rather than link it wrongly."""
    commands = [c for _, c in receipts_first(3) if isinstance(c, Envelope)]
    with open_ledger(ledger_url) as ledger:
        batch = Batch(ledger)
        batch.prefetch(commands)
        for command in commands:
            with contextlib.suppress(LedgerError):
                handle(batch, command)
        changed = [a for a in batch.staged.values() if a.pending_events]
        rows = EventRows(ledger.mapper)
        streams = [bulk_worker._hashed(n, a.id, rows.stored(a.collect_events()))
                   for n, a in enumerate(changed)]  # fmt: skip
        entries = [(r.command_id, r.ref, r.fingerprint, r.version)
                   for r in batch.records.values()]  # fmt: skip
        before = dump(ledger)
        path = ledger_url.removeprefix("sqlite:///")
        last = 2**63 - 1  # an event at the last rowid there is
        with contextlib.closing(sqlite3.connect(path)) as raw, raw:
            raw.execute(
                "INSERT INTO stored_events (rowid, originator_id, originator_version, topic, "
                "state) VALUES (?, 'x', 1, 't', x'00')",
                (last,),
            )
        with pytest.raises(OperationalError, match="did not get the last rowids"):
            insert_encoded(ledger, streams, entries, batch.keys)
        after = dump(ledger)
    assert len(after["events"]) == len(before["events"]) + 1  # the forged row alone
    assert {k: v for k, v in after.items() if k != "events"} == {
        k: v for k, v in before.items() if k != "events"
    }
