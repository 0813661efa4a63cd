"""The bulk path on complaints already in the ledger: the same decisions as one by one."""

from __future__ import annotations

import gc
from datetime import datetime, timedelta
from typing import Any

import pytest

import commands.bulk
from commands.bulk import apply_in_batches
from commands.collection import BULK_THRESHOLD
from commands.handlers import handle
from commands.models import Envelope, parse_command
from commands.synthetic import lifecycles
from ledger.domain.errors import LedgerError
from ledger.store.root import Ledger, open_ledger
from tests.conftest import pg_url

UNTIL = datetime.fromisoformat("2026-11-20T00:00:00+08:00")


def receipts_first(count: int) -> list[tuple[int, Envelope | Exception]]:
    """Every receipt, then every later command (each complaint's in its order), plus a note
    on each complaint: most commands act on complaints an earlier batch stored."""
    receipts: list[dict[str, Any]] = []
    later: list[dict[str, Any]] = []
    for n, life in enumerate(lifecycles(count, UNTIL, seed=5, days=60), start=1):
        ref = f"BULK-{n:04d}"
        receipts.append({**life.receive, "ref": ref})
        later += life.with_ref(ref)
        later.append({"command": "add_note", "command_id": f"note-{n}", "ref": ref,
                      "actor": {"id": "li", "role": "handling_team"},
                      "occurred_at": "2026-11-25T10:00:00+08:00", "text": "复核"})  # fmt: skip
    return [(i, parse_command(d)) for i, d in enumerate(receipts + later, start=1)]


def state(ledger: Ledger, refs: list[str]) -> list[tuple[str, list[tuple[str, int]], str]]:
    """Each complaint's events (kind and version) and its status and stage."""
    out = []
    for ref in refs:
        events = ledger.complaint_events(ref)
        complaint = ledger.get_complaint(ref)
        kinds = [(type(e).__qualname__, e.originator_version) for e in events]
        out.append((ref, kinds, f"{complaint.status}/{complaint.notes}"))
    return out


def test_bulk_commands_on_stored_complaints_decide_as_one_by_one(
    ledger_url: str, second_url: str
) -> None:
    commands = receipts_first(40)
    refs = [f"BULK-{n:04d}" for n in range(1, 41)]
    with open_ledger(ledger_url) as bulk:
        # Batches of 23: a complaint's commands fall into several batches, read from the store.
        refused_bulk = [f.position for f in apply_in_batches(bulk, commands, 23)]
        in_bulk = state(bulk, refs)
    refused_single = []
    with open_ledger(second_url) as single:
        for position, command in commands:
            assert not isinstance(command, Exception)
            try:
                handle(single, command)
            except LedgerError:
                refused_single.append(position)
        one_by_one = state(single, refs)

    assert refused_bulk == refused_single
    assert in_bulk == one_by_one
    assert sum(len(kinds) for _, kinds, _ in in_bulk) > 200
    # The synthetic load withdraws some complaints: the note after that must be refused.
    assert refused_bulk, "expected notes on withdrawn complaints to be refused"


def test_a_bulk_load_on_postgres_leaves_fresh_planner_statistics(postgres_schema: str) -> None:
    """Without statistics (autovacuum off, or just after a load) PostgreSQL planned a lookup
    of one complaint on a 10M-event log as a bitmap scan with JIT: 28 ms instead of 0.7 ms."""
    import psycopg

    from ledger.store.root import ANALYZE_AFTER
    from tests.conftest import PG_DSN

    count = ANALYZE_AFTER // 8  # about 10 events each: a little over ANALYZE_AFTER events
    commands = receipts_first(count)
    with open_ledger(pg_url(postgres_schema)) as ledger:
        refused = list(apply_in_batches(ledger, commands, 2000))
        assert all(isinstance(f.error, LedgerError) for f in refused)  # notes after withdrawal
        assert ledger.count_events() >= ANALYZE_AFTER
    with psycopg.connect(PG_DSN) as conn:
        # pg_stats shows what ANALYZE committed (a rolled-back ANALYZE leaves nothing there).
        row = conn.execute(
            "SELECT count(*) FROM pg_stats WHERE schemaname = %s"
            " AND tablename = 'complaintledger_events'",
            (postgres_schema,),
        ).fetchone()
    assert row is not None
    assert row[0] > 0


