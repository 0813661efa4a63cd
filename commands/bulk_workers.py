"""The bulk path's deciders: worker processes that decide a batch's commands, one share each.

A batch of commands that each act on one complaint is split by a stable hash of the
complaint's reference, so a complaint always goes to the same worker and stays in that
worker's cache (``commands.bulk.Batch``) from batch to batch. Each worker reads the ledger
through its own connection, decides its share with ``handle`` as the one-process path does,
encodes the new events to stored rows, and sends back rows, command-log entries, key
changes, outcomes and refusals. The main process stays the ONE writer: it merges the shares
(streams in the order of their first command, entries and key changes in input order) and
writes them in one transaction (``ledger.store.batch_writer``), then tells the workers
whether the batch was stored (they keep their complaints) or not (they forget them).

What one worker decides must not depend on what another decides in the same batch, so a
batch goes to the workers only when every command acts on one complaint alone: no
publication, staff or readiness command (they change books every command reads), no link
(it reads a second complaint), no receipt without a reference (it picks the next free one),
and no command id used on complaints of two workers, in the batch or in the command log
(answering it reads the other complaint). Any other batch is decided in the main process, as
with one worker; the workers then forget their complaints, which that batch may have changed.
"""

from __future__ import annotations

import contextlib
import pickle
import signal
import time
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from multiprocessing import get_context
from multiprocessing.connection import Connection
from types import TracebackType
from typing import Any
from uuid import UUID

from eventsourcing.domain import Aggregate
from eventsourcing.persistence import IntegrityError

from commands.bulk import CACHED_COMPLAINTS, Batch, Failure
from commands.handlers import HANDLERS, Outcome, handle
from commands.models import Command, Envelope, LinkComplaints
from commands.readiness_handlers import READINESS_HANDLERS
from commands.staff_handlers import STAFF_HANDLERS
from ledger.domain.errors import LedgerError
from ledger.domain.sealed import KeyChanges
from ledger.domain.values import reference_id
from ledger.store import batch_writer
from ledger.store.event_rows import EventRows
from ledger.store.recorders import CommandRecord
from ledger.store.root import Ledger, open_ledger

# The commands a worker may decide: those on one complaint, which read only it and the books.
ONE_COMPLAINT = frozenset(
    t
    for t in HANDLERS
    if issubclass(t, Command)
    and t is not LinkComplaints
    and t not in STAFF_HANDLERS
    and t not in READINESS_HANDLERS
)


@dataclass
class Share:
    """What a worker decided of one batch: everything the writer needs, by input position."""

    streams: list[tuple[int, list[Any]]] = field(default_factory=list)  # (first position, rows)
    records: list[tuple[int, CommandRecord, KeyChanges | None]] = field(default_factory=list)
    outcomes: list[tuple[int, Outcome]] = field(default_factory=list)
    refusals: list[tuple[int, LedgerError]] = field(default_factory=list)


def partition(command: Envelope, workers: int) -> int | None:
    """The worker that decides ``command``, or None when only the main process may."""
    ref = getattr(command, "ref", None)
    if type(command) not in ONE_COMPLAINT or ref is None:
        return None
    return zlib.crc32(ref.encode()) % workers


