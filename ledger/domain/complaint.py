"""The Complaint aggregate: one complaint's life, from receipt to closure.

Public methods check the rules and raise a ``LedgerError`` subclass before
anything happens; the ``@event`` bodies only apply facts, because they run
again on every replay. This module holds the events (their classes, shapes and
``@event`` bodies), which must stay on the class; the public methods live by concern in
``ledger.domain.actions`` and are bound here.

Free text reaches the aggregate already sealed under the complaint's key (``SealedText``);
events written before that (class version 1) held it in plain and are upcast to
``LegacyText`` as they are read: their stored bytes never change.
"""

from __future__ import annotations

import uuid
from dataclasses import replace
from datetime import datetime
from decimal import Decimal
from typing import Any

from eventsourcing.domain import Aggregate, event

from ledger.domain import timerule
from ledger.domain.actions import clocks, intake, leadership, records, stages
from ledger.domain.events import register
from ledger.domain.facts import CaseFacts, Correction, Fact
from ledger.domain.improvements import Improvement
from ledger.domain.sealed import KeyChanges, SealedComplainant, Text, legacy_text
from ledger.domain.topics import keep_topics
from ledger.domain.values import (
    Actor,
    Channel,
    ClockName,
    Remedy,
    RemedyKind,
    Severity,
    Stage,
    Status,
    Substantiated,
    reference_id,
)

# Escalation's words, defined with escalation (ledger.domain.actions.intake); importable here
# as before.
LEADERSHIP_GROUP = intake.LEADERSHIP_GROUP
PUBLIC_ATTENTION = intake.PUBLIC_ATTENTION