def one_life(ref: str, seed: int) -> list[Envelope]:
    life = next(iter(lifecycles(1, UNTIL, seed=seed, days=30)))
    envelopes = [parse_command(d) for d in [{**life.receive, "ref": ref}, *life.with_ref(ref)]]
    assert [e.action for e in envelopes[:4]] == ["receive", "triage", "assign", "contact"]
    return envelopes


def test_later_batches_decide_on_the_complaints_earlier_batches_saved_without_reading_them(
    ledger_url: str,
) -> None:
    life = one_life("CACHE-1", 11)
    with open_ledger(ledger_url) as ledger:
        asked: list[str] = []
        read = ledger.load_complaints

        def counted(refs: Any) -> Any:
            refs = list(refs)
            asked.extend(refs)
            return read(refs)

        ledger.load_complaints = counted  # type: ignore[method-assign]
        positions = list(enumerate(life, start=1))
        assert not list(apply_in_batches(ledger, positions, 2))
        # Only the first batch looked for it (it was not stored yet); later batches found it
        # in memory.
        assert asked == ["CACHE-1"]
        assert [type(e).__qualname__ for e in ledger.complaint_events("CACHE-1")][:4] == [
            "Complaint.Received", "Complaint.AgencyNamed", "Complaint.Triaged",
            "Complaint.Assigned",
        ]  # fmt: skip
        asked.clear()
        uncached = list(enumerate(one_life("CACHE-2", 12), start=1))
        assert not list(apply_in_batches(ledger, uncached, 2, cache_size=0))
        # Without the cache, every batch reads it from the store (the first looks for it, as
        # above): one read per batch of two, the last batch perhaps of one.
        assert asked.count("CACHE-2") == (len(uncached) + 1) // 2


def test_a_complaint_another_writer_changed_between_batches_is_read_afresh(
    ledger_url: str,
) -> None:
    """The first batch closes CACHE-3 and keeps it; another writer reopens it before the
    second batch. Deciding ``contact`` on the cached (closed) copy would refuse it, and as
    nothing would be saved no conflict would reveal the mistake; read afresh, it is accepted."""
    life = next(iter(lifecycles(1, UNTIL, seed=27, days=30)))
    data = [{**life.receive, "ref": "CACHE-3"}, *life.with_ref("CACHE-3")]
    assert [d["command"] for d in data[-2:]] == ["close", "reopen"]
    reopen = data.pop()
    contact = next(d for d in data if d["command"] == "contact")
    later = datetime.fromisoformat(reopen["occurred_at"]) + timedelta(minutes=1)
    contact = {**contact, "command_id": "after-reopen", "occurred_at": later.isoformat()}
    with open_ledger(ledger_url) as ledger, open_ledger(ledger_url) as other:

        def commands() -> Any:
            yield from enumerate(map(parse_command, data), start=1)
            handle(other, parse_command(reopen))  # after the first batch is saved
            yield len(data) + 1, parse_command(contact)

        refused = list(apply_in_batches(ledger, commands(), len(data)))
        kinds = [type(e).__qualname__ for e in ledger.complaint_events("CACHE-3")]
    assert refused == []
    assert kinds[-4:] == ["Complaint.Closed", "Complaint.Reopened", "Complaint.ClocksRestarted",
                          "Complaint.CustomerContacted"]  # fmt: skip


