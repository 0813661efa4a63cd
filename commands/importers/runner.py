"""Apply imported rows through the bulk path, each row all or nothing.

Rows are grouped into chunks of whole rows (about ``batch_size`` commands each) and every chunk
is decided in memory and saved in one transaction (``commands.bulk.decide_together``): the same
handlers, rules, role checks and idempotency as every other command. A crash leaves whole chunks
saved or not at all, never part of a row. When the ledger refuses a command, nothing of the
chunk is saved, its row is rejected, and the chunk is decided again without it. When the
chunk's write meets another writer (it appended to one of the chunk's complaints after the
chunk was read), nothing of the chunk is saved either: each of its rows is then decided again
from the store and saved in a transaction of its own, so a row refused midway still leaves
nothing behind.

A row that was imported before is recognised by its command ids: all of them recorded with the
same content, it is skipped without being decided again; some of them new (a newer export of a
complaint that was still in progress), only the new ones are applied; any of them recorded with
other content, the row is rejected and the ledger keeps what it has. Once the complaint's
personal data was erased its commands' sealed fields cannot be compared any more: such a row
is skipped (``commands.fingerprints``).
"""

from __future__ import annotations

import random
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from functools import partial
from typing import TYPE_CHECKING, Literal

from eventsourcing.persistence import IntegrityError

from commands import fingerprints
from commands.bulk import Failure, decide_together
from commands.collection import fewer_collections
from commands.handlers import key_of
from commands.importers.records import Rejection, Row
from ledger.domain.errors import first_line
from ledger.domain.values import reference_id
from ledger.store.root import Ledger

if TYPE_CHECKING:
    from commands.bulk_workers import Deciders

Status = Literal["imported", "skipped", "rejected"]
# A row decided on its own that keeps meeting other writers is rejected after this many tries
# (nothing of it saved; importing the file again completes it).
ROW_ATTEMPTS = 5


@dataclass(frozen=True)
class RowResult:
    """What became of one row: ``events`` appended, or the reason it was rejected."""

    line: int
    status: Status
    reason: str | None = None
    events: int = 0


def import_rows(
    ledger: Ledger,
    rows: Iterable[Row | Rejection],
    batch_size: int = 500,
    deciders: Deciders | None = None,
) -> Iterator[RowResult]:
    """Apply ``rows``; yield what became of each (rows of one chunk once it is saved), the
    chunks decided by ``deciders`` (``commands.bulk_workers``) when given."""
    chunk: list[Row] = []
    size = 0
    with fewer_collections():
        for item in rows:
            if isinstance(item, Rejection):
                yield RowResult(item.line, "rejected", item.reason)
                continue
            chunk.append(item)
            size += len(item.commands)
            if size >= batch_size:
                yield from _save(ledger, chunk, deciders)
                chunk, size = [], 0
        yield from _save(ledger, chunk, deciders)


def _save(ledger: Ledger, rows: list[Row], deciders: Deciders | None) -> Iterator[RowResult]:
    chunk: list[Row] = []
    for row in _unrecorded(ledger, rows):
        if isinstance(row, RowResult):
            yield row
        else:
            chunk.append(row)
    while chunk:
        try:
            refused = _attempt(ledger, chunk, deciders)
        except IntegrityError:
            yield from (_alone(ledger, row) for row in chunk)
            return
        if isinstance(refused, list):
            yield from refused
            return
        index, reason = refused
        yield RowResult(chunk[index].line, "rejected", reason)
        chunk = chunk[:index] + chunk[index + 1 :]


def _unrecorded(ledger: Ledger, rows: list[Row]) -> Iterator[Row | RowResult]:
    """Each row with only the commands the ledger has not recorded yet (one query)."""
    known = ledger.ledger_recorder.select_commands([c.command_id for r in rows for c in r.commands])
    keys: dict[str, bytes | None] = {}

    def key(ref: str) -> bytes | None:
        if ref not in keys:
            keys[ref] = key_of(ledger, ref)
        return keys[ref]

    for row in rows:
        fresh = [c for c in row.commands if c.command_id not in known]
        changed = [
            c.command_id
            for c in row.commands
            if c.command_id in known
            and fingerprints.compare(
                c, known[c.command_id].fingerprint, partial(key, known[c.command_id].ref)
            )
            is fingerprints.Match.DIFFERENT
        ]
        if changed:
            yield RowResult(
                row.line,
                "rejected",
                f"{row.ref} was imported before with other content ({', '.join(changed)}); "
                "the ledger keeps what it recorded and nothing of this row was imported",
            )
        elif not fresh:
            yield RowResult(row.line, "skipped")
        else:
            yield Row(row.line, row.ref, tuple(fresh))


def _attempt(
    ledger: Ledger, chunk: list[Row], deciders: Deciders | None
) -> list[RowResult] | tuple[int, str]:
    """Save the chunk in one transaction and say what became of each row, or say which row
    the ledger refused (nothing saved). Raises ``IntegrityError`` (nothing saved) when
    another writer appended to one of the chunk's complaints meanwhile."""
    owner = [i for i, row in enumerate(chunk) for _ in row.commands]
    decided = decide_together(ledger, [c for row in chunk for c in row.commands], deciders)
    if isinstance(decided, Failure):
        index = owner[decided.position]
        return index, _reason(chunk[index], decided.error)
    events = [0] * len(chunk)
    for position, outcome in enumerate(decided):
        if not outcome.duplicate:
            events[owner[position]] += len(outcome.events)
    return [
        RowResult(row.line, "imported" if events[i] else "skipped", events=events[i])
        for i, row in enumerate(chunk)
    ]


def _alone(ledger: Ledger, row: Row) -> RowResult:
    """Decide ``row`` again from the store and save it in a transaction of its own, trying
    again while other writers keep appending to its complaint.

    A write refused while neither the complaint's stream nor the command log moved was not
    refused because of another writer: the row itself breaks one of the database's
    constraints, and trying again would meet the same refusal. It is rejected at once with
    what the database said."""
    for attempt in range(ROW_ATTEMPTS):
        before = _footprint(ledger, row)
        try:
            decided = _attempt(ledger, [row], None)
        except IntegrityError as e:
            if _footprint(ledger, row) == before:
                return RowResult(row.line, "rejected", _refused_by_database(row, e))
            # A short random pause, so that two importers do not keep colliding in step.
            time.sleep(random.uniform(0, 0.004 * 2**attempt))
            continue
        if isinstance(decided, list):
            return decided[0]
        return RowResult(row.line, "rejected", decided[1])
    return RowResult(
        row.line,
        "rejected",
        f"{row.ref}: other writers kept changing the complaint while it was imported; "
        "nothing of this row was imported (import the file again)",
    )


def _footprint(ledger: Ledger, row: Row) -> tuple[int | None, frozenset[str]]:
    """What another writer changes when it gets to the row's complaint first: the stream's
    last version, and which of the row's command ids the command log holds."""
    recorder = ledger.ledger_recorder
    stream = reference_id(row.ref)
    version = recorder.stream_versions([stream]).get(stream)
    return version, frozenset(recorder.select_commands([c.command_id for c in row.commands]))


def _refused_by_database(row: Row, error: IntegrityError) -> str:
    return (
        f"{row.ref}: the database refused the row ({first_line(error)}); no other writer had "
        "changed the complaint, and nothing of this row was imported"
    )


def _reason(row: Row, error: Exception) -> str:
    message = str(error)
    return message if message.startswith(row.ref) else f"{row.ref}: {message}"
