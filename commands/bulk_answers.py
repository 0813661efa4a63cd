"""The workers' answers for one batch written as one batch saves them (``commands.bulk_workers``
is the main side that gathers them): streams in the order their first commands came,
command-log entries and key changes in input order, in one transaction."""

from __future__ import annotations

from typing import Any

from commands.bulk_worker import Share
from ledger.domain.sealed import KeyChanges
from ledger.store import batch_writer
from ledger.store.recorders import PostgresLedgerRecorder
from ledger.store.root import Ledger


def store(ledger: Ledger, shares: list[Share]) -> None:
    """Write the workers' answers for one batch in one transaction (``IntegrityError`` when
    another writer got there first), then purge the keys an erasure destroyed."""
    keys = KeyChanges()
    records = sorted((r for share in shares for r in share.records), key=_first)
    for _, _, changes in records:
        if changes:
            keys.extend(changes)
    if isinstance(ledger.ledger_recorder, PostgresLedgerRecorder):
        # The workers sent COPY rows: streams in the order their first commands came,
        # command-log entries in input order.
        streams = sorted((s for share in shares for s in share.encoded), key=_first)
        commands = sorted((c for share in shares for c in share.command_rows), key=_first)
        written = batch_writer.copy_encoded(ledger, streams, [row for _, row in commands], keys)
    else:
        # The recorder's parameters, with record hashes, in the same orders.
        hashed = sorted((s for share in shares for s in share.streams), key=_first)
        entries = [r for _, r, _ in records if r is not None]
        written = batch_writer.insert_encoded(ledger, hashed, entries, keys)
    if written and keys.destroyed:
        ledger.ledger_recorder.purge_destroyed()


def _first(item: tuple[Any, ...]) -> Any:
    return item[0]
