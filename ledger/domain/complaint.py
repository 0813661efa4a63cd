"""The Complaint aggregate: one complaint's life, from receipt to closure.

Public methods check the rules and raise a ``LedgerError`` subclass before
anything happens; the ``@event`` bodies only apply facts, because they run
again on every replay.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from decimal import Decimal

from eventsourcing.domain import Aggregate, event

from ledger.domain.errors import (
    AlreadyErased,
    ComplaintClosed,
    ComplaintNotClosed,
    ComplaintWithdrawn,
    OccurredInFuture,
    OccurredTooEarly,
    OutOfOrder,
    PauseNotAllowed,
)
from ledger.domain.policy import Policy, check_extension
from ledger.domain.sealed import KeyChanges, PersonKey, SealedComplainant
from ledger.domain.topics import keep_topics
from ledger.domain.values import (
    Actor,
    Channel,
    ClockName,
    ContactChannel,
    Remedy,
    RemedyKind,
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
        account_ref: str | None,
        collector: str | None,
        content: str,
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

    @event("Received")
    def __init__(
        self,
        *,
        ref: str,
        channel: str,
        received_at: datetime,
        complainant: SealedComplainant,
        account_ref: str | None,
        collector: str | None,
        content: str,
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
        self.assessment: str | None = None
        self.escalated = False
        self.handler: str | None = None
        self.team: str | None = None
        self.contacts = 0
        self.triaged_at: datetime | None = None
        self.substantiated: Substantiated | None = None
        self.findings: str | None = None
        self.evidence: list[str] = []
        self.findings_at: datetime | None = None
        self.remedies: list[Remedy] = []
        self.planned_at: datetime | None = None
        self.executed_at: datetime | None = None
        self.outcome_at: datetime | None = None
        self.outcome_ever_communicated = False
        self.satisfaction: int | None = None
        self.closed_at: datetime | None = None
        self.root_cause: str | None = None
        self.improvement: str | None = None
        self.reopened_count = 0
        self.reopened_at: datetime | None = None
        self.withdrawn_at: datetime | None = None
        self.extensions: list[tuple[ClockName, int, int]] = []
        self.paused_since: datetime | None = None
        self.notes = 0
        self.last_activity_at = occurred_at
        self.personal_data_erased = False
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
        self._check_not_before(stamp, self.received_at, "the complaint was received")
        if self.reopened_at is not None:
            self._check_not_before(stamp, self.reopened_at, "the complaint was reopened")

    def _check_not_before(self, stamp: Stamp, moment: datetime | None, what: str) -> None:
        if moment is not None and stamp.occurred_at < moment:
            raise OccurredTooEarly(
                f"occurred_at {stamp.occurred_at.isoformat()} is before {what} "
                f"({moment.isoformat()})"
            )

    # ------------------------------------------------------------------ commands

    def triage(
        self, stamp: Stamp, now: datetime, severity: Severity, category: str, assessment: str
    ) -> None:
        self._check_open(stamp, now, "triage")
        self._triaged(*_parts(stamp), severity=severity, category=category, assessment=assessment)
        if severity in ESCALATING_SEVERITIES and not self.escalated:
            self._escalated(*_parts(stamp), reason=f"triaged as {severity}", automatic=True)

    @event("Triaged")
    def _triaged(
        self,
        actor: Actor,
        occurred_at: datetime,
        command_id: str,
        severity: str,
        category: str,
        assessment: str,
    ) -> None:
        self.severity = Severity(severity)
        self.category = category
        self.assessment = assessment
        self.triaged_at = occurred_at
        self._touch(occurred_at)

    def escalate(self, stamp: Stamp, now: datetime, reason: str) -> None:
        self._check_open(stamp, now, "escalate")
        self._escalated(*_parts(stamp), reason=reason, automatic=False)

    @event("Escalated")
    def _escalated(
        self, actor: Actor, occurred_at: datetime, command_id: str, reason: str, automatic: bool
    ) -> None:
        self.escalated = True
        self._touch(occurred_at)

    def assign(self, stamp: Stamp, now: datetime, handler: str, team: str) -> None:
        self._check_open(stamp, now, "assign")
        self._assigned(*_parts(stamp), handler=handler, team=team)

    @event("Assigned")
    def _assigned(
        self, actor: Actor, occurred_at: datetime, command_id: str, handler: str, team: str
    ) -> None:
        self.handler = handler
        self.team = team
        self._touch(occurred_at)

    def contact(
        self, stamp: Stamp, now: datetime, channel: ContactChannel, reached: bool, summary: str
    ) -> None:
        self._check_open(stamp, now, "contact")
        self._contacted(*_parts(stamp), channel=channel, reached=reached, summary=summary)

    @event("CustomerContacted")
    def _contacted(
        self,
        actor: Actor,
        occurred_at: datetime,
        command_id: str,
        channel: str,
        reached: bool,
        summary: str,
    ) -> None:
        self.contacts += 1
        self._touch(occurred_at)

    def record_findings(
        self,
        stamp: Stamp,
        now: datetime,
        substantiated: Substantiated,
        findings: str,
        evidence: tuple[str, ...],
    ) -> None:
        self._check_open(stamp, now, "record-findings")
        if self.triaged_at is None:
            raise OutOfOrder(
                f"{self.ref} has not been triaged; triage it before recording findings"
            )
        self._check_not_before(stamp, self.triaged_at, "the triage")
        self._findings_recorded(
            *_parts(stamp), substantiated=substantiated, findings=findings, evidence=list(evidence)
        )

    @event("FindingsRecorded")
    def _findings_recorded(
        self,
        actor: Actor,
        occurred_at: datetime,
        command_id: str,
        substantiated: str,
        findings: str,
        evidence: list[str],
    ) -> None:
        self.substantiated = Substantiated(substantiated)
        self.findings = findings
        self.evidence = list(evidence)
        self.findings_at = occurred_at
        self._touch(occurred_at)

    def plan(self, stamp: Stamp, now: datetime, remedies: tuple[Remedy, ...]) -> None:
        self._check_open(stamp, now, "plan")
        if self.findings_at is None:
            raise OutOfOrder(f"{self.ref} has no findings yet; record findings before a plan")
        self._check_not_before(stamp, self.findings_at, "the findings")
        self._resolution_planned(*_parts(stamp), remedies=list(remedies))

    @event("ResolutionPlanned")
    def _resolution_planned(
        self, actor: Actor, occurred_at: datetime, command_id: str, remedies: list[Remedy]
    ) -> None:
        self.remedies = list(remedies)
        self.planned_at = occurred_at
        self.executed_at = None
        self._touch(occurred_at)

    def execute(self, stamp: Stamp, now: datetime, detail: str) -> None:
        self._check_open(stamp, now, "execute")
        if self.planned_at is None:
            raise OutOfOrder(f"{self.ref} has no resolution plan; plan before executing")
        if self.executed_at is not None:
            raise OutOfOrder(f"{self.ref}: the current plan was already executed")
        self._check_not_before(stamp, self.planned_at, "the plan")
        self._resolution_executed(*_parts(stamp), detail=detail)

    @event("ResolutionExecuted")
    def _resolution_executed(
        self, actor: Actor, occurred_at: datetime, command_id: str, detail: str
    ) -> None:
        self.executed_at = occurred_at
        self._touch(occurred_at)

    def notify_outcome(
        self, stamp: Stamp, now: datetime, channel: ContactChannel, summary: str
    ) -> None:
        self._check_open(stamp, now, "notify-outcome")
        if self.planned_at is None:
            raise OutOfOrder(
                f"{self.ref} has no resolution plan; there is no outcome to communicate yet"
            )
        self._check_not_before(stamp, self.planned_at, "the plan")
        self._outcome_communicated(*_parts(stamp), channel=channel, summary=summary)

    @event("OutcomeCommunicated")
    def _outcome_communicated(
        self, actor: Actor, occurred_at: datetime, command_id: str, channel: str, summary: str
    ) -> None:
        self.outcome_at = occurred_at
        self.outcome_ever_communicated = True
        self._touch(occurred_at)

    def record_callback(self, stamp: Stamp, now: datetime, satisfaction: int, comment: str) -> None:
        self._check_recordable(stamp, now, "record-callback")
        if not self.outcome_ever_communicated:
            raise OutOfOrder(
                f"{self.ref}: the outcome has not been communicated; a callback comes after it"
            )
        self._callback_recorded(*_parts(stamp), satisfaction=satisfaction, comment=comment)

    @event("CallbackRecorded")
    def _callback_recorded(
        self, actor: Actor, occurred_at: datetime, command_id: str, satisfaction: int, comment: str
    ) -> None:
        self.satisfaction = satisfaction
        self._touch(occurred_at)

    def close(self, stamp: Stamp, now: datetime, root_cause: str, improvement: str) -> None:
        self._check_open(stamp, now, "close")
        if self.executed_at is None:
            raise OutOfOrder(f"{self.ref}: the resolution has not been executed; cannot close")
        if self.outcome_at is None:
            raise OutOfOrder(
                f"{self.ref}: the outcome has not been communicated to the complainant; "
                "cannot close"
            )
        self._check_not_before(stamp, max(self.executed_at, self.outcome_at), "the outcome")
        self._closed(*_parts(stamp), root_cause=root_cause, improvement=improvement)

    @event("Closed")
    def _closed(
        self,
        actor: Actor,
        occurred_at: datetime,
        command_id: str,
        root_cause: str,
        improvement: str,
    ) -> None:
        self.status = Status.CLOSED
        self.closed_at = occurred_at
        self.root_cause = root_cause
        self.improvement = improvement
        self._touch(occurred_at)

    def reopen(self, stamp: Stamp, now: datetime, reason: str) -> None:
        self._check_recordable(stamp, now, "reopen")
        if self.status is not Status.CLOSED:
            raise ComplaintNotClosed(
                f"{self.ref} is not closed; only a closed case can be reopened"
            )
        self._check_not_before(stamp, self.closed_at, "the closure")
        self._reopened(*_parts(stamp), reason=reason)

    @event("Reopened")
    def _reopened(self, actor: Actor, occurred_at: datetime, command_id: str, reason: str) -> None:
        self.status = Status.OPEN
        self.reopened_count += 1
        self.reopened_at = occurred_at
        self.findings_at = None
        self.planned_at = None
        self.executed_at = None
        self.outcome_at = None
        self.closed_at = None
        self._touch(occurred_at)

    def withdraw(self, stamp: Stamp, now: datetime, reason: str) -> None:
        self._check_open(stamp, now, "withdraw")
        self._withdrawn(*_parts(stamp), reason=reason)

    @event("Withdrawn")
    def _withdrawn(self, actor: Actor, occurred_at: datetime, command_id: str, reason: str) -> None:
        self.status = Status.WITHDRAWN
        self.withdrawn_at = occurred_at
        self._touch(occurred_at)

    def extend(
        self,
        stamp: Stamp,
        now: datetime,
        clock: ClockName,
        days: int,
        reason: str,
        approved_by: str,
        policy: Policy,
    ) -> None:
        self._check_open(stamp, now, "extend")
        check_extension(policy, clock, days, self.extension_days(clock), approved_by)
        self._deadline_extended(
            *_parts(stamp), clock=clock, days=days, reason=reason, approved_by=approved_by
        )

    @event("DeadlineExtended")
    def _deadline_extended(
        self,
        actor: Actor,
        occurred_at: datetime,
        command_id: str,
        clock: str,
        days: int,
        reason: str,
        approved_by: str,
    ) -> None:
        self.extensions.append((ClockName(clock), days, self.reopened_count))
        self._touch(occurred_at)

    def extension_days(self, clock: ClockName) -> list[int]:
        """Extensions granted so far to ``clock`` (internal clocks: since the last reopening)."""
        return [
            days
            for name, days, round_ in self.extensions
            if name is clock and (clock is ClockName.REGULATORY or round_ == self.reopened_count)
        ]

    def pause(self, stamp: Stamp, now: datetime, reason: str, allowed: bool) -> None:
        self._check_open(stamp, now, "pause")
        if not allowed:
            raise PauseNotAllowed(
                f"the SLA policy {self.policy_version} of {self.ref} does not let its clocks pause"
            )
        if self.paused_since is not None:
            raise OutOfOrder(f"{self.ref}: clocks are already paused since {self.paused_since}")
        self._clocks_paused(*_parts(stamp), reason=reason)

    @event("ClocksPaused")
    def _clocks_paused(
        self, actor: Actor, occurred_at: datetime, command_id: str, reason: str
    ) -> None:
        self.paused_since = occurred_at
        self._touch(occurred_at)

    def resume(self, stamp: Stamp, now: datetime, reason: str) -> None:
        self._check_open(stamp, now, "resume")
        if self.paused_since is None:
            raise OutOfOrder(f"{self.ref}: clocks are not paused")
        self._check_not_before(stamp, self.paused_since, "the pause")
        self._clocks_resumed(*_parts(stamp), reason=reason)

    @event("ClocksResumed")
    def _clocks_resumed(
        self, actor: Actor, occurred_at: datetime, command_id: str, reason: str
    ) -> None:
        self.paused_since = None
        self._touch(occurred_at)

    def add_note(self, stamp: Stamp, now: datetime, text: str) -> None:
        self._check_recordable(stamp, now, "add-note")
        self._note_added(*_parts(stamp), text=text)

    @event("NoteAdded")
    def _note_added(self, actor: Actor, occurred_at: datetime, command_id: str, text: str) -> None:
        self.notes += 1
        self._touch(occurred_at)

    def erase_personal_data(self, stamp: Stamp, now: datetime, reason: str) -> None:
        """Destroy the key of the complainant's personal data (allowed in any status)."""
        _check_not_future(stamp.occurred_at, now)
        self._check_not_before(stamp, self.received_at, "the complaint was received")
        if self.personal_data_erased:
            raise AlreadyErased(f"{self.ref}: the complainant's personal data was already erased")
        self._personal_data_erased(*_parts(stamp), reason=reason, key_id=self.complainant.key_id)
        self.key_changes.destroyed.append(self.complainant.key_id)

    @event("PersonalDataErased")
    def _personal_data_erased(
        self, actor: Actor, occurred_at: datetime, command_id: str, reason: str, key_id: str
    ) -> None:
        self.personal_data_erased = True

    def _touch(self, occurred_at: datetime) -> None:
        self.last_activity_at = max(self.last_activity_at, occurred_at)


def _parts(stamp: Stamp) -> tuple[Actor, datetime, str]:
    return stamp.actor, stamp.occurred_at, stamp.command_id


def _check_not_future(moment: datetime, now: datetime) -> None:
    if moment > now + CLOCK_SKEW:
        raise OccurredInFuture(f"occurred_at {moment.isoformat()} is in the future")


# Stored before ledger/ was split into packages; see ledger.domain.topics.
keep_topics(Complaint, "ledger.complaint")