def test_a_batch_whose_write_meets_another_writer_is_applied_again_one_by_one(
    ledger_url: str, second_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Another writer appends to a complaint of batch 1 just before batch 1 is written
    (``write_events``): its write fails on the (stream, version) constraint and its commands
    are applied again one by one; the result, with the later batches, is that of applying
    every command one by one after the other writer's."""
    commands_ = receipts_first(6)
    receipts = [(p, c) for p, c in commands_ if isinstance(c, Envelope) and c.action == "receive"]
    later = commands_[len(receipts) :]
    interloper = parse_command({
        "command": "add_note", "command_id": "other-writer", "ref": "BULK-0002",
        "actor": {"id": "li", "role": "handling_team"},
        "occurred_at": "2026-11-25T09:00:00+08:00", "text": "插入",
    })  # fmt: skip
    refs = [f"BULK-{n:04d}" for n in range(1, 7)]
    with open_ledger(ledger_url) as ledger, open_ledger(ledger_url) as other:
        assert not list(apply_in_batches(ledger, receipts, 100))
        writes: list[int] = []
        write = commands.bulk.write_events

        def other_writer_first(*args: Any) -> int:
            if not writes:
                handle(other, interloper)
            writes.append(len(args[1]))
            return write(*args)

        monkeypatch.setattr(commands.bulk, "write_events", other_writer_first)
        refused_bulk = [f.position for f in apply_in_batches(ledger, later, 20)]
        monkeypatch.undo()
        in_bulk = state(ledger, refs)
    assert len(writes) >= 2  # more than one batch was written by the bulk path
    refused_single = []
    with open_ledger(second_url) as single:
        for _, command in receipts:
            handle(single, command)
        handle(single, interloper)
        for position, command in later:
            assert isinstance(command, Envelope)
            try:
                handle(single, command)
            except LedgerError:
                refused_single.append(position)
        one_by_one = state(single, refs)
    assert sorted(refused_bulk) == refused_single
    assert in_bulk == one_by_one
    # The other writer's note came second on BULK-0002: batch 1's write of it had failed.
    assert in_bulk[1][1][2] == ("Complaint.NoteAdded", 3)


def test_a_refusal_is_yielded_with_the_batch_before_stored_and_its_own_unsaved(
    ledger_url: str,
) -> None:
    """A refusal is yielded while its batch is not saved (closing the generator then drops
    the batch, as the importers rely on), and once the batch before it is stored and
    reported."""
    commands_ = receipts_first(4)
    receipts = [(p, c) for p, c in commands_ if isinstance(c, Envelope) and c.action == "receive"]
    later = [(p, c) for p, c in commands_[len(receipts) :] if isinstance(c, Envelope)]
    first_of_1 = next(c for _, c in later if c.ref == "BULK-0001")
    missing = note_on("NO-SUCH-REF")
    chunks = [*receipts, (100, first_of_1), (101, missing)]
    with open_ledger(ledger_url) as ledger:
        reported: list[int] = []
        failures = apply_in_batches(
            ledger, chunks, len(receipts), on_outcome=lambda p, _: reported.append(p)
        )
        failure = next(failures)
        assert failure.position == 101
        assert reported == [p for p, _ in receipts]  # the batch before: stored and reported
        assert all(ledger.has_complaint(f"BULK-{n:04d}") for n in range(1, 5))
        events = ledger.count_events()
        failures.close()  # drops the batch of the refusal
        assert ledger.count_events() == events
        assert ledger.find_command(first_of_1.command_id) is None


def note_on(ref: str) -> Envelope:
    command = parse_command({
        "command": "add_note", "command_id": f"note-on-{ref}", "ref": ref,
        "actor": {"id": "li", "role": "handling_team"},
        "occurred_at": "2026-11-25T10:00:00+08:00", "text": "复核",
    })  # fmt: skip
    assert isinstance(command, Envelope)
    return command


def test_the_bulk_path_collects_garbage_less_often_and_puts_the_threshold_back(
    ledger_url: str,
) -> None:
    """``commands.collection.fewer_collections`` around the bulk path: raised while it runs
    (seen from its outcomes' callback), the interpreter's own threshold again once it ends,
    also when it ends early."""
    before = gc.get_threshold()
    seen: list[int] = []
    commands = receipts_first(3)
    with open_ledger(ledger_url) as ledger:
        failures = apply_in_batches(
            ledger, commands, 5, on_outcome=lambda *_: seen.append(gc.get_threshold()[0])
        )
        assert list(failures) == []
        assert gc.get_threshold() == before
        assert seen
        assert set(seen) == {max(BULK_THRESHOLD, before[0])}
        refused = apply_in_batches(ledger, [(1, ValueError("not a command")), *commands], 1)
        assert isinstance(next(refused).error, ValueError)
        assert gc.get_threshold()[0] == max(BULK_THRESHOLD, before[0])
        refused.close()  # abandoned midway
    assert gc.get_threshold() == before
