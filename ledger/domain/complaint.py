"""The Complaint aggregate: one complaint's life, from receipt to closure.

Public methods check the rules and raise a ``LedgerError`` subclass before
anything happens; the ``@event`` bodies only apply facts, because they run
again on every replay.

Free text reaches the aggregate already sealed under the complaint's key (``SealedText``);
events written before that (class version 1) held it in plain and are upcast to
``LegacyText`` as they are read: their stored bytes never change.
"""

from __future__ import annotations

import uuid
from dataclasses import replace
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from eventsourcing.domain import Aggregate, event

from ledger.domain.alerting import AlertFields
from ledger.domain.calendar import WorkCalendar
from ledger.domain.codes import Cause
from ledger.domain.errors import (
    AlreadyErased,
    ComplaintClosed,
    ComplaintNotClosed,
    ComplaintWithdrawn,
    CorrectionRefused,
    ExtensionRefused,
    ImprovementRefused,
    LinkRefused,
    NotAReferral,
    OccurredInFuture,
    OccurredTooEarly,
    OutOfOrder,
    PauseNotAllowed,
    RoleNotAllowed,
    SignOffRequired,
)
from ledger.domain.events import register
from ledger.domain.facts import CLOCK_KINDS, CaseFacts, Correction, Fact
from ledger.domain.improvements import Improvement
from ledger.domain.policy import Policy, check_extension
from ledger.domain.sealed import (
    KeyChanges,
    PersonKey,
    SealedComplainant,
    SealedText,
    Text,
    legacy_text,
)
from ledger.domain.sla import Window, extension_window
from ledger.domain.timerule import WORDS, check_correction, check_new
from ledger.domain.topics import keep_topics
from ledger.domain.values import (
    Actor,
    Channel,
    ClockName,
    ContactChannel,
    EvidenceKind,
    Remedy,
    RemedyKind,
    Role,
    Severity,
    Stage,
    Stamp,
    Status,
    Substantiated,
    reference_id,
)

# Client clocks drift; an occurred_at this far ahead of ours still counts as "now".
CLOCK_SKEW = timedelta(seconds=60)

ESCALATING_SEVERITIES = frozenset({Severity.URGENT, Severity.MAJOR})
LEADERSHIP_GROUP = "leadership_group"  # the unit escalations go to unless another is named
# The reason of an escalation for public attention: the ledger's own words, kept plain.
PUBLIC_ATTENTION = "public attention (舆情)"


