"""One frozen pydantic model per command, named in the imperative.

These models are the integration contract: the JSON Lines accepted by
``complaint-ledger apply`` validate against them field for field (see
docs/commands.md). Every string is stripped; empty strings are refused; the kinds of
value and what each allows (control characters, time bounds) are in ``commands.fields``.
"""

from __future__ import annotations

from typing import Annotated, Any, ClassVar, Literal

from pydantic import (
    Field,
    StrictBool,
    StrictInt,
    StringConstraints,
    TypeAdapter,
    model_validator,
)

from commands.envelope import ActorIn as ActorIn
from commands.envelope import Envelope as Envelope
from commands.envelope import _Frozen
from commands.fields import MAX_CONTENT as MAX_CONTENT  # the importers cut text to these
from commands.fields import MAX_TEXT as MAX_TEXT
from commands.fields import (
    Address,
    Content,
    Document,
    Due,
    IdNumber,
    ImprovementId,
    Line,
    Moment,
    Money,
    Name,
    Phone,
    Ref,
    Tag,
    Text,
    Year,
)
from commands.readiness_models import READINESS_COMMANDS, RecordDrill, RecordTraining
from commands.staff_models import (
    STAFF_COMMANDS,
    AddStaff,
    AllowServiceLogin,
    GrantRole,
    IssueToken,
    RequireAuthentication,
    RevokeRole,
    RevokeToken,
)
from ledger.domain.values import (
    Channel,
    ClockName,
    ContactChannel,
    EvidenceKind,
    RemedyKind,
    Severity,
    Substantiated,
)


class ComplainantIn(_Frozen):
    name: Name | None = None
    phone: Phone | None = None
    id_number: IdNumber | None = None
    address: Address | None = None


class RemedyIn(_Frozen):
    kind: RemedyKind
    amount: Money | None = None
    detail: Text | None = None

    @model_validator(mode="after")
    def _refund_has_amount(self) -> RemedyIn:
        if self.kind is RemedyKind.REFUND and self.amount is None:
            raise ValueError("a refund needs an amount in CNY")
        return self


class Command(Envelope):
    """A command on one complaint, named by its reference."""

    ref: Ref

    @property
    def target(self) -> str:
        return self.ref or "the new complaint"


class ReceiveComplaint(Command):
    added_fields = frozenset({"public_attention", "escalate_to", "agency"})
    action = "receive"
    command: Literal["receive"] = "receive"
    sealed_fields: ClassVar[frozenset[str]] = frozenset({"complainant", "account_ref", "content"})
    ref: Ref | None = None  # type: ignore[assignment]
    channel: Channel
    received_at: Moment
    complainant: ComplainantIn = ComplainantIn()
    account_ref: Name | None = None
    collector: Name | None = None
    content: Content
    category: Name
    tags: tuple[Tag, ...] = Field(default=(), max_length=20)
    referral_number: Name | None = None
    public_attention: StrictBool = False  # media or public-opinion risk (舆情): escalates at once
    escalate_to: Name | None = None  # who a public-attention escalation goes to
    agency: Name | None = None  # the outsourced collection agency complained about

    @model_validator(mode="after")
    def _referral_number_for_referrals(self) -> ReceiveComplaint:
        if self.channel is Channel.REGULATOR_REFERRAL and not self.referral_number:
            raise ValueError("a regulator_referral needs its referral_number")
        if self.escalate_to is not None and not self.public_attention:
            raise ValueError("escalate_to on receipt goes with public_attention")
        return self


class TriageComplaint(Command):
    added_fields = frozenset(
        {"public_attention", "escalate_to", "agency", "cause", "business_type", "business_channel"}
    )
    action = "triage"
    command: Literal["triage"] = "triage"
    sealed_fields: ClassVar[frozenset[str]] = frozenset({"assessment"})
    severity: Severity
    category: Name
    assessment: Text
    escalate_to: Name | None = None  # a unit or member; starts the acknowledgement clock
    public_attention: StrictBool = False  # media or public-opinion risk (舆情): escalates
    agency: Name | None = None  # the outsourced collection agency, when found at triage
    cause: Name | None = None  # a cause code of the code list in force (``codes publish``)
    # The regulator's business type (业务类别) and business channel (业务办理渠道): codes of
    # the code list in force, what the regulator's quarterly table counts complaints by.
    business_type: Name | None = None
    business_channel: Name | None = None


