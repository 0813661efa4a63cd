"""The ledger's exception tree.

Every rule the ledger enforces raises its own subclass of ``LedgerError``; the
command line turns them into ``Error: …`` messages. Nothing is appended when one
is raised.

    LedgerError
    ├── ComplaintNotFound
    ├── DuplicateReference
    ├── RoleNotAllowed
    │   └── NotAuthorised
    ├── IdentityNotProven
    ├── TokenRefused
    ├── CommandIdReused
    │   └── CommandIdAfterErasure
    ├── ConcurrentChange
    ├── StoreUnavailable
    ├── PolicyInvalid
    ├── CalendarUnavailable
    ├── ImportFileInvalid
    ├── EvidenceUnreadable
    ├── StoredEventUnreadable
    └── RuleViolation
        ├── ComplaintWithdrawn
        ├── ComplaintClosed
        ├── ComplaintNotClosed
        ├── OutOfOrder
        ├── OccurredInFuture
        ├── OccurredTooEarly
        ├── ExtensionRefused
        ├── CorrectionRefused
        ├── PauseNotAllowed
        ├── AlreadyErased
        ├── DirectoryRefused
        └── LinkRefused
        └── ReadinessRefused
"""

from __future__ import annotations


class LedgerError(Exception):
    """Base class of every error the ledger raises on purpose."""


class ComplaintNotFound(LedgerError):
    """No complaint has been received under this reference."""


class DuplicateReference(LedgerError):
    """A complaint with this reference was already received."""


class RoleNotAllowed(LedgerError):
    """The actor's role may not issue this command."""


class NotAuthorised(RoleNotAllowed):
    """The staff directory says the acting member may not act in that role then (not a
    member, or the role not held when the action happened or when it is recorded)."""


class IdentityNotProven(LedgerError):
    """Who is acting was not proven as the ledger requires (an asserted write after
    authentication was required, a database login that is nobody's, or a login acting as
    someone else)."""


class TokenRefused(LedgerError):
    """A bearer token is unknown, expired or revoked."""


class CommandIdReused(LedgerError):
    """A command id was submitted again with different content."""


class CommandIdAfterErasure(CommandIdReused):
    """A command id is submitted again after its complaint's personal data was erased: its
    sealed fields can no longer be compared with what was applied."""


class ConcurrentChange(LedgerError):
    """Another writer kept changing the complaint; the command was not applied."""


class WriteRefused(LedgerError):
    """The database refused a write for a reason of its own (a constraint the write breaks),
    not because another writer got there first: trying again would meet the same refusal."""


class StoreUnavailable(LedgerError):
    """The event store cannot be opened or reached."""


class PolicyInvalid(LedgerError):
    """An SLA policy document does not validate."""


class CodesInvalid(LedgerError):
    """A code-list document (causes, the regulator's classification) does not validate."""


class CauseUnknown(LedgerError):
    """A cause code, or a regulator business type or business channel, that is not in the
    code list in force at the time of the action (or no code list was in force then)."""


class CalendarUnavailable(LedgerError):
    """No trustworthy working-day calendar can be produced for a year."""


class ImportFileInvalid(LedgerError):
    """An import file cannot be read at all (no header, missing columns); nothing was imported."""


class IntegrityViolation(LedgerError):
    """Verification found stored data that differs from what was chained and sealed.

    The message names the first divergence: position, reference, version, what differs.
    """


class NotSealed(LedgerError):
    """What is asked for needs a seal that covers it (e.g. an export); run ``seal`` first."""


class SealKeyUnusable(LedgerError):
    """The seal signing key is missing, malformed, or not the key the seals were made with."""


class AuditFileUnreadable(LedgerError):
    """A digest or audit bundle cannot be read or is not in the expected format."""


class EvidenceUnreadable(LedgerError):
    """A file to attach as evidence is missing, a directory or unreadable, or the evidence
    folder cannot be written."""


class RuleViolation(LedgerError):
    """The complaint's rules refuse this action in its current state."""


