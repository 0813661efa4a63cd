"""One small handler per command (load, decide), and the one function that runs them.

``handle`` makes every command idempotent by its id and atomic: the events it
causes and its entry in the command log are saved in one transaction. When
another writer changes the same complaint in between, the command is decided
again on the fresh state (a few times) before giving up with ``ConcurrentChange``.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

from eventsourcing.persistence import IntegrityError

from commands.models import (
    AddNote,
    AssignComplaint,
    CloseComplaint,
    Command,
    ContactCustomer,
    EscalateComplaint,
    ExecuteResolution,
    ExtendDeadline,
    NotifyOutcome,
    PlanResolution,
    ReceiveComplaint,
    RecordCallback,
    RecordFindings,
    ReopenComplaint,
    TriageComplaint,
    WithdrawComplaint,
)
from ledger.complaint import Complaint
from ledger.errors import CommandIdReused, ConcurrentChange, DuplicateReference
from ledger.recorders import CommandRecord
from ledger.roles import check_role
from ledger.store import Ledger
from ledger.values import Actor, Complainant, Remedy, Role, Stamp

MAX_ATTEMPTS = 20
REFERENCE_TIMEZONE = ZoneInfo("Asia/Shanghai")
DEFAULT_POLICY_VERSION = "default-2026.1"


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


C = TypeVar("C", bound=Command)
Handler = Callable[[Ledger, Any, Stamp, datetime], Complaint]
HANDLERS: dict[type[Command], Handler] = {}


def handles(
    command_type: type[C],
) -> Callable[
    [Callable[[Ledger, C, Stamp, datetime], Complaint]],
    Callable[[Ledger, C, Stamp, datetime], Complaint],
]:
    def register(
        fn: Callable[[Ledger, C, Stamp, datetime], Complaint],
    ) -> Callable[[Ledger, C, Stamp, datetime], Complaint]:
        HANDLERS[command_type] = fn
        return fn

    return register


def handle(ledger: Ledger, command: Command, now: datetime | None = None) -> Outcome:
    """Validate the actor's role, then apply ``command`` exactly once."""
    check_role(command.actor.role, command.action)
    fingerprint = command.fingerprint()
    handler = HANDLERS[type(command)]
    for attempt in range(MAX_ATTEMPTS):
        previous = ledger.find_command(command.command_id)
        if previous is not None:
            return _answer_again(ledger, command, previous, fingerprint)
        moment = now or datetime.now(UTC)
        stamp = Stamp(
            actor=Actor(id=command.actor.id, role=Role(command.actor.role)),
            occurred_at=command.occurred_at or moment,
            command_id=command.command_id,
        )
        complaint = handler(ledger, command, stamp, moment)
        events = tuple(type(e).__name__ for e in complaint.pending_events)
        record = CommandRecord(command.command_id, complaint.ref, fingerprint, complaint.version)
        try:
            ledger.record(complaint, record)
        except IntegrityError:
            # Another writer appended to this complaint (or used this command id) first.
            # A random pause breaks the lock-step in which the same writer keeps winning.
            time.sleep(random.uniform(0, 0.004 * 2 ** min(attempt, 6)))
            continue
        return Outcome(
            command.action,
            command.command_id,
            complaint.ref,
            complaint.version,
            events,
            retries=attempt,
        )
    raise ConcurrentChange(
        f"{command.ref}: other writers kept changing the complaint; "
        f"{command.action} was not applied, try again"
    )


def _answer_again(
    ledger: Ledger, command: Command, previous: CommandRecord, fingerprint: str
) -> Outcome:
    if previous.fingerprint != fingerprint:
        raise CommandIdReused(
            f"command_id {command.command_id!r} was already used for a different command "
            f"(on {previous.ref}); use a new command_id"
        )
    events = tuple(
        type(e).__name__
        for e in ledger.complaint_events(previous.ref)
        if getattr(e, "command_id", None) == command.command_id
    )
    return Outcome(
        command.action, command.command_id, previous.ref, previous.version, events, duplicate=True
    )


@handles(ReceiveComplaint)
def receive(ledger: Ledger, cmd: ReceiveComplaint, stamp: Stamp, now: datetime) -> Complaint:
    if cmd.ref is None:
        ref = next_reference(ledger, cmd.received_at)
    elif ledger.has_complaint(cmd.ref):
        raise DuplicateReference(f"a complaint with reference {cmd.ref!r} was already received")
    else:
        ref = cmd.ref
    person = cmd.complainant
    return Complaint.receive(
        ref=ref,
        stamp=stamp,
        now=now,
        channel=cmd.channel,
        received_at=cmd.received_at.astimezone(UTC),
        complainant=Complainant(person.name, person.phone, person.id_number, person.address),
        account_ref=cmd.account_ref,
        collector=cmd.collector,
        content=cmd.content,
        category=cmd.category,
        tags=cmd.tags,
        referral_number=cmd.referral_number,
        policy_version=DEFAULT_POLICY_VERSION,
    )


