"""One small handler per command (load, decide), and the one function that runs them.

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
from typing import Any, Protocol, TypeVar
from zoneinfo import ZoneInfo

from eventsourcing.domain import Aggregate, AggregateEvent
from eventsourcing.persistence import IntegrityError

from commands import fingerprints
from commands.authority import authorise
from commands.models import (
    AcknowledgeEscalation,
    AddImprovement,
    AddNote,
    AssignComplaint,
    AttachEvidence,
    CloseComplaint,
    CompleteImprovement,
    ContactCustomer,
    CorrectOccurrence,
    Envelope,
    EraseComplaintData,
    EscalateComplaint,
    ExecuteResolution,
    ExtendDeadline,
    InstructComplaint,
    LinkComplaints,
    NotifyOutcome,
    PauseClocks,
    PlanResolution,
    PublishCalendar,
    PublishCodes,
    PublishPolicy,
    ReceiveComplaint,
    RecordAccountability,
    RecordAlert,
    RecordCallback,
    RecordFindings,
    ReopenComplaint,
    ReplyRegulator,
    ResumeClocks,
    SignOff,
    TriageComplaint,
    WithdrawComplaint,
)
from commands.readiness_handlers import READINESS_HANDLERS
from commands.staff_handlers import STAFF_HANDLERS
from ledger.domain.alerting import AlertFields
from ledger.domain.calendar import calendar_to_dict, package_year, parse_calendar_file
from ledger.domain.codes import Cause, codes_to_dict, parse_codes
from ledger.domain.complaint import LEADERSHIP_GROUP, PUBLIC_ATTENTION, Complaint
from ledger.domain.errors import (
    CauseUnknown,
    CommandIdAfterErasure,
    CommandIdReused,
    ConcurrentChange,
    DirectoryRefused,
    DuplicateReference,
    LedgerError,
)
from ledger.domain.policy import parse_policy, policy_to_dict
from ledger.domain.readiness import ReadinessBook
from ledger.domain.sealed import KeyChanges, LinkEntry, PersonKey, SealedText
from ledger.domain.staff import StaffDirectory
from ledger.domain.values import Complainant, Proof, Remedy, Stamp, Unit, reference_id
from ledger.store.blind_index import index_entries, index_time
from ledger.store.books import (
    CalendarBook,
    PolicyBook,
    RepositoryPort,
    load_calendar_book,
    load_policy_book,
    load_readiness_book,
    policy_in_force,
    work_calendar,
)
from ledger.store.codelists import codes_in_force
from ledger.store.crypto import seal_complainant, seal_text, withheld_text
from ledger.store.recorders import CommandRecord

RETRY_SECONDS = 120.0  # how long a command keeps losing races to writers making progress
MAX_STALLS = 5  # conflicts in a row on a complaint that did not move: something else is wrong
REFERENCE_TIMEZONE = ZoneInfo("Asia/Shanghai")


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


C = TypeVar("C", bound=Envelope)
A = TypeVar("A", bound=Aggregate)
Handler = Callable[[LedgerPort, Any, Stamp, datetime], Any]
HANDLERS: dict[type[Envelope], Handler] = {}


def handles(
    command_type: type[C],
) -> Callable[
    [Callable[[LedgerPort, C, Stamp, datetime], A]], Callable[[LedgerPort, C, Stamp, datetime], A]
]:
    def register(
        fn: Callable[[LedgerPort, C, Stamp, datetime], A],
    ) -> Callable[[LedgerPort, C, Stamp, datetime], A]:
        HANDLERS[command_type] = fn
        return fn

    return register


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
    last_seen: int | None = None
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
        seen = target.version - len(target.pending_events)  # the version it was decided on
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
        except IntegrityError:
            # Another writer appended to this complaint (or used this command id) first.
            stalls = stalls + 1 if seen == last_seen else 0
            last_seen, attempt = seen, attempt + 1
            if stalls >= MAX_STALLS or time.monotonic() >= deadline:
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


@handles(ReceiveComplaint)
def receive(ledger: LedgerPort, cmd: ReceiveComplaint, stamp: Stamp, now: datetime) -> Complaint:
    if cmd.ref is None:
        ref = next_reference(ledger, cmd.received_at)
    elif ledger.has_complaint(cmd.ref):
        raise DuplicateReference(f"a complaint with reference {cmd.ref!r} was already received")
    else:
        ref = cmd.ref
    person = cmd.complainant
    # Personal data is encrypted here, before any event exists: plaintext never reaches the store.
    sealed, key = seal_complainant(
        Complainant(person.name, person.phone, person.id_number, person.address),
        reference_id(ref),
    )

    def seal(text: str) -> SealedText:
        return seal_text(text, key, reference_id(ref))

    complaint = Complaint.receive(
        ref=ref,
        stamp=stamp,
        now=now,
        channel=cmd.channel,
        received_at=cmd.received_at.astimezone(UTC),
        complainant=sealed,
        person_key=key,
        account_ref=None if cmd.account_ref is None else seal(cmd.account_ref),
        collector=cmd.collector,
        content=seal(cmd.content),
        category=cmd.category,
        tags=cmd.tags,
        referral_number=cmd.referral_number,
        policy_version=policy_in_force(ledger, cmd.received_at).version,
    )
    # The blind index of the complainant, written with the events (ledger.store.blind_index).
    complaint.key_changes.index.extend(
        index_entries(
            ledger.index_secret(),
            key_id=key.key_id,
            ref=ref,
            received_at=index_time(cmd.received_at),
            phone=person.phone,
            id_number=person.id_number,
            account_ref=cmd.account_ref,
        )
    )
    if cmd.agency is not None:
        complaint.name_agency(stamp, cmd.agency)
    if cmd.public_attention:  # media or public-opinion risk escalates at once
        to = _addressee(ledger, cmd.escalate_to or LEADERSHIP_GROUP)
        complaint.raise_escalation(stamp, PUBLIC_ATTENTION, to, True, automatic=True)
    return complaint


def next_reference(ledger: LedgerPort, received_at: datetime) -> str:
    """The first free ``TS-YYYYMMDD-NNNN`` of the local day of receipt."""
    # isoformat, not strftime: strftime writes the year 1 as "1", not "0001".
    day = received_at.astimezone(REFERENCE_TIMEZONE).date().isoformat().replace("-", "")

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


def _sealer(ledger: LedgerPort, complaint: Complaint) -> Callable[[str], SealedText]:
    """Seals free text under the complaint's key before any event exists; once the key is
    destroyed, text given is withheld (never kept), as the complaint's other text reads."""
    key = ledger.complaint_key(complaint, current=True)
    if key is None:
        key_id = complaint.complainant.key_id
        return lambda _text: withheld_text(key_id)
    return lambda text: seal_text(text, key, complaint.id)