class ComplaintWithdrawn(RuleViolation):
    """The complainant withdrew the complaint; nothing more may be recorded."""


class ComplaintClosed(RuleViolation):
    """The complaint is closed; only reopen, callback and notes are allowed."""


class ComplaintNotClosed(RuleViolation):
    """The action needs a closed complaint (reopen)."""


class OutOfOrder(RuleViolation):
    """A stage the action depends on has not been completed yet."""


class OccurredInFuture(RuleViolation):
    """``occurred_at`` lies in the future."""


class OccurredTooEarly(RuleViolation):
    """``occurred_at`` lies before a recorded action it would contradict (the time rule)."""


class ExtensionRefused(RuleViolation):
    """A deadline extension goes beyond what the policy allows."""


class CorrectionRefused(RuleViolation):
    """A correction cannot be recorded: unknown or uncorrectable event, or a date the time
    rule refuses."""


class PauseNotAllowed(RuleViolation):
    """The complaint's SLA policy does not let its clocks pause."""


class AlreadyErased(RuleViolation):
    """The complainant's personal data was already erased."""


class DirectoryRefused(RuleViolation):
    """The staff directory's rules refuse the change (an unknown or duplicate member, a
    first member who is not a leader, the last leader's role revoked …)."""


class SignOffRequired(RuleViolation):
    """An urgent or major complaint cannot close before the leadership group signed off."""


class ImprovementRefused(RuleViolation):
    """An improvement measure cannot be added or marked done: an unknown id, one already
    done, a due date before the complaint was received, or a member who does not own it."""


class NotAReferral(RuleViolation):
    """Only a complaint received as a regulator referral (with its referral number) has a
    regulator to reply to."""


class LinkRefused(RuleViolation):
    """A link to the complaint itself, or one already recorded (either way round)."""


class ReadinessRefused(RuleViolation):
    """A training record or a drill the readiness book refuses (an attendee named twice, a
    drill id never recorded, a scenario that cannot be run)."""


def first_line(error: Exception) -> str:
    """An error's message as one line: its first (PostgreSQL's DETAIL and CONTEXT lines
    repeat the refused row's values)."""
    return next(iter(str(error).strip().splitlines()), "") or type(error).__name__


def unreadable_event(error: Exception) -> str:
    """What to say of a stored event the library cannot decode (its bytes are not what the
    ledger wrote): the library's first line, and where to look."""
    return (
        f"{first_line(error)}; the ledger's stored data was changed outside the ledger or "
        "is damaged: complaint-ledger verify says where"
    )


def unreadable_said(error: Exception, of: str) -> str:
    """One line for a stored event that cannot be read (``StoredEventUnreadable``, or the
    library's ``MapperDeserialisationError`` whose message names no complaint: ``of`` does)."""
    if isinstance(error, StoredEventUnreadable):
        return str(error)
    return f"{of}: {unreadable_event(error)}"


class StoredEventUnreadable(LedgerError):
    """A stored event this version cannot make into its event or apply: its topic names no
    class here, or its state lacks a field or holds one of another type. Changed outside the
    ledger, or written by a newer release; ``verify`` tells which."""

    def __init__(self, stream: object, position: int, what: str, of: str = "") -> None:
        self.stream, self.position, self.what, self.named = stream, position, what, of
        super().__init__(
            f"the stored event at position {position} of {of or f'stream {stream}'} cannot "
            f"be read by this version ({what}): run complaint-ledger verify; if it passes, "
            "upgrade complaint-ledger"
        )

    def __reduce__(self) -> tuple[type, tuple[object, int, str, str]]:
        # Pickled whole: a bulk worker sends it to the main process.
        return StoredEventUnreadable, (self.stream, self.position, self.what, self.named)

    def of(self, name: str) -> StoredEventUnreadable:
        """The same error, naming the stream (``complaint TS-1``) rather than its id."""
        return StoredEventUnreadable(self.stream, self.position, self.what, name)