class Complaint(Aggregate):
    """A complaint about debt collection and everything done about it."""

    @staticmethod
    def create_id(ref: str) -> uuid.UUID:
        return reference_id(ref)

    # ------------------------------------------------------------------ receipt

    @classmethod
    def receive(
        cls,
        *,
        ref: str,
        stamp: Stamp,
        now: datetime,
        channel: Channel,
        received_at: datetime,
        complainant: SealedComplainant,
        person_key: PersonKey | None,
        account_ref: SealedText | None,
        collector: str | None,
        content: SealedText,
        category: str,
        tags: tuple[str, ...],
        referral_number: str | None,
        policy_version: str,
    ) -> Complaint:
        """Record a new complaint; ``complainant`` is already sealed with ``person_key``,
        which is saved with the ``Received`` event (see ``take_key_changes``)."""
        if received_at > now + CLOCK_SKEW:
            raise OccurredInFuture(f"received_at {received_at.isoformat()} is in the future")
        _check_not_future(stamp.occurred_at, now)
        if stamp.occurred_at < received_at:
            raise OccurredTooEarly(
                f"occurred_at {stamp.occurred_at.isoformat()} is before the complaint was "
                f"received ({received_at.isoformat()})"
            )
        complaint = cls(
            ref=ref,
            channel=channel,
            received_at=received_at,
            complainant=complainant,
            account_ref=account_ref,
            collector=collector,
            content=content,
            category=category,
            tags=list(tags),
            referral_number=referral_number,
            policy_version=policy_version,
            actor=stamp.actor,
            occurred_at=stamp.occurred_at,
            command_id=stamp.command_id,
        )
        if person_key is not None:
            complaint.key_changes.new.append(person_key)
        return complaint

    class Received(Aggregate.Created):
        """Version 2: ``content`` and ``account_ref`` sealed (version 1 held them in plain)."""

        class_version = 2
        ref: str
        channel: str
        received_at: datetime
        complainant: SealedComplainant
        account_ref: Text | None
        collector: str | None
        content: Text
        category: str
        tags: list[str]
        referral_number: str | None
        policy_version: str
        actor: Actor
        occurred_at: datetime
        command_id: str

        @staticmethod
        def upcast_v1_v2(state: dict[str, Any]) -> None:
            legacy_text(state, "account_ref", "content")

    @event(Received)
    def __init__(
        self,
        *,
        ref: str,
        channel: str,
        received_at: datetime,
        complainant: SealedComplainant,
        account_ref: Text | None,
        collector: str | None,
        content: Text,
        category: str,
        tags: list[str],
        referral_number: str | None,
        policy_version: str,
        actor: Actor,
        occurred_at: datetime,
        command_id: str,
    ) -> None:
        self.ref = ref
        self.policy_version = policy_version
        self.channel = Channel(channel)
        self.received_at = received_at
        self.complainant = complainant
        self.account_ref = account_ref
        self.collector = collector
        self.content = content
        self.category = category
        self.tags = list(tags)
        self.referral_number = referral_number
        self.intake_recorded_at = occurred_at
        self.status = Status.OPEN
        self.severity: Severity | None = None
        self.assessment: Text | None = None
        self.escalated = False
        # The escalation loop (issue 15): escalations, those acknowledged, to whom the last
        # one went, and whether leadership signed off the result of the current round.
        self.escalations = 0
        self.acknowledged = 0
        self.escalated_to: str | None = None
        self.public_attention = False
        self.instructions = 0
        self.signed_off_at: datetime | None = None
        self.accountability = 0
        self.agency: str | None = None  # the outsourced collection agency, once named
        # The cause code last given (triage, then close) and the code list it was checked
        # against (issue 15): None until one is given.
        self.cause_code: str | None = None
        self.codes_version: str | None = None
        self.improvements: dict[str, Improvement] = {}  # by id, in the order added
        self.regulator_replied_at: datetime | None = None  # the first reply to a referral
        self.handler: str | None = None
        self.team: str | None = None
        self.contacts = 0
        self.triaged_at: datetime | None = None
        self.substantiated: Substantiated | None = None
        self.findings: Text | None = None
        self.evidence: list[str] = []
        # Files attached as evidence (issue 15): sha256, size, kind, event version, file name.
        self.attachments: list[tuple[str, int, str, int, Text | None]] = []
        self.unreached_callbacks = 0
        self.findings_at: datetime | None = None
        self.remedies: list[Remedy] = []
        self.planned_at: datetime | None = None
        self.executed_at: datetime | None = None
        self.outcome_at: datetime | None = None
        self.outcome_ever_communicated = False
        self.satisfaction: int | None = None
        self.closed_at: datetime | None = None
        self.root_cause: Text | None = None
        self.improvement: Text | None = None
        self.reopened_count = 0
        self.reopened_at: datetime | None = None
        self.withdrawn_at: datetime | None = None
        self.extensions: list[tuple[ClockName, int, int]] = []
        self.paused_since: datetime | None = None
        self.notes = 0
        self.links: list[str] = []  # the complaints this one was linked to (issue 15)
        self.last_activity_at = occurred_at
        self.personal_data_erased = False
        # The alerts recorded (sent or failed for good), by rule, clock, recipient, channel.
        self.alerted: set[tuple[str, str, str, str]] = set()
        # Every action by version and date, for the time rule and the clocks' facts; which
        # event set each of the times above, so that a correction can move it.
        self.timeline: list[Fact] = [Fact("received", 1, occurred_at)]
        self.corrections: list[Correction] = []
        self.set_by: dict[str, int] = {"intake_recorded_at": 1}
        # Keys to store or destroy with the pending events; never part of an event.
        self.key_changes = KeyChanges()

    def take_key_changes(self) -> KeyChanges:
        """The key changes of the pending events, handed over once to be saved with them."""
        changes, self.key_changes = self.key_changes, KeyChanges()
        return changes

    # ------------------------------------------------------------------ derived state

    @property
    def stage(self) -> Stage:
        if self.status is Status.WITHDRAWN:
            return Stage.WITHDRAWN
        if self.status is Status.CLOSED:
            return Stage.CLOSED
        if self.triaged_at is None:
            return Stage.INTAKE
        if self.findings_at is None:
            return Stage.INVESTIGATION
        if self.planned_at is None:
            return Stage.PLAN
        if self.executed_at is None:
            return Stage.EXECUTION
        return Stage.SUMMARY

    @property
    def refund_total(self) -> Decimal:
        return sum(
            (r.amount for r in self.remedies if r.kind is RemedyKind.REFUND and r.amount),
            Decimal("0"),
        )

    @property
    def facts(self) -> CaseFacts:
        """The facts the clocks are judged on, by date (the recording times are not known
        here: the rules the aggregate enforces depend on dates alone)."""
        return CaseFacts(self.received_at, tuple(self.timeline), tuple(self.corrections))

    # ------------------------------------------------------------------ guards

    def _check_open(self, stamp: Stamp, now: datetime, action: str) -> None:
        self._check_recordable(stamp, now, action)
        if self.status is Status.CLOSED:
            raise ComplaintClosed(
                f"{self.ref} is closed; only reopen, record-callback and add-note are "
                f"allowed, not {action}"
            )

    def _check_recordable(self, stamp: Stamp, now: datetime, action: str) -> None:
        if self.status is Status.WITHDRAWN:
            raise ComplaintWithdrawn(
                f"{self.ref} was withdrawn by the complainant; {action} is not allowed"
            )
        _check_not_future(stamp.occurred_at, now)

    def _check_time(self, kind: str, stamp: Stamp, **fields: Any) -> None:
        """The time rule (``ledger.domain.timerule``): not before a recorded action it follows."""
        new = Fact(kind, self.version + 1, stamp.occurred_at, **fields)
        check_new(self.received_at, self.timeline, new)

    def _log(self, kind: str, occurred_at: datetime, **fields: Any) -> None:
        """Note the action being applied (in an ``@event`` body: its version is the next)."""
        self.timeline.append(Fact(kind, self.version + 1, occurred_at, **fields))
        self.last_activity_at = max(self.last_activity_at, occurred_at)

    def _set_cause(self, cause: str | None, codes_version: str | None) -> None:
        if cause is not None:  # an action without a code keeps the one given before
            self.cause_code, self.codes_version = cause, codes_version

    def _set_time(self, name: str, occurred_at: datetime | None) -> None:
        setattr(self, name, occurred_at)
        if occurred_at is None:
            self.set_by.pop(name, None)
        else:
            self.set_by[name] = self.version + 1

    # ------------------------------------------------------------------ commands

    def triage(
        self,
        stamp: Stamp,
        now: datetime,
        severity: Severity,
        category: str,
        assessment: SealedText,
        escalate_to: str | None = None,
        public_attention: bool = False,
        cause: Cause | None = None,
    ) -> None:
        """The initial judgment. An urgent or major one escalates (to ``escalate_to``, which
        starts the acknowledgement clock, when given); public attention escalates at once.
        ``cause`` is a cause code the handler checked against the code list in force."""
        self._check_open(stamp, now, "triage")
        self._check_time("triaged", stamp)
        self._triaged(
            *_parts(stamp),
            severity=severity,
            category=category,
            assessment=assessment,
            cause=None if cause is None else cause.code,
            codes_version=None if cause is None else cause.version,
        )
        if public_attention:
            self.raise_escalation(
                stamp, PUBLIC_ATTENTION, escalate_to or LEADERSHIP_GROUP, True, True
            )
        elif severity in ESCALATING_SEVERITIES and not self.escalated:
            self._escalated(*_parts(stamp), reason=f"triaged as {severity}", automatic=True)
            if escalate_to is not None:
                self._escalation_addressed(*_parts(stamp), to=escalate_to, public_attention=False)
        elif escalate_to is not None:
            self.raise_escalation(stamp, f"triaged as {severity}", escalate_to, False, True)

    class Triaged(Aggregate.Event):
        """Version 2: ``assessment`` sealed. Version 3: the cause code (``cause``) and the
        version of the code list it was checked against (``codes_version``), both optional."""

        class_version = 3
        actor: Actor
        occurred_at: datetime
        command_id: str
        severity: str
        category: str
        assessment: Text
        cause: str | None
        codes_version: str | None

        @staticmethod
        def upcast_v1_v2(state: dict[str, Any]) -> None:
            legacy_text(state, "assessment")

        @staticmethod
        def upcast_v2_v3(state: dict[str, Any]) -> None:
            state["cause"] = None
            state["codes_version"] = None

    @event(Triaged)
    def _triaged(
        self,
        actor: Actor,
        occurred_at: datetime,
        command_id: str,
        severity: str,
        category: str,
        assessment: Text,
        cause: str | None = None,
        codes_version: str | None = None,
    ) -> None:
        self.severity = Severity(severity)
        self.category = category
        self.assessment = assessment
        self._set_cause(cause, codes_version)
        self._set_time("triaged_at", occurred_at)
        self._log("triaged", occurred_at)

    def escalate(
        self,
        stamp: Stamp,
        now: datetime,
        reason: SealedText,
        to: str | None = None,
        public_attention: bool = False,
    ) -> None:
        """Escalate; one that names who it goes to starts the acknowledgement clock."""
        self._check_open(stamp, now, "escalate")
        self._check_time("escalated", stamp)
        self.raise_escalation(stamp, reason, to, public_attention, automatic=False)

    def raise_escalation(
        self,
        stamp: Stamp,
        reason: SealedText | str,
        to: str | None,
        public_attention: bool,
        automatic: bool,
    ) -> None:
        self._escalated(*_parts(stamp), reason=reason, automatic=automatic)
        if to is not None:
            self._escalation_addressed(*_parts(stamp), to=to, public_attention=public_attention)

    class Escalated(Aggregate.Event):
        """Version 2: a person's ``reason`` sealed; an automatic escalation's is the ledger's
        own words (``triaged as urgent``), kept plain."""

        class_version = 2
        actor: Actor
        occurred_at: datetime
        command_id: str
        reason: Text | str
        automatic: bool

        @staticmethod
        def upcast_v1_v2(state: dict[str, Any]) -> None:
            legacy_text(state, "reason")

    @event(Escalated)
    def _escalated(
        self,
        actor: Actor,
        occurred_at: datetime,
        command_id: str,
        reason: Text | str,
        automatic: bool,
    ) -> None:
        self.escalated = True
        self.escalations += 1
        self._log("escalated", occurred_at)

    @event("EscalationAddressed")
    def _escalation_addressed(
        self, actor: Actor, occurred_at: datetime, command_id: str, to: str,
        public_attention: bool,
    ) -> None:  # fmt: skip
        # Its own event beside Escalated (whose stored shape stays as it was): the addressee.
        self.escalated_to = to
        self.public_attention = self.public_attention or public_attention
        self._log("addressed", occurred_at)

    def name_agency(self, stamp: Stamp, agency: str) -> None:
        """The outsourced collection agency the complaint is about (at receipt or triage)."""
        if agency != self.agency:
            self._agency_named(*_parts(stamp), agency=agency)

    @event("AgencyNamed")
    def _agency_named(
        self, actor: Actor, occurred_at: datetime, command_id: str, agency: str
    ) -> None:
        # Its own event beside Received or Triaged (whose stored shapes stay as they were).
        self.agency = agency
        self._log("agency", occurred_at)

    def acknowledge(self, stamp: Stamp, now: datetime) -> None:
        """The leadership group acknowledges the escalations not yet acknowledged."""
        self._check_open(stamp, now, "acknowledge")
        if not self.escalated:
            raise OutOfOrder(f"{self.ref} has not been escalated; there is nothing to acknowledge")
        if self.acknowledged >= self.escalations:
            raise OutOfOrder(f"{self.ref}: every escalation has already been acknowledged")
        self._check_time("acknowledged", stamp)
        self._escalation_acknowledged(*_parts(stamp))

    @event("EscalationAcknowledged")
    def _escalation_acknowledged(
        self, actor: Actor, occurred_at: datetime, command_id: str
    ) -> None:
        self.acknowledged = self.escalations
        self._log("acknowledged", occurred_at)

    def instruct(self, stamp: Stamp, now: datetime, text: SealedText) -> None:
        """A leadership instruction (批示) on an escalated complaint, also after closure."""
        self._check_recordable(stamp, now, "instruct")
        if not self.escalated:
            raise OutOfOrder(
                f"{self.ref} has not been escalated; instructions are given on escalated cases"
            )
        self._check_time("instructed", stamp)
        self._leadership_instructed(*_parts(stamp), text=text)

    @event("LeadershipInstructed")
    def _leadership_instructed(
        self, actor: Actor, occurred_at: datetime, command_id: str, text: Text
    ) -> None:
        self.instructions += 1
        self._log("instructed", occurred_at)

    def sign_off(self, stamp: Stamp, now: datetime, text: SealedText) -> None:
        """The leadership group was reported the result and signs it off (before closure)."""
        self._check_open(stamp, now, "sign-off")
        if self.executed_at is None:
            raise OutOfOrder(
                f"{self.ref}: the resolution has not been executed; there is no result to sign off"
            )
        self._check_time("signed_off", stamp)
        self._signed_off(*_parts(stamp), text=text)

    @event("SignedOff")
    def _signed_off(self, actor: Actor, occurred_at: datetime, command_id: str, text: Text) -> None:
        self._set_time("signed_off_at", occurred_at)
        self._log("signed_off", occurred_at)

    def record_accountability(
        self, stamp: Stamp, now: datetime, staff: str, team: str | None, finding: SealedText,
        decision: SealedText,
    ) -> None:  # fmt: skip
        """Accountability (责任追究): a finding about a member of staff and the decision."""
        self._check_recordable(stamp, now, "accountability record")
        self._check_time("accountability", stamp)
        self._accountability_recorded(
            *_parts(stamp), staff=staff, team=team, finding=finding, decision=decision
        )

    @event("AccountabilityRecorded")
    def _accountability_recorded(
        self, actor: Actor, occurred_at: datetime, command_id: str, staff: str,
        team: str | None, finding: Text, decision: Text,
    ) -> None:  # fmt: skip
        self.accountability += 1
        self._log("accountability", occurred_at)

    # ------------------------------------------------------------------ improvements

    def add_improvement(
        self, stamp: Stamp, now: datetime, measure: SealedText, owner: str, due: datetime
    ) -> str:
        """An improvement measure (溯源整改) with its owner and deadline, also after closure
        (the measures follow the finding); its id is the next number of the complaint."""
        self._check_recordable(stamp, now, "improvement add")
        if due < self.received_at:
            raise ImprovementRefused(
                f"due {due.isoformat()} is before the complaint was received "
                f"({self.received_at.isoformat()})"
            )
        item = str(len(self.improvements) + 1)
        self._check_time("improvement", stamp, item=item, due=due)
        self._improvement_added(
            *_parts(stamp), improvement_id=item, measure=measure, owner=owner, due=due
        )
        return item

    @event("ImprovementAdded")
    def _improvement_added(
        self, actor: Actor, occurred_at: datetime, command_id: str, improvement_id: str,
        measure: Text, owner: str, due: datetime,
    ) -> None:  # fmt: skip
        self.improvements[improvement_id] = Improvement(
            improvement_id, measure, owner, due, occurred_at, self.version + 1
        )
        self._log("improvement", occurred_at, item=improvement_id, due=due)

    def complete_improvement(
        self, stamp: Stamp, now: datetime, improvement_id: str, note: SealedText | None
    ) -> None:
        """Mark a measure done: its owner or the leadership group, once."""
        self._check_recordable(stamp, now, "improvement done")
        found = self.improvements.get(improvement_id)
        if found is None:
            known = ", ".join(self.improvements) or "none"
            raise ImprovementRefused(
                f"{self.ref} has no improvement {improvement_id!r} (its improvements: {known})"
            )
        if found.done_at is not None:
            raise ImprovementRefused(
                f"improvement {improvement_id} of {self.ref} was already marked done at "
                f"{found.done_at.isoformat()}"
            )
        actor = stamp.actor
        if actor.role is not Role.LEADERSHIP and actor.id != found.owner:
            raise RoleNotAllowed(
                f"improvement {improvement_id} of {self.ref} is owned by {found.owner!r}: only "
                f"its owner or the leadership group may mark it done, not {actor.id!r}"
            )
        self._check_time("improved", stamp, item=improvement_id)
        self._improvement_completed(*_parts(stamp), improvement_id=improvement_id, note=note)

    @event("ImprovementCompleted")
    def _improvement_completed(
        self, actor: Actor, occurred_at: datetime, command_id: str, improvement_id: str,
        note: Text | None,
    ) -> None:  # fmt: skip
        found = self.improvements[improvement_id]
        found.done_at, found.done_by, found.note = occurred_at, actor.id, note
        found.done_version = self.version + 1
        self._log("improved", occurred_at, item=improvement_id)

    def reply_regulator(self, stamp: Stamp, now: datetime, summary: SealedText) -> None:
        """The company's reply to the regulator that referred the complaint (issue 15): the
        first stops the regulator-reply clock; later ones (supplements) stop nothing. Allowed
        after closure, since the reply reports the result."""
        self._check_recordable(stamp, now, "reply-regulator")
        if self.channel is not Channel.REGULATOR_REFERRAL or not self.referral_number:
            raise NotAReferral(
                f"{self.ref} was received by {self.channel}, not as a regulator_referral with "
                "a referral number; there is no regulator to reply to"
            )
        self._check_time("replied", stamp)
        self._regulator_replied(*_parts(stamp), summary=summary)

    @event("RegulatorReplied")
    def _regulator_replied(
        self, actor: Actor, occurred_at: datetime, command_id: str, summary: Text
    ) -> None:
        if self.regulator_replied_at is None:
            self.regulator_replied_at = occurred_at
        self._log("replied", occurred_at)

    def assign(self, stamp: Stamp, now: datetime, handler: str, team: str) -> None:
        self._check_open(stamp, now, "assign")
        self._check_time("assigned", stamp)
        self._assigned(*_parts(stamp), handler=handler, team=team)

    @event("Assigned")
    def _assigned(
        self, actor: Actor, occurred_at: datetime, command_id: str, handler: str, team: str
    ) -> None:
        self.handler = handler
        self.team = team
        self._log("assigned", occurred_at)

    def contact(
        self,
        stamp: Stamp,
        now: datetime,
        channel: ContactChannel,
        reached: bool,
        summary: SealedText,
    ) -> None:
        self._check_open(stamp, now, "contact")
        self._check_time("contact", stamp)
        self._contacted(*_parts(stamp), channel=channel, reached=reached, summary=summary)

    class CustomerContacted(Aggregate.Event):
        """Version 2: ``summary`` sealed."""

        class_version = 2
        actor: Actor
        occurred_at: datetime
        command_id: str
        channel: str
        reached: bool
        summary: Text

        @staticmethod
        def upcast_v1_v2(state: dict[str, Any]) -> None:
            legacy_text(state, "summary")

    @event(CustomerContacted)
    def _contacted(
        self,
        actor: Actor,
        occurred_at: datetime,
        command_id: str,
        channel: str,
        reached: bool,
        summary: Text,
    ) -> None:
        self.contacts += 1
        self._log("contact", occurred_at)

    def record_findings(
        self,
        stamp: Stamp,
        now: datetime,
        substantiated: Substantiated,
        findings: SealedText,
        evidence: tuple[str, ...],
    ) -> None:
        self._check_open(stamp, now, "record-findings")
        if self.triaged_at is None:
            raise OutOfOrder(
                f"{self.ref} has not been triaged; triage it before recording findings"
            )
        self._check_time("findings", stamp)
        self._findings_recorded(
            *_parts(stamp), substantiated=substantiated, findings=findings, evidence=list(evidence)
        )

    class FindingsRecorded(Aggregate.Event):
        """Version 2: ``findings`` sealed."""

        class_version = 2
        actor: Actor
        occurred_at: datetime
        command_id: str
        substantiated: str
        findings: Text
        evidence: list[str]

        @staticmethod
        def upcast_v1_v2(state: dict[str, Any]) -> None:
            legacy_text(state, "findings")

    @event(FindingsRecorded)
    def _findings_recorded(
        self,
        actor: Actor,
        occurred_at: datetime,
        command_id: str,
        substantiated: str,
        findings: Text,
        evidence: list[str],
    ) -> None:
        self.substantiated = Substantiated(substantiated)
        self.findings = findings
        self.evidence = list(evidence)
        self._set_time("findings_at", occurred_at)
        self._log("findings", occurred_at)

    def plan(self, stamp: Stamp, now: datetime, remedies: tuple[Remedy, ...]) -> None:
        self._check_open(stamp, now, "plan")
        if self.findings_at is None:
            raise OutOfOrder(f"{self.ref} has no findings yet; record findings before a plan")
        self._check_time("planned", stamp)
        self._resolution_planned(*_parts(stamp), remedies=list(remedies))

    @event("ResolutionPlanned")
    def _resolution_planned(
        self, actor: Actor, occurred_at: datetime, command_id: str, remedies: list[Remedy]
    ) -> None:
        self.remedies = list(remedies)
        self._set_time("planned_at", occurred_at)
        self._set_time("executed_at", None)
        self._log("planned", occurred_at)

    def execute(self, stamp: Stamp, now: datetime, detail: SealedText) -> None:
        self._check_open(stamp, now, "execute")
        if self.planned_at is None:
            raise OutOfOrder(f"{self.ref} has no resolution plan; plan before executing")
        if self.executed_at is not None:
            raise OutOfOrder(f"{self.ref}: the current plan was already executed")
        self._check_time("executed", stamp)
        self._resolution_executed(*_parts(stamp), detail=detail)

    class ResolutionExecuted(Aggregate.Event):
        """Version 2: ``detail`` sealed."""

        class_version = 2
        actor: Actor
        occurred_at: datetime
        command_id: str
        detail: Text

        @staticmethod
        def upcast_v1_v2(state: dict[str, Any]) -> None:
            legacy_text(state, "detail")

    @event(ResolutionExecuted)
    def _resolution_executed(
        self, actor: Actor, occurred_at: datetime, command_id: str, detail: Text
    ) -> None:
        self._set_time("executed_at", occurred_at)
        self._log("executed", occurred_at)

    def notify_outcome(
        self, stamp: Stamp, now: datetime, channel: ContactChannel, summary: SealedText
    ) -> None:
        self._check_open(stamp, now, "notify-outcome")
        if self.planned_at is None:
            raise OutOfOrder(
                f"{self.ref} has no resolution plan; there is no outcome to communicate yet"
            )
        self._check_time("outcome", stamp)
        self._outcome_communicated(*_parts(stamp), channel=channel, summary=summary)

    class OutcomeCommunicated(Aggregate.Event):
        """Version 2: ``summary`` sealed."""

        class_version = 2
        actor: Actor
        occurred_at: datetime
        command_id: str
        channel: str
        summary: Text

        @staticmethod
        def upcast_v1_v2(state: dict[str, Any]) -> None:
            legacy_text(state, "summary")

    @event(OutcomeCommunicated)
    def _outcome_communicated(
        self, actor: Actor, occurred_at: datetime, command_id: str, channel: str, summary: Text
    ) -> None:
        self._set_time("outcome_at", occurred_at)
        self.outcome_ever_communicated = True
        self._log("outcome", occurred_at)

    def record_callback(
        self, stamp: Stamp, now: datetime, satisfaction: int, comment: SealedText
    ) -> None:
        self._check_recordable(stamp, now, "record-callback")
        if not self.outcome_ever_communicated:
            raise OutOfOrder(
                f"{self.ref}: the outcome has not been communicated; a callback comes after it"
            )
        self._check_time("callback", stamp)
        self._callback_recorded(*_parts(stamp), satisfaction=satisfaction, comment=comment)

    class CallbackRecorded(Aggregate.Event):
        """Version 2: ``comment`` sealed."""

        class_version = 2
        actor: Actor
        occurred_at: datetime
        command_id: str
        satisfaction: int
        comment: Text

        @staticmethod
        def upcast_v1_v2(state: dict[str, Any]) -> None:
            legacy_text(state, "comment")

    @event(CallbackRecorded)
    def _callback_recorded(
        self, actor: Actor, occurred_at: datetime, command_id: str, satisfaction: int, comment: Text
    ) -> None:
        self.satisfaction = satisfaction
        self._log("callback", occurred_at)

    def record_unreached_callback(self, stamp: Stamp, now: datetime, comment: SealedText) -> None:
        """A callback (回访) attempt that did not reach the complainant: allowed after closure
        like a reached one, and no action the clocks are judged on."""
        self._check_recordable(stamp, now, "record-callback")
        if not self.outcome_ever_communicated:
            raise OutOfOrder(
                f"{self.ref}: the outcome has not been communicated; a callback comes after it"
            )
        self._check_time("callback", stamp)
        self._callback_not_reached(*_parts(stamp), comment=comment)

    @event("CallbackNotReached")
    def _callback_not_reached(
        self, actor: Actor, occurred_at: datetime, command_id: str, comment: Text
    ) -> None:
        # Its own event beside CallbackRecorded (whose stored shape keeps its satisfaction).
        self.unreached_callbacks += 1
        self._log("callback", occurred_at)

    def attach_evidence(
        self, stamp: Stamp, now: datetime, sha256: str, size: int, kind: EvidenceKind,
        location: SealedText, filename: SealedText | None, note: SealedText | None,
    ) -> None:  # fmt: skip
        """Evidence (a recording, document or screenshot) by its SHA-256 and size, and where
        it is kept; also after closure (a callback's recording). Not once the complainant's
        personal data is erased: the file is theirs too, and an erasure happens once, so
        nothing would delete a file attached afterwards."""
        self._check_recordable(stamp, now, "attach")
        if self.personal_data_erased:
            raise AlreadyErased(
                f"{self.ref}: the complainant's personal data was erased; no evidence may be "
                "attached to it"
            )
        self._check_time("evidence", stamp)
        self._evidence_attached(
            *_parts(stamp), sha256=sha256, size=size, kind=kind, location=location,
            filename=filename, note=note,
        )  # fmt: skip

    @event("EvidenceAttached")
    def _evidence_attached(
        self, actor: Actor, occurred_at: datetime, command_id: str, sha256: str, size: int,
        kind: str, location: Text, filename: Text | None, note: Text | None,
    ) -> None:  # fmt: skip
        # The hash, size and kind stay plain (bundles prove them); where the file is kept, its
        # original name and the note may name the complainant: sealed under their key.
        self.attachments.append((sha256, size, str(kind), self.version + 1, filename))
        self._log("evidence", occurred_at)

    def close(
        self,
        stamp: Stamp,
        now: datetime,
        root_cause: SealedText,
        improvement: SealedText,
        cause: Cause | None = None,
    ) -> None:
        """Close the case; ``cause`` (checked by the handler) overrides the triage's."""
        self._check_open(stamp, now, "close")
        if self.executed_at is None:
            raise OutOfOrder(f"{self.ref}: the resolution has not been executed; cannot close")
        if self.outcome_at is None:
            raise OutOfOrder(
                f"{self.ref}: the outcome has not been communicated to the complainant; "
                "cannot close"
            )
        if self.severity in ESCALATING_SEVERITIES and self.signed_off_at is None:
            raise SignOffRequired(
                f"{self.ref} is {self.severity}: the leadership group must be reported the "
                "result and sign it off (sign-off) before it can be closed"
            )
        self._check_time("closed", stamp)
        self._closed(
            *_parts(stamp),
            root_cause=root_cause,
            improvement=improvement,
            cause=None if cause is None else cause.code,
            codes_version=None if cause is None else cause.version,
        )

    class Closed(Aggregate.Event):
        """Version 2: ``root_cause`` and ``improvement`` sealed. Version 3: the cause code
        (``cause``) and the version of the code list it was checked against
        (``codes_version``), both optional; the free-text root cause stays sealed beside."""

        class_version = 3
        actor: Actor
        occurred_at: datetime
        command_id: str
        root_cause: Text
        improvement: Text
        cause: str | None
        codes_version: str | None

        @staticmethod
        def upcast_v1_v2(state: dict[str, Any]) -> None:
            legacy_text(state, "root_cause", "improvement")

        @staticmethod
        def upcast_v2_v3(state: dict[str, Any]) -> None:
            state["cause"] = None
            state["codes_version"] = None

    @event(Closed)
    def _closed(
        self,
        actor: Actor,
        occurred_at: datetime,
        command_id: str,
        root_cause: Text,
        improvement: Text,
        cause: str | None = None,
        codes_version: str | None = None,
    ) -> None:
        self.status = Status.CLOSED
        self._set_time("closed_at", occurred_at)
        self.root_cause = root_cause
        self.improvement = improvement
        self._set_cause(cause, codes_version)
        self._log("closed", occurred_at)

    def reopen(
        self,
        stamp: Stamp,
        now: datetime,
        reason: SealedText,
        restarts: tuple[ClockName, ...] = (),
    ) -> None:
        """Reopen a closed case: a new round of investigation, plan, execution and summary,
        and new runs of the clocks in ``restarts`` (the policy's ``reopen_restarts``); a
        restarted intake clock needs a new triage before findings."""
        self._check_recordable(stamp, now, "reopen")
        if self.status is not Status.CLOSED:
            raise ComplaintNotClosed(
                f"{self.ref} is not closed; only a closed case can be reopened"
            )
        self._check_time("reopened", stamp)
        self._reopened(*_parts(stamp), reason=reason)
        if restarts:
            self._clocks_restarted(*_parts(stamp), clocks=[str(c) for c in restarts])

    class Reopened(Aggregate.Event):
        """Version 2: ``reason`` sealed."""

        class_version = 2
        actor: Actor
        occurred_at: datetime
        command_id: str
        reason: Text

        @staticmethod
        def upcast_v1_v2(state: dict[str, Any]) -> None:
            legacy_text(state, "reason")

    @event(Reopened)
    def _reopened(self, actor: Actor, occurred_at: datetime, command_id: str, reason: Text) -> None:
        self.status = Status.OPEN
        self.reopened_count += 1
        self._set_time("reopened_at", occurred_at)
        for name in (
            "findings_at", "planned_at", "executed_at", "outcome_at", "closed_at", "signed_off_at",
        ):  # fmt: skip
            self._set_time(name, None)
        self._log("reopened", occurred_at)

    @event("ClocksRestarted")
    def _clocks_restarted(
        self, actor: Actor, occurred_at: datetime, command_id: str, clocks: list[str]
    ) -> None:
        restarted = frozenset(ClockName(c) for c in clocks)
        reopening = self.timeline[-1]
        self.timeline[-1] = replace(reopening, restarts=reopening.restarts | restarted)
        if ClockName.INTAKE in restarted:
            self._set_time("triaged_at", None)  # the reopened complaint is judged again

    def withdraw(self, stamp: Stamp, now: datetime, reason: SealedText) -> None:
        self._check_open(stamp, now, "withdraw")
        self._check_time("withdrawn", stamp)
        self._withdrawn(*_parts(stamp), reason=reason)

    class Withdrawn(Aggregate.Event):
        """Version 2: ``reason`` sealed."""

        class_version = 2
        actor: Actor
        occurred_at: datetime
        command_id: str
        reason: Text

        @staticmethod
        def upcast_v1_v2(state: dict[str, Any]) -> None:
            legacy_text(state, "reason")

    @event(Withdrawn)
    def _withdrawn(
        self, actor: Actor, occurred_at: datetime, command_id: str, reason: Text
    ) -> None:
        self.status = Status.WITHDRAWN
        self._set_time("withdrawn_at", occurred_at)
        self._log("withdrawn", occurred_at)

    def extend(
        self,
        stamp: Stamp,
        now: datetime,
        clock: ClockName,
        days: int,
        reason: SealedText,
        approved_by: str,
        policy: Policy,
        calendar: WorkCalendar,
        approver_vouched: bool = False,
    ) -> None:
        """Extend the run of ``clock`` in progress at the extension's date: only while it runs
        and before it lapses, so that an extension never turns a breach into a met deadline.
        ``approver_vouched``: the staff directory has vouched that the approver is a leader."""
        self._check_open(stamp, now, "extend")
        if not approver_vouched:
            _check_approver(stamp, approved_by, "an extension", ExtensionRefused)
        self._check_time("extended", stamp)
        window = extension_window(self.facts, policy, calendar, clock, stamp.occurred_at)
        assert window is not None  # every clock runs from receipt
        _check_window(window, stamp.occurred_at, stopped_by_then=False)
        check_extension(policy, clock, days, list(window.previous_days), approved_by)
        self._deadline_extended(
            *_parts(stamp), clock=clock, days=days, reason=reason, approved_by=approved_by
        )

    class DeadlineExtended(Aggregate.Event):
        """Version 2: ``reason`` sealed."""

        class_version = 2
        actor: Actor
        occurred_at: datetime
        command_id: str
        clock: str
        days: int
        reason: Text
        approved_by: str

        @staticmethod
        def upcast_v1_v2(state: dict[str, Any]) -> None:
            legacy_text(state, "reason")

    @event(DeadlineExtended)
    def _deadline_extended(
        self,
        actor: Actor,
        occurred_at: datetime,
        command_id: str,
        clock: str,
        days: int,
        reason: Text,
        approved_by: str,
    ) -> None:
        self.extensions.append((ClockName(clock), days, self.reopened_count))
        self._log("extended", occurred_at, clock=ClockName(clock), days=days)

    def pause(self, stamp: Stamp, now: datetime, reason: SealedText, allowed: bool) -> None:
        self._check_open(stamp, now, "pause")
        if not allowed:
            raise PauseNotAllowed(
                f"the SLA policy {self.policy_version} of {self.ref} does not let its clocks pause"
            )
        if self.paused_since is not None:
            raise OutOfOrder(f"{self.ref}: clocks are already paused since {self.paused_since}")
        self._check_time("paused", stamp)
        self._clocks_paused(*_parts(stamp), reason=reason)

    class ClocksPaused(Aggregate.Event):
        """Version 2: ``reason`` sealed."""

        class_version = 2
        actor: Actor
        occurred_at: datetime
        command_id: str
        reason: Text

        @staticmethod
        def upcast_v1_v2(state: dict[str, Any]) -> None:
            legacy_text(state, "reason")

    @event(ClocksPaused)
    def _clocks_paused(
        self, actor: Actor, occurred_at: datetime, command_id: str, reason: Text
    ) -> None:
        self._set_time("paused_since", occurred_at)
        self._log("paused", occurred_at)

    def resume(self, stamp: Stamp, now: datetime, reason: SealedText) -> None:
        self._check_open(stamp, now, "resume")
        if self.paused_since is None:
            raise OutOfOrder(f"{self.ref}: clocks are not paused")
        self._check_time("resumed", stamp)
        self._clocks_resumed(*_parts(stamp), reason=reason)

    class ClocksResumed(Aggregate.Event):
        """Version 2: ``reason`` sealed."""

        class_version = 2
        actor: Actor
        occurred_at: datetime
        command_id: str
        reason: Text

        @staticmethod
        def upcast_v1_v2(state: dict[str, Any]) -> None:
            legacy_text(state, "reason")

    @event(ClocksResumed)
    def _clocks_resumed(
        self, actor: Actor, occurred_at: datetime, command_id: str, reason: Text
    ) -> None:
        self._set_time("paused_since", None)
        self._log("resumed", occurred_at)

    def add_note(self, stamp: Stamp, now: datetime, text: SealedText) -> None:
        self._check_recordable(stamp, now, "add-note")
        self._check_time("note", stamp)
        self._note_added(*_parts(stamp), text=text)

    class NoteAdded(Aggregate.Event):
        """Version 2: ``text`` sealed."""

        class_version = 2
        actor: Actor
        occurred_at: datetime
        command_id: str
        text: Text

        @staticmethod
        def upcast_v1_v2(state: dict[str, Any]) -> None:
            legacy_text(state, "text")

    @event(NoteAdded)
    def _note_added(self, actor: Actor, occurred_at: datetime, command_id: str, text: Text) -> None:
        self.notes += 1
        self._log("note", occurred_at)

    def link(
        self, stamp: Stamp, now: datetime, other: str, reason: SealedText, linked_back: bool
    ) -> None:
        """Link this complaint to ``other``, about the same incident (allowed after closure).
        ``linked_back``: ``other`` already names this one among its links."""
        self._check_recordable(stamp, now, "link")
        if other == self.ref:
            raise LinkRefused(f"{self.ref} cannot be linked to itself")
        if other in self.links or linked_back:
            raise LinkRefused(f"{self.ref} and {other} are already linked")
        self._check_time("linked", stamp)
        self._complaint_linked(*_parts(stamp), other=other, reason=reason)

    @event("ComplaintLinked")
    def _complaint_linked(
        self, actor: Actor, occurred_at: datetime, command_id: str, other: str, reason: Text
    ) -> None:
        self.links.append(other)
        self._log("linked", occurred_at)

    def correct(
        self,
        stamp: Stamp,
        now: datetime,
        version: int,
        corrected_at: datetime,
        reason: SealedText,
        approved_by: str,
        policy: Policy,
        calendar: WorkCalendar,
        approver_vouched: bool = False,
    ) -> None:
        """Re-date action ``version`` (one the clocks are judged on) to ``corrected_at``:
        leadership's decision, allowed in any status, within the bounds of the time rule.
        ``approver_vouched``: the staff directory has vouched that the approver is a leader."""
        _check_not_future(stamp.occurred_at, now)
        if not approver_vouched:
            _check_approver(stamp, approved_by, "a correction", CorrectionRefused)
        target = next((f for f in self.timeline if f.version == version), None)
        if target is None or target.kind not in CLOCK_KINDS:
            what = "no such event" if target is None else f"event {version} is {_word(target)}"
            raise CorrectionRefused(
                f"{self.ref}: {what}; only the receipt's intake record and the actions the "
                "clocks are judged on can be re-dated"
            )
        _check_not_future(corrected_at, now)
        if corrected_at == target.at:
            raise CorrectionRefused(
                f"event {version} is already dated {target.at.isoformat()}; nothing to correct"
            )
        check_correction(self.received_at, self.timeline, version, corrected_at)
        if target.kind == "extended":
            assert target.clock is not None
            others = CaseFacts(
                self.received_at,
                tuple(f for f in self.timeline if f.version != version),
                tuple(self.corrections),
            )
            window = extension_window(others, policy, calendar, target.clock, corrected_at)
            if window is not None:
                _check_window(window, corrected_at, stopped_by_then=True)
        self._occurrence_corrected(
            *_parts(stamp),
            event=version,
            corrected_occurred_at=corrected_at,
            previous_occurred_at=target.at,
            reason=reason,
            approved_by=approved_by,
        )

    class OccurrenceCorrected(Aggregate.Event):
        """Version 2: ``reason`` sealed."""

        class_version = 2
        actor: Actor
        occurred_at: datetime
        command_id: str
        event: int
        corrected_occurred_at: datetime
        previous_occurred_at: datetime
        reason: Text
        approved_by: str

        @staticmethod
        def upcast_v1_v2(state: dict[str, Any]) -> None:
            legacy_text(state, "reason")

    @event(OccurrenceCorrected)
    def _occurrence_corrected(
        self,
        actor: Actor,
        occurred_at: datetime,
        command_id: str,
        event: int,
        corrected_occurred_at: datetime,
        previous_occurred_at: datetime,
        reason: Text,
        approved_by: str,
    ) -> None:
        self.corrections.append(Correction(self.version + 1, event, corrected_occurred_at))
        self.timeline = [
            replace(f, at=corrected_occurred_at) if f.version == event else f for f in self.timeline
        ]
        for name, version in list(self.set_by.items()):
            if version == event:
                setattr(self, name, corrected_occurred_at)
        for item in self.improvements.values():
            item.redate(event, corrected_occurred_at)
        self.last_activity_at = max(f.at for f in self.timeline)

    def erase_personal_data(self, stamp: Stamp, now: datetime, reason: str) -> None:
        """Destroy the key of the complainant's personal data (allowed in any status)."""
        _check_not_future(stamp.occurred_at, now)
        if stamp.occurred_at < self.received_at:
            raise OccurredTooEarly(
                f"occurred_at {stamp.occurred_at.isoformat()} is before the complaint was "
                f"received ({self.received_at.isoformat()})"
            )
        if self.personal_data_erased:
            raise AlreadyErased(f"{self.ref}: the complainant's personal data was already erased")
        self._personal_data_erased(*_parts(stamp), reason=reason, key_id=self.complainant.key_id)
        self.key_changes.destroyed.append(self.complainant.key_id)

    @event("PersonalDataErased")
    def _personal_data_erased(
        self, actor: Actor, occurred_at: datetime, command_id: str, reason: str, key_id: str
    ) -> None:
        self.personal_data_erased = True

    # ------------------------------------------------------------------ alerts

    def record_alert(
        self, stamp: Stamp, now: datetime, alert: AlertFields, sent: bool, error: str | None
    ) -> None:
        """Record that an alert about this complaint was sent (or failed for good): allowed
        in any status, and no action on the case (the clocks and the time rule ignore it)."""
        _check_not_future(stamp.occurred_at, now)
        if stamp.occurred_at < self.received_at:
            raise OccurredTooEarly(
                f"occurred_at {stamp.occurred_at.isoformat()} is before the complaint was "
                f"received ({self.received_at.isoformat()})"
            )
        if sent:
            self._alert_sent(*_parts(stamp), **alert.as_fields())
        else:
            self._alert_failed(*_parts(stamp), **alert.as_fields(), error=error or "")

    @event("AlertSent")
    def _alert_sent(
        self, actor: Actor, occurred_at: datetime, command_id: str, rule: str, clock: str,
        recipient: str, address: str, channel: str, attempts: int,
    ) -> None:  # fmt: skip
        self.alerted.add((rule, clock, recipient, channel))  # the case's state is unchanged

    @event("AlertFailed")
    def _alert_failed(
        self, actor: Actor, occurred_at: datetime, command_id: str, rule: str, clock: str,
        recipient: str, address: str, channel: str, attempts: int, error: str,
    ) -> None:  # fmt: skip
        self.alerted.add((rule, clock, recipient, channel))