@handles(TriageComplaint)
def triage(ledger: LedgerPort, cmd: TriageComplaint, stamp: Stamp, now: datetime) -> Complaint:
    complaint = ledger.get_complaint(cmd.ref)
    seal = _sealer(ledger, complaint)
    to = None if cmd.escalate_to is None else _addressee(ledger, cmd.escalate_to)
    cause = _cause(ledger, cmd.cause, stamp)
    complaint.triage(
        stamp,
        now,
        cmd.severity,
        cmd.category,
        seal(cmd.assessment),
        to,
        cmd.public_attention,
        cause,
    )
    if cmd.agency is not None:
        complaint.name_agency(stamp, cmd.agency)
    return complaint


def _cause(ledger: LedgerPort, code: str | None, stamp: Stamp) -> Cause | None:
    """The cause ``code`` names in the code list in force when the action happened (the
    latest published with ``effective_from`` at or before it, as the policy is chosen)."""
    if code is None:
        return None
    codes = codes_in_force(ledger, stamp.occurred_at)
    if codes is None:
        raise CauseUnknown(
            f"cause: no code list was in force at {stamp.occurred_at.isoformat()}; "
            "publish one first (codes publish)"
        )
    return codes.check(code)


def _addressee(ledger: LedgerPort, to: str) -> str:
    """Who an escalation goes to: a unit of the plan's organisation, or (once the staff
    directory has members) one of them."""
    if to in {str(u) for u in Unit}:
        return to
    directory = ledger.staff_directory()
    if directory is not None and directory.members and to not in directory.members:
        units = ", ".join(str(u) for u in Unit)
        raise DirectoryRefused(
            f"an escalation goes to a unit ({units}) or a member of staff; {to!r} is neither"
        )
    return to


@handles(EscalateComplaint)
def escalate(ledger: LedgerPort, cmd: EscalateComplaint, stamp: Stamp, now: datetime) -> Complaint:
    complaint = ledger.get_complaint(cmd.ref)
    to = cmd.to
    if to is None and cmd.public_attention:
        to = LEADERSHIP_GROUP
    to = None if to is None else _addressee(ledger, to)
    complaint.escalate(stamp, now, _sealer(ledger, complaint)(cmd.reason), to, cmd.public_attention)
    return complaint


