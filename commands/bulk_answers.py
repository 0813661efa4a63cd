"""The workers' answers for one batch written as one batch saves them (``commands.bulk_workers``
is the main side that gathers them): streams in the order their first commands came,
command-log entries and key changes in input order, in one transaction."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from eventsourcing.persistence import StoredEvent

from commands.bulk_worker import Share
from ledger.domain.sealed import KeyChanges
from ledger.store import batch_writer
from ledger.store.recorders import CommandRecord, PostgresLedgerRecorder
from ledger.store.root import Ledger


def store(ledger: Ledger, shares: list[Share]) -> None:
    """Write the workers' answers for one batch in one transaction (``IntegrityError`` when
    another writer got there first), then purge the keys an erasure destroyed."""
    keys = KeyChanges()
    for _, _, changes in sorted((r for share in shares for r in share.records), key=_first):
        if changes:
            keys.extend(changes)
    if isinstance(ledger.ledger_recorder, PostgresLedgerRecorder):
        # The workers sent COPY rows: streams in the order their first commands came,
        # command-log entries in input order.
        streams = sorted((s for share in shares for s in share.encoded), key=_first)
        commands = sorted((c for share in shares for c in share.command_rows), key=_first)
        written = batch_writer.copy_encoded(ledger, streams, [row for _, row in commands], keys)
    else:
        rows, records = merged(shares)
        written = batch_writer.write_rows(ledger, rows, records, keys) if rows else 0
    if written and keys.destroyed:
        ledger.ledger_recorder.purge_destroyed()


def _first(item: tuple[Any, ...]) -> Any:
    return item[0]


def merged(shares: list[Share]) -> tuple[list[StoredEvent], list[CommandRecord]]:
    """The rows and command-log entries of every share, as one batch saves them: each
    stream's events together, streams in the order their first commands came."""
    streams = sorted((s for share in shares for s in share.streams), key=_first)
    rows = []
    for _, stream, events in streams:
        originator_id = UUID(bytes=stream)
        rows += [StoredEvent(originator_id, v, topic, state) for v, topic, state in events]
    records = sorted((r for share in shares for r in share.records), key=_first)
    return rows, [CommandRecord(*r) for _, r, _ in records if r is not None]