def _parts(stamp: Stamp) -> tuple[Actor, datetime, str]:
    return stamp.actor, stamp.occurred_at, stamp.command_id


def _check_not_future(moment: datetime, now: datetime) -> None:
    if moment > now + CLOCK_SKEW:
        raise OccurredInFuture(f"occurred_at {moment.isoformat()} is in the future")


def _word(fact: Fact) -> str:
    return f"{WORDS.get(fact.kind, fact.kind).removeprefix('the ')}"


def _check_approver(
    stamp: Stamp, approved_by: str, what: str, error: type[ExtensionRefused | CorrectionRefused]
) -> None:
    """Without a staff directory to vouch for the approver, the approving leader must be the
    one who records the action (issue 12's rule until the directory existed)."""
    actor = stamp.actor
    if actor.role is not Role.LEADERSHIP or approved_by.strip() != actor.id:
        raise error(
            f"{what} is approved by the leadership member who records it: approved_by "
            f"{approved_by!r} is not {actor.id!r} ({actor.role})"
        )


def _check_window(window: Window, at: datetime, stopped_by_then: bool) -> None:
    """An extension dated ``at`` must find its clock's run still running and not yet due."""
    name, stop = window.run.name, window.stop
    if stop is not None and (not stopped_by_then or stop.at <= at):
        raise ExtensionRefused(
            f"the {name} clock stopped at {stop.at.isoformat()} ({_word(stop)}, event "
            f"{stop.version}); a clock that has stopped cannot be extended"
        )
    if window.verdict.status == "overdue":
        raise ExtensionRefused(
            f"the {name} clock was due at {window.verdict.due_at.isoformat()}; an extension "
            f"dated {at.isoformat()} comes after it lapsed"
        )