@handles(AcknowledgeEscalation)
def acknowledge(
    ledger: LedgerPort, cmd: AcknowledgeEscalation, stamp: Stamp, now: datetime
) -> Complaint:
    complaint = ledger.get_complaint(cmd.ref)
    complaint.acknowledge(stamp, now)
    return complaint


@handles(InstructComplaint)
def instruct(ledger: LedgerPort, cmd: InstructComplaint, stamp: Stamp, now: datetime) -> Complaint:
    complaint = ledger.get_complaint(cmd.ref)
    complaint.instruct(stamp, now, _sealer(ledger, complaint)(cmd.text))
    return complaint


@handles(SignOff)
def sign_off(ledger: LedgerPort, cmd: SignOff, stamp: Stamp, now: datetime) -> Complaint:
    complaint = ledger.get_complaint(cmd.ref)
    complaint.sign_off(stamp, now, _sealer(ledger, complaint)(cmd.text))
    return complaint


@handles(RecordAccountability)
def record_accountability(
    ledger: LedgerPort, cmd: RecordAccountability, stamp: Stamp, now: datetime
) -> Complaint:
    complaint = ledger.get_complaint(cmd.ref)
    directory = ledger.staff_directory()
    team = cmd.team or complaint.team
    if directory is not None and directory.members:
        member = directory.members.get(cmd.staff)
        if member is None:
            raise DirectoryRefused(f"staff: {cmd.staff!r} is not in the staff directory")
        team = team or str(member.unit)
    seal = _sealer(ledger, complaint)
    complaint.record_accountability(
        stamp, now, cmd.staff, team, seal(cmd.finding), seal(cmd.decision)
    )
    return complaint


@handles(AddImprovement)
def add_improvement(
    ledger: LedgerPort, cmd: AddImprovement, stamp: Stamp, now: datetime
) -> Complaint:
    complaint = ledger.get_complaint(cmd.ref)
    directory = ledger.staff_directory()
    if directory is not None and directory.members and cmd.owner not in directory.members:
        raise DirectoryRefused(f"owner: {cmd.owner!r} is not in the staff directory")
    measure = _sealer(ledger, complaint)(cmd.measure)
    complaint.add_improvement(stamp, now, measure, cmd.owner, cmd.due.astimezone(UTC))
    return complaint


@handles(CompleteImprovement)
def complete_improvement(
    ledger: LedgerPort, cmd: CompleteImprovement, stamp: Stamp, now: datetime
) -> Complaint:
    complaint = ledger.get_complaint(cmd.ref)
    note = None if cmd.text is None else _sealer(ledger, complaint)(cmd.text)
    complaint.complete_improvement(stamp, now, cmd.improvement_id, note)
    return complaint


@handles(AssignComplaint)
def assign(ledger: LedgerPort, cmd: AssignComplaint, stamp: Stamp, now: datetime) -> Complaint:
    complaint = ledger.get_complaint(cmd.ref)
    complaint.assign(stamp, now, cmd.handler, cmd.team)
    return complaint


@handles(ContactCustomer)
def contact(ledger: LedgerPort, cmd: ContactCustomer, stamp: Stamp, now: datetime) -> Complaint:
    complaint = ledger.get_complaint(cmd.ref)
    seal = _sealer(ledger, complaint)
    complaint.contact(stamp, now, cmd.channel, cmd.reached, seal(cmd.summary))
    return complaint


@handles(RecordFindings)
def record_findings(
    ledger: LedgerPort, cmd: RecordFindings, stamp: Stamp, now: datetime
) -> Complaint:
    complaint = ledger.get_complaint(cmd.ref)
    seal = _sealer(ledger, complaint)
    complaint.record_findings(stamp, now, cmd.substantiated, seal(cmd.findings), cmd.evidence)
    return complaint


@handles(PlanResolution)
def plan(ledger: LedgerPort, cmd: PlanResolution, stamp: Stamp, now: datetime) -> Complaint:
    complaint = ledger.get_complaint(cmd.ref)
    remedies = tuple(Remedy(r.kind, r.amount, r.detail) for r in cmd.remedies)
    complaint.plan(stamp, now, remedies)
    return complaint