class Deciders:
    """``workers`` processes deciding for the bulk path on the ledger at ``url``; close them
    (or use ``with``) when done. They also end when this process does: each exits as soon
    as its pipe to this process closes."""

    def __init__(self, url: str, workers: int, cache_size: int | None = None) -> None:
        context = get_context("spawn")  # not fork: a forked psycopg connection is shared
        self.workers = workers
        self.pipes: list[Connection] = []
        self.processes: list[Any] = []
        self.stale = [False] * workers  # the main process wrote: forget before deciding
        self.busy: list[int] = []  # the workers of the batch being decided or written
        # Seconds of CPU: the workers' (pickling their answers included), their pickling,
        # and this process's unpickling.
        self.cpu = self.pickling = self.unpickling = 0.0
        for _ in range(workers):
            mine, theirs = context.Pipe()
            process = context.Process(
                target=_serve, args=(theirs, url, cache_size), daemon=True, name="bulk-decider"
            )
            process.start()
            theirs.close()
            self.pipes.append(mine)
            self.processes.append(process)

    def shares(
        self, ledger: Ledger, commands: list[tuple[int, Envelope]]
    ) -> list[list[tuple[int, Envelope]]] | None:
        """The batch split by worker, or None when it must be decided in the main process."""
        parts: list[list[tuple[int, Envelope]]] = [[] for _ in range(self.workers)]
        owner: dict[str, int] = {}
        for position, command in commands:
            worker = partition(command, self.workers)
            if worker is None or owner.setdefault(command.command_id, worker) != worker:
                return None
            parts[worker].append((position, command))
        known = ledger.ledger_recorder.select_commands(list(owner))
        for command_id, record in known.items():
            if zlib.crc32(record.ref.encode()) % self.workers != owner[command_id]:
                return None
        return parts

    def apply(
        self,
        ledger: Ledger,
        chunk: list[tuple[int, Envelope | Exception]],
        parts: list[list[tuple[int, Envelope]]],
        on_outcome: Callable[[int, Outcome], None] | None,
    ) -> Iterator[Failure]:
        """Decide ``chunk`` (split into ``parts``) in the workers and write it, as
        ``apply_in_batches`` does a batch: refusals first, in input order, while nothing of
        the batch is stored (closing the generator then drops it); if the write meets
        another writer, the batch is decided again one by one in this process."""
        refusals = [Failure(p, c) for p, c in chunk if isinstance(c, Exception)]
        shares = self.decide(parts)
        stored = False
        try:
            refusals += [Failure(p, e) for share in shares for p, e in share.refusals]
            refusals.sort(key=lambda f: f.position)
            yield from refusals
            rows, records, keys = merged(shares)
            try:
                if rows:
                    batch_writer.write_rows(ledger, rows, records, keys)
                    if keys.destroyed:
                        ledger.ledger_recorder.purge_destroyed()
                stored = True
            except IntegrityError:
                pass
        finally:
            self.settle(stored)
        outcomes = sorted((o for share in shares for o in share.outcomes), key=lambda o: o[0])
        if not stored:
            # Somebody else wrote to these complaints: decide each command again, one by one.
            refused = {f.position for f in refusals}
            outcomes = []
            for position, command in chunk:
                if isinstance(command, Exception) or position in refused:
                    continue
                try:
                    outcome = handle(ledger, command)
                except LedgerError as e:
                    yield Failure(position, e)
                else:
                    outcomes.append((position, outcome))
        for position, outcome in outcomes:
            if on_outcome is not None:
                on_outcome(position, outcome)

    def decide(self, parts: list[list[tuple[int, Envelope]]]) -> list[Share]:
        """Each worker's share decided (all at once), in worker order."""
        busy = [w for w, part in enumerate(parts) if part]
        for w in busy:
            self.pipes[w].send(("decide", self.stale[w], parts[w]))
            self.stale[w] = False
        shares = []
        for w in busy:
            data = self.pipes[w].recv_bytes()
            started = time.process_time()
            share: Share = pickle.loads(data)
            self.unpickling += time.process_time() - started
            cpu, pickling = self.pipes[w].recv()  # the worker's CPU seconds, of which pickling
            self.cpu += cpu
            self.pickling += pickling
            shares.append(share)
        self.busy = busy
        return shares

    def settle(self, stored: bool) -> None:
        """Tell the workers of the last ``decide`` whether their shares were stored."""
        for w in self.busy:
            self.pipes[w].send(("saved" if stored else "forget",))
        self.busy = []

    def written_elsewhere(self) -> None:
        """The main process decided and wrote a batch: every worker forgets its complaints."""
        self.stale = [True] * self.workers

    def close(self) -> None:
        for pipe in self.pipes:
            with contextlib.suppress(OSError):  # the worker is gone already
                pipe.send(None)
            pipe.close()
        for process in self.processes:
            process.join(timeout=5)
            if process.is_alive():
                process.kill()
                process.join()

    def __enter__(self) -> Deciders:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


def merged(shares: list[Share]) -> tuple[list[Any], list[CommandRecord], KeyChanges]:
    """The rows, command-log entries and key changes of every share, as one batch saves them:
    each stream's events together, streams in the order their first commands came."""
    streams = sorted((s for share in shares for s in share.streams), key=lambda s: s[0])
    rows = [row for _, stream_rows in streams for row in stream_rows]
    records = sorted((r for share in shares for r in share.records), key=lambda r: r[0])
    keys = KeyChanges()
    for _, _, changes in records:
        if changes:
            keys.extend(changes)
    return rows, [r for _, r, _ in records], keys


def _serve(pipe: Connection, url: str, cache_size: int | None) -> None:
    """A worker: decide the shares it is sent until the main process closes the pipe."""
    # Ctrl-C reaches the whole process group: the main process decides what happens, and
    # this worker ends when its pipe closes (quietly, without a traceback of its own).
    signal.signal(signal.SIGINT, signal.SIG_IGN)

    class Tagged(Batch):
        """A ``Batch`` that notes the input position of each command it records."""

        position = 0
        tagged: list[tuple[int, CommandRecord, KeyChanges | None]]

        def record(
            self, aggregate: Aggregate, command: CommandRecord, keys: KeyChanges | None = None
        ) -> None:
            super().record(aggregate, command, keys)
            self.tagged.append((self.position, command, keys))

    with open_ledger(url) as ledger:
        batch = Tagged(ledger, CACHED_COMPLAINTS if cache_size is None else cache_size)
        rows = EventRows(ledger.mapper)
        for message in _messages(pipe):
            if message[0] == "saved":
                batch.saved()
            elif message[0] == "forget":
                batch.forget()
            else:
                _, stale, part = message
                if stale:
                    batch.forget()
                started = time.process_time()
                share = _decide(batch, rows, part)
                decided = time.process_time()
                data = pickle.dumps(share, protocol=pickle.HIGHEST_PROTOCOL)
                pickled = time.process_time()
                try:
                    pipe.send_bytes(data)
                    pipe.send((pickled - started, pickled - decided))
                except OSError:  # the main process is gone: so is the reason to go on
                    return


def _decide(batch: Any, rows: EventRows, part: list[tuple[int, Envelope]]) -> Share:
    share = Share()
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
    share.records = batch.tagged
    for aggregate in batch.staged.values():
        if aggregate.pending_events:
            events = aggregate.collect_events()
            share.streams.append((first.get(aggregate.id, part[-1][0]), rows.stored(events)))
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