def next_reference(ledger: Ledger, received_at: datetime) -> str:
    """The first free ``TS-YYYYMMDD-NNNN`` of the local day of receipt."""
    day = received_at.astimezone(REFERENCE_TIMEZONE).strftime("%Y%m%d")

    def taken(n: int) -> bool:
        return ledger.has_complaint(f"TS-{day}-{n:04d}")

    # Numbers are handed out in order, so "taken" is true up to some n: search for the edge.
    high = 1
    while taken(high):
        high *= 2
    low = high // 2
    while high - low > 1:
        middle = (low + high) // 2
        if taken(middle):
            low = middle
        else:
            high = middle
    return f"TS-{day}-{high:04d}"


@handles(TriageComplaint)
def triage(ledger: Ledger, cmd: TriageComplaint, stamp: Stamp, now: datetime) -> Complaint:
    complaint = ledger.get_complaint(cmd.ref)
    complaint.triage(stamp, now, cmd.severity, cmd.category, cmd.assessment)
    return complaint


@handles(EscalateComplaint)
def escalate(ledger: Ledger, cmd: EscalateComplaint, stamp: Stamp, now: datetime) -> Complaint:
    complaint = ledger.get_complaint(cmd.ref)
    complaint.escalate(stamp, now, cmd.reason)
    return complaint


@handles(AssignComplaint)
def assign(ledger: Ledger, cmd: AssignComplaint, stamp: Stamp, now: datetime) -> Complaint:
    complaint = ledger.get_complaint(cmd.ref)
    complaint.assign(stamp, now, cmd.handler, cmd.team)
    return complaint


@handles(ContactCustomer)
def contact(ledger: Ledger, cmd: ContactCustomer, stamp: Stamp, now: datetime) -> Complaint:
    complaint = ledger.get_complaint(cmd.ref)
    complaint.contact(stamp, now, cmd.channel, cmd.reached, cmd.summary)
    return complaint


@handles(RecordFindings)
def record_findings(ledger: Ledger, cmd: RecordFindings, stamp: Stamp, now: datetime) -> Complaint:
    complaint = ledger.get_complaint(cmd.ref)
    complaint.record_findings(stamp, now, cmd.substantiated, cmd.findings, cmd.evidence)
    return complaint


@handles(PlanResolution)
def plan(ledger: Ledger, cmd: PlanResolution, stamp: Stamp, now: datetime) -> Complaint:
    complaint = ledger.get_complaint(cmd.ref)
    remedies = tuple(Remedy(r.kind, r.amount, r.detail) for r in cmd.remedies)
    complaint.plan(stamp, now, remedies)
    return complaint


@handles(ExecuteResolution)
def execute(ledger: Ledger, cmd: ExecuteResolution, stamp: Stamp, now: datetime) -> Complaint:
    complaint = ledger.get_complaint(cmd.ref)
    complaint.execute(stamp, now, cmd.detail)
    return complaint


@handles(NotifyOutcome)
def notify_outcome(ledger: Ledger, cmd: NotifyOutcome, stamp: Stamp, now: datetime) -> Complaint:
    complaint = ledger.get_complaint(cmd.ref)
    complaint.notify_outcome(stamp, now, cmd.channel, cmd.summary)
    return complaint


@handles(RecordCallback)
def record_callback(ledger: Ledger, cmd: RecordCallback, stamp: Stamp, now: datetime) -> Complaint:
    complaint = ledger.get_complaint(cmd.ref)
    complaint.record_callback(stamp, now, cmd.satisfaction, cmd.comment or "")
    return complaint


@handles(CloseComplaint)
def close(ledger: Ledger, cmd: CloseComplaint, stamp: Stamp, now: datetime) -> Complaint:
    complaint = ledger.get_complaint(cmd.ref)
    complaint.close(stamp, now, cmd.root_cause, cmd.improvement)
    return complaint


@handles(ReopenComplaint)
def reopen(ledger: Ledger, cmd: ReopenComplaint, stamp: Stamp, now: datetime) -> Complaint:
    complaint = ledger.get_complaint(cmd.ref)
    complaint.reopen(stamp, now, cmd.reason)
    return complaint


@handles(WithdrawComplaint)
def withdraw(ledger: Ledger, cmd: WithdrawComplaint, stamp: Stamp, now: datetime) -> Complaint:
    complaint = ledger.get_complaint(cmd.ref)
    complaint.withdraw(stamp, now, cmd.reason)
    return complaint


@handles(ExtendDeadline)
def extend(ledger: Ledger, cmd: ExtendDeadline, stamp: Stamp, now: datetime) -> Complaint:
    complaint = ledger.get_complaint(cmd.ref)
    complaint.extend(stamp, now, cmd.clock, cmd.days, cmd.reason, cmd.approved_by)
    return complaint


@handles(AddNote)
def add_note(ledger: Ledger, cmd: AddNote, stamp: Stamp, now: datetime) -> Complaint:
    complaint = ledger.get_complaint(cmd.ref)
    complaint.add_note(stamp, now, cmd.text)
    return complaint