@handles(ExecuteResolution)
def execute(ledger: LedgerPort, cmd: ExecuteResolution, stamp: Stamp, now: datetime) -> Complaint:
    complaint = ledger.get_complaint(cmd.ref)
    complaint.execute(stamp, now, _sealer(ledger, complaint)(cmd.detail))
    return complaint


@handles(NotifyOutcome)
def notify_outcome(
    ledger: LedgerPort, cmd: NotifyOutcome, stamp: Stamp, now: datetime
) -> Complaint:
    complaint = ledger.get_complaint(cmd.ref)
    seal = _sealer(ledger, complaint)
    complaint.notify_outcome(stamp, now, cmd.channel, seal(cmd.summary))
    return complaint


@handles(RecordCallback)
def record_callback(
    ledger: LedgerPort, cmd: RecordCallback, stamp: Stamp, now: datetime
) -> Complaint:
    complaint = ledger.get_complaint(cmd.ref)
    seal = _sealer(ledger, complaint)
    if not cmd.reached:
        complaint.record_unreached_callback(stamp, now, seal(cmd.comment or ""))
        return complaint
    assert cmd.satisfaction is not None  # the model demands it of a reached callback
    complaint.record_callback(stamp, now, cmd.satisfaction, seal(cmd.comment or ""))
    return complaint


@handles(AttachEvidence)
def attach(ledger: LedgerPort, cmd: AttachEvidence, stamp: Stamp, now: datetime) -> Complaint:
    complaint = ledger.get_complaint(cmd.ref)
    seal = _sealer(ledger, complaint)
    complaint.attach_evidence(
        stamp, now, cmd.sha256, cmd.size, cmd.kind, seal(cmd.location),
        None if cmd.filename is None else seal(cmd.filename),
        None if cmd.note is None else seal(cmd.note),
    )  # fmt: skip
    return complaint


@handles(CloseComplaint)
def close(ledger: LedgerPort, cmd: CloseComplaint, stamp: Stamp, now: datetime) -> Complaint:
    complaint = ledger.get_complaint(cmd.ref)
    seal = _sealer(ledger, complaint)
    cause = _cause(ledger, cmd.cause, stamp)
    complaint.close(stamp, now, seal(cmd.root_cause), seal(cmd.improvement), cause)
    return complaint


@handles(ReopenComplaint)
def reopen(ledger: LedgerPort, cmd: ReopenComplaint, stamp: Stamp, now: datetime) -> Complaint:
    complaint = ledger.get_complaint(cmd.ref)
    policy = policy_in_force(ledger, complaint.received_at)
    reason = _sealer(ledger, complaint)(cmd.reason)
    complaint.reopen(stamp, now, reason, restarts=policy.reopen_restarts)
    return complaint


@handles(WithdrawComplaint)
def withdraw(ledger: LedgerPort, cmd: WithdrawComplaint, stamp: Stamp, now: datetime) -> Complaint:
    complaint = ledger.get_complaint(cmd.ref)
    complaint.withdraw(stamp, now, _sealer(ledger, complaint)(cmd.reason))
    return complaint


def _directory_vouches(ledger: LedgerPort) -> bool:
    """Whether ``authorise`` checked ``approved_by`` against the staff directory (it does once
    the directory has a member): then the approver need not be the one who records."""
    directory = ledger.staff_directory()
    return directory is not None and bool(directory.members)


@handles(ExtendDeadline)
def extend(ledger: LedgerPort, cmd: ExtendDeadline, stamp: Stamp, now: datetime) -> Complaint:
    complaint = ledger.get_complaint(cmd.ref)
    policy = policy_in_force(ledger, complaint.received_at)
    complaint.extend(
        stamp,
        now,
        cmd.clock,
        cmd.days,
        _sealer(ledger, complaint)(cmd.reason),
        cmd.approved_by,
        policy,
        work_calendar(ledger),
        approver_vouched=_directory_vouches(ledger),
    )
    return complaint


@handles(CorrectOccurrence)
def correct(ledger: LedgerPort, cmd: CorrectOccurrence, stamp: Stamp, now: datetime) -> Complaint:
    complaint = ledger.get_complaint(cmd.ref)
    complaint.correct(
        stamp,
        now,
        cmd.event,
        cmd.corrected_occurred_at,
        _sealer(ledger, complaint)(cmd.reason),
        cmd.approved_by,
        policy_in_force(ledger, complaint.received_at),
        work_calendar(ledger),
        approver_vouched=_directory_vouches(ledger),
    )
    return complaint


