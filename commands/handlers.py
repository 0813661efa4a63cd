"""The one function that runs every command's handler, and the table of handlers by command.

The handlers themselves (load, decide) live one small function per command, grouped by
concern in ``commands.*_handlers``.

``handle`` makes every command idempotent by its id and atomic: the events it
causes and its entry in the command log are saved in one transaction. When
another writer changes the same complaint in between, the command is decided
again on the fresh state, as long as other writers make progress (within a time
bound), before giving up with ``ConcurrentChange``.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol
from uuid import UUID

from eventsourcing.domain import Aggregate, AggregateEvent
from eventsourcing.persistence import IntegrityError

from commands import fingerprints
from commands.authority import authorise
from commands.clock_handlers import CLOCK_HANDLERS
from commands.intake_handlers import INTAKE_HANDLERS
from commands.leadership_handlers import LEADERSHIP_HANDLERS
from commands.models import Envelope
from commands.publish_handlers import PUBLISH_HANDLERS
from commands.readiness_handlers import READINESS_HANDLERS
from commands.record_handlers import RECORD_HANDLERS
from commands.resolution_handlers import RESOLUTION_HANDLERS
from commands.staff_handlers import STAFF_HANDLERS
from ledger.domain.complaint import Complaint
from ledger.domain.errors import (
    CommandIdAfterErasure,
    CommandIdReused,
    ConcurrentChange,
    LedgerError,
    StoredEventUnreadable,
    WriteRefused,
    first_line,
)
from ledger.domain.sealed import KeyChanges, PersonKey
from ledger.domain.staff import StaffDirectory
from ledger.domain.values import Proof, Stamp
from ledger.store.books import RepositoryPort
from ledger.store.recorders import CommandRecord

RETRY_SECONDS = 120.0  # how long a command keeps losing races to writers making progress
MAX_STALLS = 5  # conflicts in a row on a complaint that did not move: something else is wrong


@dataclass(frozen=True)
class Outcome:
    """What a command did: the same answer every time the command is submitted."""

    command: str
    command_id: str
    ref: str
    version: int
    events: tuple[str, ...]
    duplicate: bool = False
    # How many times the command was decided again after losing a race (not part of the answer).
    retries: int = field(default=0, compare=False)

    def as_dict(self) -> dict[str, Any]:
        return {
            "command": self.command,
            "command_id": self.command_id,
            "ref": self.ref,
            "version": self.version,
            "events": list(self.events),
            "duplicate": self.duplicate,
        }


class LedgerPort(Protocol):
    """What handlers need of a ledger: ``Ledger`` itself, or a bulk ``Batch`` in front of it."""

    @property
    def repository(self) -> RepositoryPort: ...

    def get_complaint(self, ref: str, version: int | None = None) -> Complaint: ...

    def has_complaint(self, ref: str) -> bool: ...

    def complaint_events(self, ref: str) -> list[AggregateEvent]: ...

    def find_command(self, command_id: str) -> CommandRecord | None: ...

    def complaint_key(self, complaint: Complaint, current: bool = False) -> PersonKey | None: ...

    def record(
        self, aggregate: Aggregate, command: CommandRecord, keys: KeyChanges | None = None
    ) -> None: ...

    def staff_directory(self) -> StaffDirectory | None: ...

    def proof(self) -> Proof: ...

    def index_secret(self) -> bytes: ...


Handler = Callable[[LedgerPort, Any, Stamp, datetime], Any]
HANDLERS: dict[type[Envelope], Handler] = {}


def handle(
    ledger: LedgerPort, command: Envelope, now: datetime | None = None, proof: Proof | None = None
) -> Outcome:
    """Check who acts (``commands.authority``), then apply ``command`` exactly once.

    ``proof`` is what the way in knows of the caller (a token's member on the HTTP API);
    without it, what the ledger's connection proves (its login on PostgreSQL, nothing on
    SQLite). A refusal appends nothing.

    A command that loses a race to another writer is decided again on the fresh state, for
    as long as the other writers are making progress (the complaint's version moved since
    the last attempt), up to ``RETRY_SECONDS`` in all: a long history read by two busy
    writers can lose many races in a row, and each lost race means the other one won."""
    actor = authorise(ledger, command, proof or ledger.proof(), now or datetime.now(UTC))
    handler = HANDLERS[type(command)]
    deadline = time.monotonic() + RETRY_SECONDS
    attempt = stalls = 0
    last_seen: tuple[UUID, int] | None = None
    while True:
        previous = ledger.find_command(command.command_id)
        if previous is not None:
            return _answer_again(ledger, command, previous)
        moment = now or datetime.now(UTC)
        stamp = Stamp(
            actor=actor,
            occurred_at=command.occurred_at or moment,
            command_id=command.command_id,
        )
        target = handler(ledger, command, stamp, moment)
        # What it was decided on: the aggregate and its version. A numbered receive decided
        # again after another writer took its number is another complaint, not a stall.
        seen = (target.id, target.version - len(target.pending_events))
        events = tuple(
            type(e).__name__
            for e in target.pending_events
            if getattr(e, "command_id", None) == command.command_id
        )
        if isinstance(target, Complaint):
            fingerprint = fingerprints.keyed(command, _fingerprint_key(ledger, target))
            keys: KeyChanges | None = target.take_key_changes()
        else:
            fingerprint, keys = command.fingerprint(), None
        record = CommandRecord(command.command_id, target.ref, fingerprint, target.version)
        try:
            ledger.record(target, record, keys)
        except IntegrityError as e:
            # Another writer appended to this complaint (or used this command id) first.
            stalls = stalls + 1 if seen == last_seen else 0
            last_seen, attempt = seen, attempt + 1
            if stalls >= MAX_STALLS:
                # Refused again and again while the complaint never moved: no other writer
                # is the cause, the write itself breaks one of the database's constraints.
                raise WriteRefused(
                    f"{command.target}: the database refused {command.action} "
                    f"({first_line(e)}); no other writer had changed it"
                ) from None
            if time.monotonic() >= deadline:
                break
            # A random pause breaks the lock-step in which the same writer keeps winning; a
            # short one, so that the loser stays in the race.
            time.sleep(random.uniform(0, 0.004 * 2 ** min(attempt, 4)))
            continue
        return Outcome(
            command.action,
            command.command_id,
            target.ref,
            target.version,
            events,
            retries=attempt,
        )
    raise ConcurrentChange(
        f"{command.target}: other writers kept changing it; "
        f"{command.action} was not applied, try again"
    )


def _fingerprint_key(ledger: LedgerPort, complaint: Complaint) -> bytes | None:
    """The key the command's fingerprint is keyed with: the complaint's, None when the
    command destroys it (or it was destroyed before)."""
    if complaint.key_changes.new:
        return complaint.key_changes.new[0].key
    if complaint.key_changes.destroyed:
        return None
    key = ledger.complaint_key(complaint, current=True)
    return None if key is None else key.key


def key_of(ledger: LedgerPort, ref: str) -> bytes | None:
    """The key of complaint ``ref`` now (None once erased, or when ``ref`` is no complaint)."""
    try:
        complaint = ledger.get_complaint(ref)
    except StoredEventUnreadable:
        raise  # not "no complaint": its stored events cannot be read
    except LedgerError:
        return None
    key = ledger.complaint_key(complaint, current=True)
    return None if key is None else key.key


def _answer_again(ledger: LedgerPort, command: Envelope, previous: CommandRecord) -> Outcome:
    match = fingerprints.compare(
        command, previous.fingerprint, lambda: key_of(ledger, previous.ref)
    )
    if match is fingerprints.Match.DIFFERENT:
        raise CommandIdReused(
            f"command_id {command.command_id!r} was already used for a different command "
            f"(on {previous.ref}); use a new command_id"
        )
    if match is fingerprints.Match.UNKNOWABLE:
        raise CommandIdAfterErasure(
            f"command_id {command.command_id!r} was already applied to {previous.ref}, whose "
            "personal data has since been erased: whether this is the same command can no "
            "longer be told, and it was not applied again"
        )
    events = tuple(
        type(e).__name__
        for e in ledger.complaint_events(previous.ref)
        if getattr(e, "command_id", None) == command.command_id
    )
    return Outcome(
        command.action, command.command_id, previous.ref, previous.version, events, duplicate=True
    )


# Every command's handler, by the command's class; each module groups the handlers of one concern.
for table in (
    INTAKE_HANDLERS,
    LEADERSHIP_HANDLERS,
    RESOLUTION_HANDLERS,
    CLOCK_HANDLERS,
    RECORD_HANDLERS,
    PUBLISH_HANDLERS,
    STAFF_HANDLERS,
    READINESS_HANDLERS,
):
    HANDLERS.update(table)
