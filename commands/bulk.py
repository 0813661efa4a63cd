"""The bulk path: decide many commands in memory, save each batch in one transaction.

Every command still goes through ``handle`` — the same validation, role check, rules and
idempotency — but against a ``Batch`` that keeps the complaints it touched in memory and
stages their new events. ``flush`` saves all of them, with their command-log entries, in one
transaction, through ``ledger.store.batch_writer`` (``COPY`` on PostgreSQL) rather than the
library's per-event ``save``. If that transaction fails (another writer got there first), the
batch's commands are applied again one by one through the normal path, which is idempotent.

Between batches the complaints a batch saved stay in memory (up to ``CACHED_COMPLAINTS``, the
most recently saved kept), so a later command on one of them is decided without reading its
history again. Before each batch one query checks that no other writer has appended to the
cached complaints it acts on (those it has are read afresh), so the batch decides on what the
store held when it began, as an uncached batch does. A write that lands after that check
breaks the store's unique (stream, version) constraint when the batch saves: the batch is
then decided again one by one from the store, and the cache is emptied.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError
from eventsourcing.domain import Aggregate, AggregateEvent
from eventsourcing.persistence import IntegrityError

from commands.collection import fewer_collections
from commands.handlers import Outcome, handle
from commands.jsonlines import Line
from commands.models import Envelope
from ledger.domain.complaint import Complaint
from ledger.domain.errors import ComplaintNotFound, LedgerError
from ledger.domain.readiness import READINESS_BOOK_ID
from ledger.domain.sealed import KeyChanges, PersonKey
from ledger.domain.staff import STAFF_DIRECTORY_ID, StaffDirectory
from ledger.domain.values import Proof, reference_id
from ledger.store.batch_writer import write_events
from ledger.store.books import CALENDAR_BOOK_ID, POLICY_BOOK_ID, load_staff_directory
from ledger.store.recorders import CommandRecord
from ledger.store.root import Ledger

if TYPE_CHECKING:
    from commands.bulk_workers import Deciders

# An input item: a command, the error that replaced a line, or a line a worker will parse.
Item = tuple[int, Envelope | Exception | Line]

BOOKS = (POLICY_BOOK_ID, CALENDAR_BOOK_ID, STAFF_DIRECTORY_ID, READINESS_BOOK_ID)
CACHED_COMPLAINTS = 10_000  # about 5 KB each in memory: some 50 MB at most


class _BatchRepository:
    """Reads through to the store, but sees the batch's own unsaved changes first."""

    def __init__(self, batch: Batch) -> None:
        self.batch = batch
        self.books: dict[UUID, Any] = {}

    def get(self, aggregate_id: UUID, *, version: int | None = None) -> Any:
        staged = self.batch.staged.get(aggregate_id)
        if staged is not None and version is None:
            return staged
        if aggregate_id in BOOKS and version is None:
            if aggregate_id not in self.books:
                try:
                    self.books[aggregate_id] = self.batch.ledger.repository.get(aggregate_id)
                except AggregateNotFoundError:
                    self.books[aggregate_id] = None  # nothing published yet: remember that too
            if self.books[aggregate_id] is None:
                raise AggregateNotFoundError(aggregate_id)
            return self.books[aggregate_id]
        return self.batch.ledger.repository.get(aggregate_id, version=version)

    def __contains__(self, aggregate_id: UUID) -> bool:
        return aggregate_id in self.batch.staged or aggregate_id in self.batch.ledger.repository