@handles(PauseClocks)
def pause(ledger: LedgerPort, cmd: PauseClocks, stamp: Stamp, now: datetime) -> Complaint:
    complaint = ledger.get_complaint(cmd.ref)
    policy = policy_in_force(ledger, complaint.received_at)
    reason = _sealer(ledger, complaint)(cmd.reason)
    complaint.pause(stamp, now, reason, allowed=any(r.pausable for r in policy.rules))
    return complaint


@handles(ResumeClocks)
def resume(ledger: LedgerPort, cmd: ResumeClocks, stamp: Stamp, now: datetime) -> Complaint:
    complaint = ledger.get_complaint(cmd.ref)
    complaint.resume(stamp, now, _sealer(ledger, complaint)(cmd.reason))
    return complaint


@handles(ReplyRegulator)
def reply_regulator(
    ledger: LedgerPort, cmd: ReplyRegulator, stamp: Stamp, now: datetime
) -> Complaint:
    complaint = ledger.get_complaint(cmd.ref)
    complaint.reply_regulator(stamp, now, _sealer(ledger, complaint)(cmd.summary))
    return complaint


@handles(AddNote)
def add_note(ledger: LedgerPort, cmd: AddNote, stamp: Stamp, now: datetime) -> Complaint:
    complaint = ledger.get_complaint(cmd.ref)
    complaint.add_note(stamp, now, _sealer(ledger, complaint)(cmd.text))
    return complaint


@handles(LinkComplaints)
def link(ledger: LedgerPort, cmd: LinkComplaints, stamp: Stamp, now: datetime) -> Complaint:
    complaint = ledger.get_complaint(cmd.ref)
    other = ledger.get_complaint(cmd.other)  # an unknown reference is refused here
    complaint.link(
        stamp, now, cmd.other, _sealer(ledger, complaint)(cmd.reason), cmd.ref in other.links
    )
    complaint.key_changes.links.append(LinkEntry(cmd.ref, cmd.other, index_time(stamp.occurred_at)))
    return complaint


@handles(EraseComplaintData)
def erase(ledger: LedgerPort, cmd: EraseComplaintData, stamp: Stamp, now: datetime) -> Complaint:
    complaint = ledger.get_complaint(cmd.ref)
    complaint.erase_personal_data(stamp, now, cmd.reason)
    return complaint


@handles(RecordAlert)
def record_alert(ledger: LedgerPort, cmd: RecordAlert, stamp: Stamp, now: datetime) -> Complaint:
    complaint = ledger.get_complaint(cmd.ref)
    alert = AlertFields(cmd.rule, cmd.clock, cmd.recipient, cmd.address, cmd.channel, cmd.attempts)
    complaint.record_alert(stamp, now, alert, cmd.outcome == "sent", cmd.error)
    return complaint


@handles(PublishPolicy)
def publish_policy(
    ledger: LedgerPort, cmd: PublishPolicy, stamp: Stamp, now: datetime
) -> PolicyBook:
    policy = parse_policy(cmd.text, cmd.format)
    if cmd.drill is not None:  # a revision names only a drill the ledger recorded
        drills = load_readiness_book(ledger) or ReadinessBook()
        drills.check_drill(cmd.drill)
    book = load_policy_book(ledger) or PolicyBook()
    effective_from = cmd.effective_from or stamp.occurred_at
    book.publish(
        stamp, policy.version, effective_from.astimezone(UTC), policy_to_dict(policy),
        reason=cmd.reason, drill=cmd.drill,
    )  # fmt: skip
    return book


@handles(PublishCodes)
def publish_codes(ledger: LedgerPort, cmd: PublishCodes, stamp: Stamp, now: datetime) -> PolicyBook:
    codes = parse_codes(cmd.text, cmd.format)
    book = load_policy_book(ledger) or PolicyBook()
    effective_from = cmd.effective_from or stamp.occurred_at
    book.publish_codes(stamp, codes.version, effective_from.astimezone(UTC), codes_to_dict(codes))
    return book


@handles(PublishCalendar)
def publish_calendar(
    ledger: LedgerPort, cmd: PublishCalendar, stamp: Stamp, now: datetime
) -> CalendarBook:
    if cmd.text is None:
        year = package_year(cmd.year)
    else:
        year = parse_calendar_file(cmd.year, cmd.text, cmd.format)
    book = load_calendar_book(ledger) or CalendarBook()
    book.publish(stamp, cmd.year, calendar_to_dict(year))
    return book


HANDLERS.update(STAFF_HANDLERS)
HANDLERS.update(READINESS_HANDLERS)
