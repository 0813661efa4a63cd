"""The bulk path's writer (``ledger.store.batch_writer``) stores what ``Ledger.save`` stores.

The same decisions (the same aggregates, command-log entries and keys, copied before either
writes them) go to two fresh ledgers: through the writer into one, through the library's
``save`` into the other. Every table the write touches must then hold the same rows, byte
for byte: events with their positions, chain links, command log, keys, blind index.
"""

from __future__ import annotations

import contextlib
import copy
from typing import Any

import pytest
from eventsourcing.persistence import IntegrityError

from commands.bulk import Batch, apply_in_batches
from commands.handlers import handle
from commands.models import Envelope, parse_command
from ledger.domain.complaint import Complaint
from ledger.domain.errors import LedgerError
from ledger.integrity.verify import verify_ledger
from ledger.store.blind_index import COMPLAINANT_INDEX, COMPLAINT_LINKS
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