class EscalateComplaint(Command):
    added_fields = frozenset({"to", "public_attention"})
    action = "escalate"
    command: Literal["escalate"] = "escalate"
    sealed_fields: ClassVar[frozenset[str]] = frozenset({"reason"})
    reason: Text
    to: Name | None = None  # a unit or member; starts the acknowledgement clock
    public_attention: StrictBool = False


class AcknowledgeEscalation(Command):
    """The leadership group acknowledges the escalation (stops the acknowledgement clock)."""

    action = "acknowledge"
    command: Literal["acknowledge"] = "acknowledge"


class InstructComplaint(Command):
    """A leadership instruction (批示)."""

    sealed_fields: ClassVar[frozenset[str]] = frozenset({"text"})
    action = "instruct"
    command: Literal["instruct"] = "instruct"
    text: Text


class SignOff(Command):
    """The leadership group was reported the result and signs it off."""

    sealed_fields: ClassVar[frozenset[str]] = frozenset({"text"})
    action = "sign_off"
    command: Literal["sign_off"] = "sign_off"
    text: Text


class RecordAccountability(Command):
    """Accountability (责任追究) for a member of staff: finding and decision (leadership)."""

    sealed_fields: ClassVar[frozenset[str]] = frozenset({"finding", "decision"})
    action = "record_accountability"
    command: Literal["record_accountability"] = "record_accountability"
    staff: Name
    team: Name | None = None  # default: the complaint's handling team
    finding: Text
    decision: Text


class AddImprovement(Command):
    """An improvement measure (溯源整改): what will change, who owns it, by when. The JSON
    field is ``action``; it is sealed like a note, since it may name people."""

    sealed_fields: ClassVar[frozenset[str]] = frozenset({"measure"})
    action = "add_improvement"
    command: Literal["add_improvement"] = "add_improvement"
    measure: Text = Field(alias="action")
    owner: Name
    due: Due


class CompleteImprovement(Command):
    """Mark improvement ``improvement_id`` of the complaint done (its owner or leadership)."""

    sealed_fields: ClassVar[frozenset[str]] = frozenset({"text"})
    action = "complete_improvement"
    command: Literal["complete_improvement"] = "complete_improvement"
    improvement_id: ImprovementId
    text: Text | None = None


class AssignComplaint(Command):
    action = "assign"
    command: Literal["assign"] = "assign"
    handler: Name
    team: Name


class ContactCustomer(Command):
    action = "contact"
    command: Literal["contact"] = "contact"
    sealed_fields: ClassVar[frozenset[str]] = frozenset({"summary"})
    channel: ContactChannel
    reached: StrictBool
    summary: Text


class RecordFindings(Command):
    action = "record_findings"
    command: Literal["record_findings"] = "record_findings"
    sealed_fields: ClassVar[frozenset[str]] = frozenset({"findings"})
    substantiated: Substantiated
    findings: Text
    evidence: tuple[Name, ...] = Field(default=(), max_length=100)


class PlanResolution(Command):
    action = "plan"
    command: Literal["plan"] = "plan"
    remedies: tuple[RemedyIn, ...] = Field(min_length=1, max_length=20)


class ExecuteResolution(Command):
    action = "execute"
    command: Literal["execute"] = "execute"
    sealed_fields: ClassVar[frozenset[str]] = frozenset({"detail"})
    detail: Text


class NotifyOutcome(Command):
    action = "notify_outcome"
    command: Literal["notify_outcome"] = "notify_outcome"
    sealed_fields: ClassVar[frozenset[str]] = frozenset({"summary"})
    channel: ContactChannel
    summary: Text


class RecordCallback(Command):
    """A callback (回访): reached, with the complainant's satisfaction, or not reached (no
    satisfaction); also after closure."""

    added_fields = frozenset({"reached"})
    action = "record_callback"
    command: Literal["record_callback"] = "record_callback"
    sealed_fields: ClassVar[frozenset[str]] = frozenset({"comment"})
    satisfaction: Annotated[StrictInt, Field(ge=1, le=5)] | None = None
    comment: Text | None = None
    reached: StrictBool = True

    @model_validator(mode="after")
    def _satisfaction_when_reached(self) -> RecordCallback:
        if self.reached and self.satisfaction is None:
            raise ValueError("a callback that reached the complainant needs their satisfaction")
        if not self.reached and self.satisfaction is not None:
            raise ValueError("a callback that did not reach the complainant has no satisfaction")
        return self