class Complaint(Aggregate):
    """A complaint about debt collection and everything done about it."""

    @staticmethod
    def create_id(ref: str) -> uuid.UUID:
        return reference_id(ref)

    # ------------------------------------------------------------------ receipt

    receive = classmethod(intake.receive)

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
        # The regulator's business type (业务类别) and business channel (业务办理渠道) last
        # given, each on its own (triage, then close).
        self.business_type: str | None = None
        self.business_channel: str | None = None
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
        # The time rule's fold of the timeline (``time_fold``): made when a command is first
        # checked, then kept up to date with the timeline (``_log``) so that each command is
        # checked in constant time (ledger.domain.timerule.check_next). None until then, and
        # after a correction or a restart changes facts already folded: a replay for reading
        # does not pay for it.
        self._time_fold: timerule.Fold | None = None
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
    def time_fold(self) -> timerule.Fold:
        """The time rule's fold of the timeline, as ``timerule.fold`` makes it."""
        if self._time_fold is None:
            self._time_fold = timerule.fold(self.received_at, self.timeline)
        return self._time_fold

    @property
    def facts(self) -> CaseFacts:
        """The facts the clocks are judged on, by date (the recording times are not known
        here: the rules the aggregate enforces depend on dates alone)."""
        return CaseFacts(self.received_at, tuple(self.timeline), tuple(self.corrections))

    # ------------------------------------------------------------------ applying events

    def _log(self, kind: str, occurred_at: datetime, **fields: Any) -> None:
        """Note the action being applied (in an ``@event`` body: its version is the next)."""
        fact = Fact(kind, self.version + 1, occurred_at, **fields)
        self.timeline.append(fact)
        if self._time_fold is not None:
            self._time_fold.add(fact)
        self.last_activity_at = max(self.last_activity_at, occurred_at)

    def _set_cause(self, cause: str | None, codes_version: str | None) -> None:
        if cause is not None:  # an action without a code keeps the one given before
            self.cause_code, self.codes_version = cause, codes_version

    def _set_business(self, business_type: str | None, business_channel: str | None) -> None:
        # Each code given overrides the one given before; one not given keeps it.
        if business_type is not None:
            self.business_type = business_type
        if business_channel is not None:
            self.business_channel = business_channel

    def _set_time(self, name: str, occurred_at: datetime | None) -> None:
        setattr(self, name, occurred_at)
        if occurred_at is None:
            self.set_by.pop(name, None)
        else:
            self.set_by[name] = self.version + 1

    # ------------------------------------------------------------------ commands
    # Each checks the rules, then records with the @event methods below (ledger.domain.actions).

    triage = intake.triage
    escalate = intake.escalate
    raise_escalation = intake.raise_escalation
    name_agency = intake.name_agency
    assign = intake.assign
    acknowledge = leadership.acknowledge
    instruct = leadership.instruct
    sign_off = leadership.sign_off
    record_accountability = leadership.record_accountability
    add_improvement = leadership.add_improvement
    complete_improvement = leadership.complete_improvement
    contact = stages.contact
    record_findings = stages.record_findings
    plan = stages.plan
    execute = stages.execute
    notify_outcome = stages.notify_outcome
    record_callback = stages.record_callback
    record_unreached_callback = stages.record_unreached_callback
    close = stages.close
    reopen = stages.reopen
    withdraw = stages.withdraw
    extend = clocks.extend
    pause = clocks.pause
    resume = clocks.resume
    correct = clocks.correct
    reply_regulator = records.reply_regulator
    add_note = records.add_note
    link = records.link
    attach_evidence = records.attach_evidence
    erase_personal_data = records.erase_personal_data
    record_alert = records.record_alert

    # ------------------------------------------------------------------ events

    class Triaged(Aggregate.Event):
        """Version 2: ``assessment`` sealed. Version 3: the cause code (``cause``) and the
        version of the code list it was checked against (``codes_version``), both optional.
        Version 4: the regulator's business type and business channel (``business_type``,
        ``business_channel``), both optional, checked against that same list."""

        class_version = 4
        actor: Actor
        occurred_at: datetime
        command_id: str
        severity: str
        category: str
        assessment: Text
        cause: str | None
        codes_version: str | None
        business_type: str | None
        business_channel: str | None

        @staticmethod
        def upcast_v1_v2(state: dict[str, Any]) -> None:
            legacy_text(state, "assessment")

        @staticmethod
        def upcast_v2_v3(state: dict[str, Any]) -> None:
            state["cause"] = None
            state["codes_version"] = None

        @staticmethod
        def upcast_v3_v4(state: dict[str, Any]) -> None:
            state["business_type"] = None
            state["business_channel"] = None

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
        business_type: str | None = None,
        business_channel: str | None = None,
    ) -> None:
        self.severity = Severity(severity)
        self.category = category
        self.assessment = assessment
        self._set_cause(cause, codes_version)
        self._set_business(business_type, business_channel)
        self._set_time("triaged_at", occurred_at)
        self._log("triaged", occurred_at)

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

    @event("AgencyNamed")
    def _agency_named(
        self, actor: Actor, occurred_at: datetime, command_id: str, agency: str
    ) -> None:
        # Its own event beside Received or Triaged (whose stored shapes stay as they were).
        self.agency = agency
        self._log("agency", occurred_at)

    @event("EscalationAcknowledged")
    def _escalation_acknowledged(
        self, actor: Actor, occurred_at: datetime, command_id: str
    ) -> None:
        self.acknowledged = self.escalations
        self._log("acknowledged", occurred_at)

    @event("LeadershipInstructed")
    def _leadership_instructed(
        self, actor: Actor, occurred_at: datetime, command_id: str, text: Text
    ) -> None:
        self.instructions += 1
        self._log("instructed", occurred_at)

    @event("SignedOff")
    def _signed_off(self, actor: Actor, occurred_at: datetime, command_id: str, text: Text) -> None:
        self._set_time("signed_off_at", occurred_at)
        self._log("signed_off", occurred_at)

    @event("AccountabilityRecorded")
    def _accountability_recorded(
        self, actor: Actor, occurred_at: datetime, command_id: str, staff: str,
        team: str | None, finding: Text, decision: Text,
    ) -> None:  # fmt: skip
        self.accountability += 1
        self._log("accountability", occurred_at)

    @event("ImprovementAdded")
    def _improvement_added(
        self, actor: Actor, occurred_at: datetime, command_id: str, improvement_id: str,
        measure: Text, owner: str, due: datetime,
    ) -> None:  # fmt: skip
        self.improvements[improvement_id] = Improvement(
            improvement_id, measure, owner, due, occurred_at, self.version + 1
        )
        self._log("improvement", occurred_at, item=improvement_id, due=due)

    @event("ImprovementCompleted")
    def _improvement_completed(
        self, actor: Actor, occurred_at: datetime, command_id: str, improvement_id: str,
        note: Text | None,
    ) -> None:  # fmt: skip
        found = self.improvements[improvement_id]
        found.done_at, found.done_by, found.note = occurred_at, actor.id, note
        found.done_version = self.version + 1
        self._log("improved", occurred_at, item=improvement_id)

    @event("RegulatorReplied")
    def _regulator_replied(
        self, actor: Actor, occurred_at: datetime, command_id: str, summary: Text
    ) -> None:
        if self.regulator_replied_at is None:
            self.regulator_replied_at = occurred_at
        self._log("replied", occurred_at)

    @event("Assigned")
    def _assigned(
        self, actor: Actor, occurred_at: datetime, command_id: str, handler: str, team: str
    ) -> None:
        self.handler = handler
        self.team = team
        self._log("assigned", occurred_at)

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

    @event("ResolutionPlanned")
    def _resolution_planned(
        self, actor: Actor, occurred_at: datetime, command_id: str, remedies: list[Remedy]
    ) -> None:
        self.remedies = list(remedies)
        self._set_time("planned_at", occurred_at)
        self._set_time("executed_at", None)
        self._log("planned", occurred_at)

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

    @event("CallbackNotReached")
    def _callback_not_reached(
        self, actor: Actor, occurred_at: datetime, command_id: str, comment: Text
    ) -> None:
        # Its own event beside CallbackRecorded (whose stored shape keeps its satisfaction).
        self.unreached_callbacks += 1
        self._log("callback", occurred_at)

    @event("EvidenceAttached")
    def _evidence_attached(
        self, actor: Actor, occurred_at: datetime, command_id: str, sha256: str, size: int,
        kind: str, location: Text, filename: Text | None, note: Text | None,
    ) -> None:  # fmt: skip
        # The hash, size and kind stay plain (bundles prove them); where the file is kept, its
        # original name and the note may name the complainant: sealed under their key.
        self.attachments.append((sha256, size, str(kind), self.version + 1, filename))
        self._log("evidence", occurred_at)

    class Closed(Aggregate.Event):
        """Version 2: ``root_cause`` and ``improvement`` sealed. Version 3: the cause code
        (``cause``) and the version of the code list it was checked against
        (``codes_version``), both optional; the free-text root cause stays sealed beside.
        Version 4: the regulator's business type and business channel (``business_type``,
        ``business_channel``), both optional, checked against that same list."""

        class_version = 4
        actor: Actor
        occurred_at: datetime
        command_id: str
        root_cause: Text
        improvement: Text
        cause: str | None
        codes_version: str | None
        business_type: str | None
        business_channel: str | None

        @staticmethod
        def upcast_v1_v2(state: dict[str, Any]) -> None:
            legacy_text(state, "root_cause", "improvement")

        @staticmethod
        def upcast_v2_v3(state: dict[str, Any]) -> None:
            state["cause"] = None
            state["codes_version"] = None

        @staticmethod
        def upcast_v3_v4(state: dict[str, Any]) -> None:
            state["business_type"] = None
            state["business_channel"] = None

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
        business_type: str | None = None,
        business_channel: str | None = None,
    ) -> None:
        self.status = Status.CLOSED
        self._set_time("closed_at", occurred_at)
        self.root_cause = root_cause
        self.improvement = improvement
        self._set_cause(cause, codes_version)
        self._set_business(business_type, business_channel)
        self._log("closed", occurred_at)

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
        self._time_fold = None  # it holds the reopening's fact: made again when next needed
        if ClockName.INTAKE in restarted:
            self._set_time("triaged_at", None)  # the reopened complaint is judged again

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

    @event("ComplaintLinked")
    def _complaint_linked(
        self, actor: Actor, occurred_at: datetime, command_id: str, other: str, reason: Text
    ) -> None:
        self.links.append(other)
        self._log("linked", occurred_at)

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
        self._time_fold = None  # an action re-dated: folded again when next needed
        for name, version in list(self.set_by.items()):
            if version == event:
                setattr(self, name, corrected_occurred_at)
        for item in self.improvements.values():
            item.redate(event, corrected_occurred_at)
        self.last_activity_at = max(f.at for f in self.timeline)

    @event("PersonalDataErased")
    def _personal_data_erased(
        self, actor: Actor, occurred_at: datetime, command_id: str, reason: str, key_id: str
    ) -> None:
        self.personal_data_erased = True

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


# Stored before ledger/ was split into packages; see ledger.domain.topics.
keep_topics(Complaint, "ledger.complaint")

# The version of each event's stored shape (docs/design.md, "Evolving events"): a new shape
# bumps it here and on the class, with an upcaster; ledger.domain.events checks both.
register(
    Complaint,
    {
        "Received": 2,
        "Triaged": 4,
        "Escalated": 2,
        "Assigned": 1,
        "CustomerContacted": 2,
        "FindingsRecorded": 2,
        "ResolutionPlanned": 1,
        "ResolutionExecuted": 2,
        "OutcomeCommunicated": 2,
        "CallbackRecorded": 2,
        "Closed": 4,
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
