"""One worker process of the bulk path (``commands.bulk_workers``): it decides the shares of
batches it is sent and answers with what the writer needs.

A worker keeps the complaints of a share it answered as if they were stored (its ``Batch``
cache), so that it can decide its share of the next batch while the main process writes this
one. Until the main process says the batch was stored, the worker remembers what that batch
changed: the version each stream had in the store before it (so the check for other writers,
``_drop_stale``, does not take the batch's own unwritten events for another writer's), and the
keys it made (not in the store yet). If the main process says a batch was not stored, the
worker forgets everything it keeps, and is sent again whatever is still to be decided.
"""

from __future__ import annotations

import pickle
import signal
import time
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from typing import Any
from uuid import UUID

from eventsourcing.domain import Aggregate
from eventsourcing.persistence import StoredEvent
from pydantic import ValidationError

from commands.bulk import CACHED_COMPLAINTS, Batch
from commands.collection import fewer_collections
from commands.errors import describe_validation_error
from commands.handlers import Outcome, handle
from commands.jsonlines import parse_line
from commands.models import Envelope
from ledger.domain.complaint import Complaint
from ledger.domain.errors import LedgerError
from ledger.domain.sealed import KeyChanges, PersonKey
from ledger.domain.values import reference_id
from ledger.integrity.chain import record_hash_raw
from ledger.store.batch_writer import Encoded, Hashed
from ledger.store.copy_text import command_row, event_row
from ledger.store.event_rows import EventRows
from ledger.store.recorders import CommandRecord, PostgresLedgerRecorder
from ledger.store.root import Ledger, open_ledger

NOT_KNOWN = object()


@dataclass
class Share:
    """What a worker decided of one batch: everything the writer needs, by input position."""

    # Plain tuples cross the pipe, not dataclasses or UUIDs: unpickling those cost the main
    # process (the writer) twice as much. On SQLite, each stream's new events as the recorder
    # inserts them, with their record hashes (``batch_writer.Hashed``).
    streams: list[Hashed] = field(default_factory=list)
    # Each command-log entry: its command's position, (command_id, ref, fingerprint, version),
    # and the key changes it comes with.
    records: list[tuple[int, tuple[str, str, str, int] | None, KeyChanges | None]] = field(
        default_factory=list
    )
    # On PostgreSQL, the streams and command-log entries as ``COPY`` rows instead (the
    # ``records`` then only those with key changes): what the writer sends on as it is.
    encoded: list[Encoded] = field(default_factory=list)
    command_rows: list[tuple[int, bytes]] = field(default_factory=list)
    outcomes: list[tuple[int, Outcome]] = field(default_factory=list)
    # Refusals, and the errors of lines that did not parse (a ValueError, as in one process).
    refusals: list[tuple[int, Exception]] = field(default_factory=list)


@dataclass
class Unsaved:
    """What an answered batch changed, until the main process says it was stored."""

    versions: dict[UUID, int | None]  # each stream's version in the store before the batch
    keys: dict[str, PersonKey]


class WorkerBatch(Batch):
    """A ``Batch`` that notes the input position of each command it records and that sees
    the batches answered but not yet stored."""

    def __init__(self, ledger: Ledger, cache_size: int) -> None:
        super().__init__(ledger, cache_size)
        self.position = 0
        self.tagged: list[tuple[int, CommandRecord, KeyChanges | None]] = []
        self.unsaved: deque[Unsaved] = deque()
        self.unsaved_versions: dict[UUID, int | None] = {}
        self.unsaved_keys: dict[str, PersonKey] = {}

    def record(
        self, aggregate: Aggregate, command: CommandRecord, keys: KeyChanges | None = None
    ) -> None:
        super().record(aggregate, command, keys)
        self.tagged.append((self.position, command, keys))

    def has_complaint(self, ref: str) -> bool:
        return reference_id(ref) in self.unsaved_versions or super().has_complaint(ref)

    def complaint_key(self, complaint: Complaint, current: bool = False) -> PersonKey | None:
        unsaved = self.unsaved_keys.get(complaint.complainant.key_id)
        if unsaved is not None and not complaint.personal_data_erased:
            return unsaved
        return super().complaint_key(complaint, current)

    def _drop_stale(self, cached: set[UUID]) -> None:
        if not cached:
            return
        stored = self.ledger.ledger_recorder.stream_versions(list(cached))
        for stream in cached:
            expected = (self.cache[stream].version, self.unsaved_versions.get(stream, NOT_KNOWN))
            if stored.get(stream) not in expected:
                del self.cache[stream]

    def answered(self, versions: dict[UUID, int | None]) -> None:
        """The share is answered: keep its complaints as if stored, until told."""
        self.unsaved.append(Unsaved(versions, dict(self.new_keys)))
        self._remember()
        self.saved()

    def stored(self) -> None:
        """The oldest answered batch is stored."""
        self.unsaved.popleft()
        self._remember()

    def forget(self) -> None:
        super().forget()
        self.unsaved.clear()
        self._remember()

    def _remember(self) -> None:
        self.unsaved_versions, self.unsaved_keys = {}, {}
        for batch in reversed(self.unsaved):  # the oldest batch's version of a stream wins
            self.unsaved_versions.update(batch.versions)
            self.unsaved_keys.update(batch.keys)