# The hex SHA-256 of a file, as ``sha256sum`` prints it.
Sha256 = Annotated[str, StringConstraints(strip_whitespace=True, pattern=r"^[0-9a-f]{64}$")]
# Files up to 100 GiB (a day of call recordings is far less).
FileSize = Annotated[StrictInt, Field(ge=0, le=100 * 2**30)]


class AttachEvidence(Command):
    """Evidence by its SHA-256 and size and where it is kept (issue 15). The CLI's ``attach``
    computes them and keeps the file in the evidence folder; JSON Lines and API callers send
    them and keep the file themselves."""

    sealed_fields: ClassVar[frozenset[str]] = frozenset({"location", "filename", "note"})
    action = "attach"
    command: Literal["attach"] = "attach"
    sha256: Sha256
    size: FileSize
    kind: EvidenceKind
    location: Line
    filename: Line | None = None
    note: Text | None = None


class CloseComplaint(Command):
    added_fields = frozenset({"cause", "business_type", "business_channel"})
    action = "close"
    command: Literal["close"] = "close"
    sealed_fields: ClassVar[frozenset[str]] = frozenset({"root_cause", "improvement"})
    root_cause: Text  # free text, sealed; the coded cause is ``cause``
    improvement: Text
    cause: Name | None = None  # a cause code of the code list in force; overrides the triage's
    business_type: Name | None = None  # the regulator's codes (as on triage); override its
    business_channel: Name | None = None


class ReopenComplaint(Command):
    action = "reopen"
    command: Literal["reopen"] = "reopen"
    sealed_fields: ClassVar[frozenset[str]] = frozenset({"reason"})
    reason: Text


class WithdrawComplaint(Command):
    action = "withdraw"
    command: Literal["withdraw"] = "withdraw"
    sealed_fields: ClassVar[frozenset[str]] = frozenset({"reason"})
    reason: Text


class ExtendDeadline(Command):
    action = "extend"
    command: Literal["extend"] = "extend"
    sealed_fields: ClassVar[frozenset[str]] = frozenset({"reason"})
    clock: ClockName
    days: Annotated[StrictInt, Field(ge=1, le=366)]
    reason: Text
    approved_by: Name


class CorrectOccurrence(Command):
    """Re-date a recorded action (leadership, approved by the recording leader)."""

    action = "correct"
    command: Literal["correct"] = "correct"
    sealed_fields: ClassVar[frozenset[str]] = frozenset({"reason"})
    event: Annotated[StrictInt, Field(ge=1)]
    corrected_occurred_at: Moment
    reason: Text
    approved_by: Name


class PauseClocks(Command):
    action = "pause"
    command: Literal["pause"] = "pause"
    sealed_fields: ClassVar[frozenset[str]] = frozenset({"reason"})
    reason: Text


class ResumeClocks(Command):
    action = "resume"
    command: Literal["resume"] = "resume"
    sealed_fields: ClassVar[frozenset[str]] = frozenset({"reason"})
    reason: Text


class AddNote(Command):
    action = "add_note"
    command: Literal["add_note"] = "add_note"
    sealed_fields: ClassVar[frozenset[str]] = frozenset({"text"})
    text: Text


class ReplyRegulator(Command):
    """The company's reply to the regulator that referred the complaint (stops the
    regulator-reply clock); the summary is sealed like a note."""

    action = "reply_regulator"
    command: Literal["reply_regulator"] = "reply_regulator"
    sealed_fields: ClassVar[frozenset[str]] = frozenset({"summary"})
    summary: Text


class LinkComplaints(Command):
    """Link the complaint to another about the same incident (issue 15)."""

    action = "link"
    command: Literal["link"] = "link"
    sealed_fields: ClassVar[frozenset[str]] = frozenset({"reason"})
    other: Ref
    reason: Text


class EraseComplaintData(Command):
    """Erase the complainant's personal data (destroy its key); leadership only."""

    action = "erase"
    command: Literal["erase"] = "erase"
    reason: Text