class Batch:
    """The part of ``Ledger`` that ``handle`` uses, deciding in memory until ``flush``."""

    def __init__(self, ledger: Ledger, cache_size: int = CACHED_COMPLAINTS) -> None:
        self.ledger = ledger
        self.staged: dict[UUID, Aggregate] = {}
        self.records: dict[str, CommandRecord] = {}
        self.keys = KeyChanges()
        self.new_keys: dict[str, PersonKey] = {}  # ``keys.new`` by key id (looked up often)
        self.repository = _BatchRepository(self)
        # What the store held when the batch began, looked up in one query each.
        self.known_commands: dict[str, CommandRecord] | None = None
        self.known_streams: set[UUID] | None = None
        self.loaded: dict[UUID, Complaint] = {}
        # The keys of the complaints the batch acts on, read in one query (by key id).
        self.known_keys: dict[str, bytes] = {}
        # Complaints as this process last saved them, least recently saved first.
        self.cache: OrderedDict[UUID, Complaint] = OrderedDict()
        self.cache_size = cache_size

    def prefetch(self, commands: list[Envelope]) -> None:
        """Look up, in bulk, the command ids and new references the batch will ask about."""
        recorder = self.ledger.ledger_recorder
        self.known_commands = recorder.select_commands([c.command_id for c in commands])
        refs = [getattr(c, "ref", None) for c in commands if c.action == "receive"]
        self.known_streams = recorder.existing_streams([reference_id(r) for r in refs if r])
        # The complaints the other commands act on, read in one query rather than one each.
        acted_on = {getattr(c, "ref", None) for c in commands if c.action != "receive"}
        self._drop_stale({reference_id(r) for r in acted_on if r} & self.cache.keys())
        self.loaded = self.ledger.load_complaints(
            r
            for r in acted_on
            if r and reference_id(r) not in self.staged and reference_id(r) not in self.cache
        )
        streams = {reference_id(r) for r in acted_on if r}
        pools: list[dict[UUID, Any]] = [self.loaded, self.cache, self.staged]
        key_ids = sorted(
            {
                c.complainant.key_id
                for pool in pools
                for stream, c in pool.items()
                if stream in streams and isinstance(c, Complaint)
            }
        )
        recorder = self.ledger.ledger_recorder
        self.known_keys = {}
        for start in range(0, len(key_ids), 500):
            self.known_keys.update(recorder.person_keys(key_ids[start : start + 500]))

    def get_complaint(self, ref: str, version: int | None = None) -> Complaint:
        staged = self.staged.get(reference_id(ref))
        if staged is not None and version is None:
            assert isinstance(staged, Complaint)
            return staged
        if version is None and reference_id(ref) in self.cache:
            complaint = self.cache.pop(reference_id(ref))
        elif version is None and reference_id(ref) in self.loaded:
            complaint = self.loaded.pop(reference_id(ref))
        else:
            complaint = self.ledger.get_complaint(ref, version)
        if version is None:
            self.staged[complaint.id] = complaint
        return complaint

    def has_complaint(self, ref: str) -> bool:
        stream = reference_id(ref)
        if stream in self.staged or stream in self.cache:
            return True
        if self.known_streams is not None:
            return stream in self.known_streams
        return self.ledger.has_complaint(ref)

    def complaint_events(self, ref: str) -> list[AggregateEvent]:
        try:
            stored = self.ledger.complaint_events(ref)
        except ComplaintNotFound:
            stored = []
        staged = self.staged.get(reference_id(ref))
        pending = [] if staged is None else list(staged.pending_events)
        return stored + pending  # type: ignore[operator]

    def find_command(self, command_id: str) -> CommandRecord | None:
        if command_id in self.records:
            return self.records[command_id]
        if self.known_commands is not None:
            return self.known_commands.get(command_id)
        return self.ledger.find_command(command_id)

    def complaint_key(self, complaint: Complaint, current: bool = False) -> PersonKey | None:
        """The complaint's key, also when it was made by a command of this batch."""
        if complaint.personal_data_erased:
            return None
        key_id = complaint.complainant.key_id
        new = self.new_keys.get(key_id)
        if new is not None:
            return new
        if key_id in self.known_keys:
            return PersonKey(key_id, self.known_keys[key_id])
        return self.ledger.complaint_key(complaint, current)

    def staff_directory(self) -> StaffDirectory | None:
        """The directory as the batch leaves it: read once a batch (with the publication
        books), then changed in memory by the batch's own staff commands."""
        staged = self.staged.get(STAFF_DIRECTORY_ID)
        if staged is None and STAFF_DIRECTORY_ID in self.repository.books:
            # As read for this batch (None: none published), without the repository's
            # not-found exception on every command of an import without a directory.
            known: StaffDirectory | None = self.repository.books[STAFF_DIRECTORY_ID]
            return known
        return load_staff_directory(self)

    def proof(self) -> Proof:
        return self.ledger.proof()

    def index_secret(self) -> bytes:
        return self.ledger.index_secret()

    def record(
        self, aggregate: Aggregate, command: CommandRecord, keys: KeyChanges | None = None
    ) -> None:
        self.staged[aggregate.id] = aggregate
        self.records[command.command_id] = command
        if keys:
            self.keys.extend(keys)
            for key in keys.new:
                self.new_keys.setdefault(key.key_id, key)

    def flush(self) -> None:
        """Save every staged change and command-log entry in one transaction."""
        events = self.collect()
        if events:
            write_events(self.ledger, events, list(self.records.values()), self.keys)
            if self.keys.destroyed:
                self.ledger.ledger_recorder.purge_destroyed()
        self.saved()

    def collect(self) -> list[Any]:
        """The staged changes' new events, taken from their aggregates, in the order saved."""
        return [e for a in self.staged.values() if a.pending_events for e in a.collect_events()]

    def saved(self) -> None:
        """The batch's changes are stored: keep its complaints, start the next batch."""
        self._keep(c for c in self.staged.values() if isinstance(c, Complaint))
        self.staged.clear()
        self.records.clear()
        self.keys = KeyChanges()
        self.new_keys = {}
        self.repository.books.clear()
        self.known_commands = self.known_streams = None
        self.loaded = {}
        self.known_keys = {}

    def _drop_stale(self, cached: set[UUID]) -> None:
        """Forget the cached complaints another writer has appended to since this process
        saved them (one query), so that no decision, a refusal included, rests on a stale copy."""
        if not cached:
            return
        stored = self.ledger.ledger_recorder.stream_versions(list(cached))
        for stream in cached:
            if stored.get(stream) != self.cache[stream].version:
                del self.cache[stream]

    def _keep(self, saved: Iterable[Complaint]) -> None:
        for complaint in saved:
            self.cache[complaint.id] = complaint
            self.cache.move_to_end(complaint.id)
        while len(self.cache) > self.cache_size:
            self.cache.popitem(last=False)

    def forget(self) -> None:
        """Drop everything decided but unsaved, every cached complaint and the publication
        books read for the batch (the commands decided again may publish a new version)."""
        self.staged.clear()
        self.records.clear()
        self.keys = KeyChanges()
        self.new_keys = {}
        self.known_keys = {}
        self.cache.clear()
        self.repository.books.clear()