# Stored before ledger/ was split into packages; see ledger.domain.topics.
keep_topics(Complaint, "ledger.complaint")

# The version of each event's stored shape (docs/design.md, "Evolving events"): a new shape
# bumps it here and on the class, with an upcaster; ledger.domain.events checks both.
register(
    Complaint,
    {
        "Received": 2,
        "Triaged": 3,
        "Escalated": 2,
        "Assigned": 1,
        "CustomerContacted": 2,
        "FindingsRecorded": 2,
        "ResolutionPlanned": 1,
        "ResolutionExecuted": 2,
        "OutcomeCommunicated": 2,
        "CallbackRecorded": 2,
        "Closed": 3,
        "Reopened": 2,
        "ClocksRestarted": 1,
        "Withdrawn": 2,
        "DeadlineExtended": 2,
        "ClocksPaused": 2,
        "ClocksResumed": 2,
        "NoteAdded": 2,
        "OccurrenceCorrected": 2,
        "PersonalDataErased": 1,
        "AlertSent": 1,
        "AlertFailed": 1,
        "EscalationAddressed": 1,
        "EscalationAcknowledged": 1,
        "LeadershipInstructed": 1,
        "SignedOff": 1,
        "AccountabilityRecorded": 1,
        "AgencyNamed": 1,
        "ImprovementAdded": 1,
        "ImprovementCompleted": 1,
        "RegulatorReplied": 1,
        "ComplaintLinked": 1,
        "EvidenceAttached": 1,
        "CallbackNotReached": 1,
    },
)