class RecordAlert(Command):
    """Record an alert about the complaint as sent (or as failed after its last try); the
    alerter's command (``consumers.alerts``), under an id made of the rule, clock, recipient
    and channel, so that an alert is recorded once however often it is submitted."""

    action = "record_alert"
    command: Literal["record_alert"] = "record_alert"
    rule: Name
    clock: Name
    recipient: Name
    address: Line
    channel: Literal["email", "webhook"]
    outcome: Literal["sent", "failed"] = "sent"
    attempts: Annotated[StrictInt, Field(ge=1, le=100)] = 1
    error: Text | None = None

    @model_validator(mode="after")
    def _error_for_failures(self) -> RecordAlert:
        if (self.outcome == "failed") != (self.error is not None):
            raise ValueError("a failed alert needs its error, and a sent one has none")
        return self


class PublishPolicy(Envelope):
    """Publish a revision of the SLA policy (a TOML or YAML document)."""

    added_fields = frozenset({"reason", "drill"})
    action = "publish_policy"
    command: Literal["publish_policy"] = "publish_policy"
    text: Document
    format: Literal["toml", "yaml"]
    effective_from: Moment | None = None
    reason: Line | None = None  # why the plan was revised (预案修订)
    drill: Name | None = None  # the drill that prompted it (drill run), a recorded drill id

    @model_validator(mode="after")
    def _drill_with_reason(self) -> PublishPolicy:
        if self.drill is not None and self.reason is None:
            raise ValueError("a revision that names its drill says why: give reason too")
        return self

    @property
    def target(self) -> str:
        return "the policy book"


class PublishCodes(Envelope):
    """Publish a version of the code lists: the company's cause codes and the regulator's
    classification (a TOML or JSON document, ``docs/codes.md``)."""

    action = "publish_codes"
    command: Literal["publish_codes"] = "publish_codes"
    text: Document
    format: Literal["toml", "json"]
    effective_from: Moment | None = None

    @property
    def target(self) -> str:
        return "the policy book (code lists)"


class PublishCalendar(Envelope):
    """Publish the working-day calendar of a year (from the holidays package when no text)."""

    action = "publish_calendar"
    command: Literal["publish_calendar"] = "publish_calendar"
    year: Year
    text: Document | None = None
    format: Literal["toml", "yaml"] = "toml"

    @property
    def target(self) -> str:
        return "the calendar book"


AnyCommand = Annotated[
    ReceiveComplaint
    | TriageComplaint
    | EscalateComplaint
    | AcknowledgeEscalation
    | InstructComplaint
    | SignOff
    | RecordAccountability
    | AddImprovement
    | CompleteImprovement
    | AssignComplaint
    | ContactCustomer
    | RecordFindings
    | PlanResolution
    | ExecuteResolution
    | NotifyOutcome
    | RecordCallback
    | AttachEvidence
    | CloseComplaint
    | ReopenComplaint
    | WithdrawComplaint
    | ExtendDeadline
    | CorrectOccurrence
    | PauseClocks
    | ResumeClocks
    | AddNote
    | ReplyRegulator
    | LinkComplaints
    | EraseComplaintData
    | RecordAlert
    | PublishPolicy
    | PublishCodes
    | PublishCalendar
    | AddStaff
    | GrantRole
    | RevokeRole
    | IssueToken
    | RevokeToken
    | RequireAuthentication
    | AllowServiceLogin
    | RecordTraining
    | RecordDrill,
    Field(discriminator="command"),
]

COMMAND_ADAPTER: TypeAdapter[AnyCommand] = TypeAdapter(AnyCommand)
COMMAND_NAMES = (
    "receive",
    "triage",
    "escalate",
    "acknowledge",
    "instruct",
    "sign_off",
    "record_accountability",
    "add_improvement",
    "complete_improvement",
    "assign",
    "contact",
    "record_findings",
    "plan",
    "execute",
    "notify_outcome",
    "record_callback",
    "attach",
    "close",
    "reopen",
    "withdraw",
    "extend",
    "correct",
    "pause",
    "resume",
    "add_note",
    "reply_regulator",
    "link",
    "erase",
    "record_alert",
    "publish_policy",
    "publish_codes",
    "publish_calendar",
    *STAFF_COMMANDS,
    *READINESS_COMMANDS,
)


def parse_command(data: Any) -> Envelope:
    """Validate one command given as plain data (a parsed JSON object)."""
    command: Envelope = COMMAND_ADAPTER.validate_python(data)
    return command