@dataclass(frozen=True)
class Failure:
    """A command that was refused, by its place in the input."""

    position: int
    error: Exception


def apply_in_batches(
    ledger: Ledger,
    commands: Iterable[Item | None],
    batch_size: int = 500,
    on_outcome: Callable[[int, Outcome], None] | None = None,
    cache_size: int = CACHED_COMPLAINTS,
    deciders: Deciders | None = None,
) -> Iterator[Failure]:
    """Apply ``(position, command)`` pairs (or the error that replaced a command that did
    not parse) in batches of ``batch_size`` commands; yield each refusal. With ``deciders``
    (``commands.bulk_workers``), a batch they may decide is decided in their processes.
    ``None`` among the commands (the input stalled) ends a batch early, so that what came
    before it is written without waiting for more."""
    # One command per batch is the normal path: every command reads what the store holds.
    # With deciders, this process decides only the batches they may not: it keeps nothing
    # between them (the workers write meanwhile).
    batch = Batch(ledger, cache_size if batch_size > 1 and deciders is None else 0)
    pending: list[tuple[int, Envelope]] = []
    outcomes: list[tuple[int, Outcome]] = []

    def flush() -> Iterator[Failure]:
        try:
            batch.flush()
        except IntegrityError:
            batch.forget()
            outcomes.clear()
            yield from one_by_one(ledger, pending, outcomes)
        for position, outcome in outcomes:
            if on_outcome is not None:
                on_outcome(position, outcome)
        pending.clear()
        outcomes.clear()

    def here(items: list[Item]) -> Iterator[Failure]:
        chunk = parsed(items)
        if batch_size > 1:
            batch.prefetch([c for _, c in chunk if isinstance(c, Envelope)])
        for position, command in chunk:
            if isinstance(command, Exception):
                yield Failure(position, command)
                continue
            pending.append((position, command))
            try:
                outcome = handle(batch, command)
            except LedgerError as e:
                pending.pop()
                yield Failure(position, e)
            else:
                outcomes.append((position, outcome))
        yield from flush()

    chunks = _chunks(commands, batch_size)
    with fewer_collections():
        if deciders is not None and batch_size > 1:
            yield from deciders.apply(ledger, chunks, on_outcome, here)
            return
        for chunk in chunks:
            if chunk:
                yield from here(chunk)


def parsed(items: Iterable[Item]) -> list[tuple[int, Envelope | Exception]]:
    """The items with every ``Line`` parsed (blank lines are never left unparsed)."""
    out: list[tuple[int, Envelope | Exception]] = []
    for position, item in items:
        out.append((position, item.parse() if isinstance(item, Line) else item))
    return out


def one_by_one(
    ledger: Ledger, commands: Iterable[tuple[int, Envelope]], outcomes: list[tuple[int, Outcome]]
) -> Iterator[Failure]:
    """Decide each command again through the normal path, in a transaction of its own, after
    a batch's write met another writer: add each outcome to ``outcomes``, yield each refusal."""
    for position, command in commands:
        try:
            outcome = handle(ledger, command)
        except LedgerError as e:
            yield Failure(position, e)
        else:
            outcomes.append((position, outcome))


def _chunks(items: Iterable[Item | None], size: int) -> Iterator[list[Item]]:
    """Batches of ``size`` items; at a stall (``None``), the batch so far, empty or not."""
    chunk: list[Item] = []
    for item in items:
        if item is None:
            yield chunk
            chunk = []
            continue
        chunk.append(item)
        if len(chunk) >= size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def decide_together(
    ledger: Ledger, commands: Sequence[Envelope], deciders: Deciders | None = None
) -> list[Outcome] | Failure:
    """Decide ``commands`` in order and save them in one transaction: all of them, with
    their outcomes returned, or none of them, with the first refusal (its index in
    ``commands``) returned. Unlike ``apply_in_batches`` there is no fallback: when another
    writer appended to one of their complaints meanwhile, the library's ``IntegrityError``
    is raised, nothing is saved, and the caller decides them again as it sees fit (an
    import decides each row again on its own, so that a row is never saved in part). With
    ``deciders``, they decide the commands when they may, this process writes."""
    if deciders is not None:
        decided = deciders.together(ledger, commands)
        if decided is not None:
            return decided
        deciders.forget()  # decided here: what the workers keep may change
    batch = Batch(ledger, cache_size=0)
    batch.prefetch(list(commands))
    outcomes: list[Outcome] = []
    for index, command in enumerate(commands):
        try:
            outcomes.append(handle(batch, command))
        except LedgerError as e:
            return Failure(index, e)
    batch.flush()
    return outcomes