def serve(pipe: Connection, url: str, cache_size: int | None) -> None:
    """Decide the shares this worker is sent until the main process closes the pipe."""
    # Ctrl-C reaches the whole process group: the main process decides what happens, and
    # this worker ends when its pipe closes (quietly, without a traceback of its own).
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    with open_ledger(url) as ledger, fewer_collections():
        batch = WorkerBatch(ledger, CACHED_COMPLAINTS if cache_size is None else cache_size)
        rows = EventRows(ledger.mapper)
        copy = isinstance(ledger.ledger_recorder, PostgresLedgerRecorder)  # the writer COPYs
        for message in _messages(pipe):
            if message[0] == "saved":
                batch.stored()
            elif message[0] == "forget":
                batch.forget()
            else:
                started, wall = time.process_time(), time.perf_counter()
                try:
                    answer: Any = _decide(batch, rows, message[1], copy)
                except Exception as e:  # raised again in the main process, as it would be there
                    answer = e if _picklable(e) else RuntimeError(f"{type(e).__name__}: {e}")
                    batch.forget()
                decided = time.process_time()
                data = pickle.dumps(answer, protocol=pickle.HIGHEST_PROTOCOL)
                pickled = time.process_time()
                try:
                    pipe.send((pickled - started, pickled - decided, time.perf_counter() - wall))
                    pipe.send_bytes(data)
                except OSError:  # the main process is gone: so is the reason to go on
                    return


def _sendable(error: Exception) -> Exception:
    """A line's error as the main process may receive it: a ``ValidationError`` holds the
    line's values, which may be nested too deeply to pickle, so it goes as its message alone,
    as ``apply`` shows it (the other errors of a line are plain ``ValueError`` instances)."""
    if isinstance(error, ValidationError):
        return ValueError(describe_validation_error(error))
    return error


def _picklable(error: Exception) -> bool:
    try:
        return type(pickle.loads(pickle.dumps(error))) is type(error)
    except Exception:
        return False


def _encoded(at: int, stream: UUID, stored: list[StoredEvent]) -> Encoded:
    """A stream's new events as ``COPY`` rows, with their record hashes (they cover only
    what is stored, not where: the writer adds the positions and links)."""
    first = stored[0].originator_version
    assert [s.originator_version for s in stored] == list(range(first, first + len(stored)))
    raw = stream.bytes
    hashes = b"".join(record_hash_raw(raw, s.originator_version, s.topic, s.state) for s in stored)
    rows = [event_row(stream, s.originator_version, s.topic, s.state) for s in stored]
    return at, raw, first, hashes, rows


def _hashed(at: int, stream: UUID, stored: list[StoredEvent]) -> Hashed:
    """A stream's new events as the SQLite recorder's parameters, with their record hashes
    (they cover only what is stored, not where: the writer adds the positions and links)."""
    first = stored[0].originator_version
    assert [s.originator_version for s in stored] == list(range(first, first + len(stored)))
    raw, text = stream.bytes, stream.hex
    hashes = b"".join(record_hash_raw(raw, s.originator_version, s.topic, s.state) for s in stored)
    return at, text, first, hashes, [(text, s.originator_version, s.topic, s.state) for s in stored]


def _decide(
    batch: WorkerBatch, rows: EventRows, sent: list[tuple[int, Envelope | bytes]], copy: bool
) -> Share:
    share = Share()
    part: list[tuple[int, Envelope]] = []
    for position, item in sent:  # a line sent unparsed is parsed here, as it would be there
        command = parse_line(item) if isinstance(item, bytes) else item
        assert command is not None  # a blank line is never sent
        if isinstance(command, Exception):
            share.refusals.append((position, _sendable(command)))
        else:
            part.append((position, command))
    if not part:
        batch.answered({})
        return share
    batch.tagged = []
    batch.prefetch([c for _, c in part])
    first: dict[UUID, int] = {}
    for position, command in part:
        first.setdefault(reference_id(command.ref), position)  # type: ignore[attr-defined]
        batch.position = position
        try:
            share.outcomes.append((position, handle(batch, command)))
        except LedgerError as e:
            share.refusals.append((position, e))
    if copy:
        share.command_rows = [
            (p, command_row(r.command_id, r.ref, r.fingerprint, r.version))
            for p, r, _ in batch.tagged
        ]
        share.records = [(p, None, keys) for p, _, keys in batch.tagged if keys]
    else:
        share.records = [
            (p, (r.command_id, r.ref, r.fingerprint, r.version), keys)
            for p, r, keys in batch.tagged
        ]
    versions: dict[UUID, int | None] = {}
    for aggregate in batch.staged.values():
        if aggregate.pending_events:
            before = aggregate.version - len(aggregate.pending_events)
            versions[aggregate.id] = before or None  # None: not in the store
            events = aggregate.collect_events()
            at = first.get(aggregate.id, part[-1][0])
            if copy:
                share.encoded.append(_encoded(at, aggregate.id, rows.stored(events)))
            else:
                share.streams.append(_hashed(at, aggregate.id, rows.stored(events)))
    batch.answered(versions)
    return share


def _messages(pipe: Connection) -> Iterator[tuple[Any, ...]]:
    while True:
        try:
            message = pipe.recv()
        except (EOFError, OSError):  # the main process is gone
            return
        if message is None:
            return
        yield message
