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

The workers decide batch k+1 while the main process writes batch k (``commands.bulk_worker``
says how a worker tells its own unwritten changes from another writer's). If batch k's write
fails, the decisions of k+1 are thrown away with it and k+1 is sent again after k has been
applied one by one.
"""

from __future__ import annotations

import contextlib
import pickle
import signal
import threading
import time
import zlib
from collections import deque
from collections.abc import Callable, Generator, Iterator, Sequence
from multiprocessing import get_context
from multiprocessing.connection import Connection
from types import TracebackType
from typing import Any

from eventsourcing.persistence import IntegrityError

from commands.bulk import CACHED_COMPLAINTS, Failure, Item, one_by_one, parsed
from commands.bulk_answers import store
from commands.bulk_worker import Share, serve
from commands.handlers import HANDLERS, Outcome
from commands.jsonlines import Line
from commands.models import Command, Envelope, LinkComplaints
from commands.readiness_handlers import READINESS_HANDLERS
from commands.staff_handlers import STAFF_HANDLERS
from ledger.domain.errors import LedgerError
from ledger.store.root import Ledger

# The commands a worker may decide: those on one complaint, which read only it and the books.
ONE_COMPLAINT = frozenset(
    t
    for t in HANDLERS
    if issubclass(t, Command)
    and t is not LinkComplaints
    and t not in STAFF_HANDLERS
    and t not in READINESS_HANDLERS
)


# Their names: the kinds of line the main process may leave for a worker to parse.
ONE_COMPLAINT_KINDS = frozenset(t.model_fields["command"].default for t in ONE_COMPLAINT)


def partition(command: Envelope | Line, workers: int) -> int | None:
    """The worker that decides ``command``, or None when only the main process may."""
    if type(command) is Line:  # only lines of ``ONE_COMPLAINT_KINDS`` are left unparsed
        return zlib.crc32(command.ref.encode()) % workers
    ref = getattr(command, "ref", None)
    if type(command) not in ONE_COMPLAINT or ref is None:
        return None
    return zlib.crc32(ref.encode()) % workers


ToDecide = tuple[int, Envelope | Line]


class DecidersLost(LedgerError):
    """A worker process deciding a bulk write ended unexpectedly (killed, or out of memory)."""


@contextlib.contextmanager
def _to_workers() -> Iterator[None]:
    """Speaking to the workers: a pipe that broke is one of them gone, said in one line."""
    try:
        yield
    except (EOFError, OSError) as e:
        raise DecidersLost(
            f"a worker process deciding the bulk write ended unexpectedly ({type(e).__name__}); "
            "the batches written before it stay written: run the same input again to finish"
        ) from None


class Deciders:
    """``workers`` processes deciding for the bulk path on the ledger at ``url``; close them
    (or use ``with``) when done. They also end when this process does: each exits as soon
    as its pipe to this process closes."""

    def __init__(self, url: str, workers: int, cache_size: int | None = None) -> None:
        context = get_context("spawn")  # not fork: a forked psycopg connection is shared
        self.workers = workers
        # The kinds of line the input reader may leave unparsed, for the workers to parse.
        self.unparsed = ONE_COMPLAINT_KINDS
        self.cache_size = CACHED_COMPLAINTS if cache_size is None else cache_size
        self.pipes: list[Connection] = []
        self.processes: list[Any] = []
        self.sent: deque[list[int]] = deque()  # the workers of each batch not answered yet
        self.answered: list[int] = []  # the workers of the batch being written
        # Seconds of CPU: the workers' (pickling their answers included), their pickling,
        # and this process's unpickling; seconds of wall time: the workers' deciding, and this
        # process's waiting for their answers.
        self.cpu = self.pickling = self.unpickling = self.deciding = self.waiting = 0.0
        for _ in range(workers):
            mine, theirs = context.Pipe()
            process = context.Process(
                target=serve, args=(theirs, url, cache_size), daemon=True, name="bulk-decider"
            )
            with _no_interrupts():  # a Ctrl-C while it imports is the main process's to handle
                process.start()
            theirs.close()
            self.pipes.append(mine)
            self.processes.append(process)

    def shares(self, ledger: Ledger, chunk: Sequence[Item]) -> list[list[ToDecide]] | None:
        """The batch split by worker, or None when it must be decided in the main process."""
        parts: list[list[ToDecide]] = [[] for _ in range(self.workers)]
        owner: dict[str, int] = {}
        for position, command in chunk:
            if isinstance(command, Exception):
                continue
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
        chunks: Iterator[list[Item]],
        on_outcome: Callable[[int, Outcome], None] | None,
        here: Callable[[list[Item]], Iterator[Failure]],
    ) -> Iterator[Failure]:
        """Apply the batches, each decided by the workers if it may be, else by ``here`` (the
        main process's path), each written in one transaction in turn, refusals yielded in
        input order while nothing of their batch is stored (closing the generator then drops
        it). The workers decide the next batch while this process writes the one before it;
        they do not when the two share a command id (the answer to a repeat reads what was
        stored), nor when their caches could not hold both."""
        # Made before the workers may need it: two of them making it at once would collide.
        ledger.index_secret()
        try:
            chunk = next(chunks, None)
            while chunk is not None:
                if not chunk:  # the input stalled with nothing new: wait for it
                    chunk = next(chunks, None)
                    continue
                parts = self.shares(ledger, chunk)
                if parts is None:
                    self._forget()  # this process writes: what the workers keep may change
                    yield from here(chunk)
                    chunk = next(chunks, None)
                    continue
                self._send(parts)
                # Read while the workers decide; empty when the input stalled, and then the
                # batch sent is written before waiting for more.
                following = next(chunks, None)
                while chunk is not None:
                    shares = self._answers()
                    ahead = None
                    if following and 2 * len(following) <= self.cache_size:
                        ids = {c.command_id for _, c in chunk if not isinstance(c, Exception)}
                        if not any(
                            c.command_id in ids
                            for _, c in following
                            if not isinstance(c, Exception)
                        ):
                            ahead = self.shares(ledger, following)
                    if ahead is not None:
                        self._send(ahead)
                    stored = yield from self._write(ledger, chunk, shares, on_outcome)
                    chunk = following
                    if ahead is None:
                        break
                    if not stored:  # decided on what the failed batch would have stored
                        self._discard()
                        self._send(ahead)
                    following = next(chunks, None)
        except (KeyboardInterrupt, SystemExit):
            # It may have come in the middle of an answer, leaving a pipe out of step: ask
            # the workers nothing more; ``close`` ends them.
            self.sent.clear()
            raise
        finally:
            if self.sent:  # given up (an error, or the generator closed): keep nothing
                with contextlib.suppress(DecidersLost):  # not in place of what ended it
                    self._discard()
                    self._forget()

    def together(
        self, ledger: Ledger, commands: Sequence[Envelope]
    ) -> list[Outcome] | Failure | None:
        """``commands.bulk.decide_together`` in the workers: all of ``commands`` saved in one
        transaction with their outcomes returned, or nothing saved and the first refusal
        returned (each worker decides its complaints in input order, so the first refusal
        by position is the one deciding them in turn meets first); ``IntegrityError`` when
        another writer got there first. None when the workers may not decide them."""
        assert not self.sent, "not while batches of apply are in flight"
        ledger.index_secret()  # made before the workers may need it (see ``apply``)
        parts = self.shares(ledger, list(enumerate(commands)))
        if parts is None:
            return None
        self._send(parts)
        shares = self._answers()
        refusals = sorted((r for share in shares for r in share.refusals), key=lambda r: r[0])
        if refusals:
            self._forget()
            return Failure(*refusals[0])
        try:
            store(ledger, shares)
        except BaseException:
            self._forget()
            raise
        with _to_workers():
            for w in self.answered:
                self.pipes[w].send(("saved",))
        outcomes = sorted((o for share in shares for o in share.outcomes), key=lambda o: o[0])
        return [outcome for _, outcome in outcomes]

    def _write(
        self,
        ledger: Ledger,
        chunk: list[Item],
        shares: list[Share],
        on_outcome: Callable[[int, Outcome], None] | None,
    ) -> Generator[Failure, None, bool]:
        """Write one decided batch; whether its shares were stored as decided."""
        refusals = [Failure(p, c) for p, c in chunk if isinstance(c, Exception)]
        refusals += [Failure(p, e) for share in shares for p, e in share.refusals]
        refusals.sort(key=lambda f: f.position)
        stored = False
        try:
            yield from refusals
            try:
                store(ledger, shares)
                stored = True
            except IntegrityError:
                pass
        finally:
            if stored:
                with _to_workers():
                    for w in self.answered:
                        self.pipes[w].send(("saved",))
            else:
                self._forget()
        outcomes = sorted((o for share in shares for o in share.outcomes), key=lambda o: o[0])
        if not stored:
            # Somebody else wrote to these complaints: decide each command again, one by one.
            refused = {f.position for f in refusals}
            outcomes = []
            again = [
                (p, c) for p, c in parsed(chunk) if isinstance(c, Envelope) and p not in refused
            ]
            yield from one_by_one(ledger, again, outcomes)
        for position, outcome in outcomes:
            if on_outcome is not None:
                on_outcome(position, outcome)
        return stored

    def _send(self, parts: list[list[ToDecide]]) -> None:
        busy = [w for w, part in enumerate(parts) if part]
        with _to_workers():
            for w in busy:
                # A line goes as its bytes, for the worker to parse (cheaper both ways).
                part = [(p, c.raw if type(c) is Line else c) for p, c in parts[w]]
                self.pipes[w].send(("decide", part))
        self.sent.append(busy)

    def _answers(self) -> list[Share]:
        """The shares of the oldest batch sent, in worker order."""
        self.answered = self.sent.popleft()
        shares = []
        failed: Exception | None = None
        for w in self.answered:
            waited = time.perf_counter()
            with _to_workers():
                cpu, pickling, deciding = self.pipes[w].recv()
                data = self.pipes[w].recv_bytes()
            self.waiting += time.perf_counter() - waited
            self.deciding += deciding
            started = time.process_time()
            answer: Share | Exception = pickle.loads(data)
            self.unpickling += time.process_time() - started
            self.cpu += cpu
            self.pickling += pickling
            if isinstance(answer, Exception):
                failed = failed or answer
            else:
                shares.append(answer)
        if failed is not None:  # what the worker met (the store gone, say), as if met here
            raise failed
        return shares

    def _discard(self) -> None:
        """Read and drop the answers to every batch sent."""
        while self.sent:
            self._answers()

    def forget(self) -> None:
        """Every worker forgets what it keeps: this process is about to write itself."""
        self._forget()

    def _forget(self) -> None:
        """Every worker forgets what it keeps (it is sent again whatever it must decide)."""
        with _to_workers():
            for pipe in self.pipes:
                pipe.send(("forget",))

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


@contextlib.contextmanager
def _no_interrupts() -> Iterator[None]:
    """SIGINT ignored meanwhile (in the main thread), so that a process started now inherits
    that and ignores it while it starts (``serve`` then ignores it for good)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)
