"""The facts a complaint's clocks are judged on: each action with both of its times (pure).

Every fact keeps when it happened (``at``, the event's ``occurred_at``) and when the ledger
stored it (``recorded``, the event's ``timestamp``), so that "what had happened by T" and
"what the ledger knew at T" are both questions about the facts alone. Corrections re-date
a fact without touching it: they are applied when the facts are read (``corrected``).

The facts are folded one event at a time into plain JSON-safe data, so a read model can keep
them between batches; ``to_case_facts`` turns them into ``CaseFacts``.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from ledger.domain.events import Coverage, name_of
from ledger.domain.values import ClockName

Facts = dict[str, Any]

# The kind of fact each event of the complaint is, by the event's registered name
# (ledger.domain.events). Only the kinds in CLOCK_KINDS matter to the clocks; the others are
# kept by the aggregate for the time rule.
KINDS = {
    "Complaint.Received": "received",
    "Complaint.Triaged": "triaged",
    "Complaint.FindingsRecorded": "findings",
    "Complaint.ResolutionPlanned": "planned",
    "Complaint.ResolutionExecuted": "executed",
    "Complaint.OutcomeCommunicated": "outcome",
    "Complaint.Closed": "closed",
    "Complaint.Reopened": "reopened",
    "Complaint.Withdrawn": "withdrawn",
    "Complaint.DeadlineExtended": "extended",
    "Complaint.ClocksPaused": "paused",
    "Complaint.ClocksResumed": "resumed",
    "Complaint.Escalated": "escalated",
    "Complaint.Assigned": "assigned",
    "Complaint.CustomerContacted": "contact",
    "Complaint.CallbackRecorded": "callback",
    "Complaint.NoteAdded": "note",
    "Complaint.EscalationAddressed": "addressed",
    "Complaint.EscalationAcknowledged": "acknowledged",
    "Complaint.LeadershipInstructed": "instructed",
    "Complaint.SignedOff": "signed_off",
    "Complaint.AccountabilityRecorded": "accountability",
    "Complaint.AgencyNamed": "agency",
    "Complaint.ImprovementAdded": "improvement",
    "Complaint.ImprovementCompleted": "improved",
    "Complaint.RegulatorReplied": "replied",
    "Complaint.ComplaintLinked": "linked",
    "Complaint.EvidenceAttached": "evidence",
    "Complaint.CallbackNotReached": "callback",
}
# Not an event of its own: the receipt of a regulator referral, a fact beside "received"
# (same version and times) that starts the regulator-reply clock.
REFERRED = "referred"
REFERRAL_CHANNEL = "regulator_referral"
RESTARTED = "Complaint.ClocksRestarted"  # adds to the reopening it follows
CORRECTED = "Complaint.OccurrenceCorrected"  # re-dates a fact when the facts are read
COVERAGE = Coverage.of(
    "clock facts (ledger.domain.facts)",
    ["Complaint"],
    handled=[*KINDS, RESTARTED, CORRECTED],
    # No action on the case: the clocks ignore them.
    ignored=["Complaint.PersonalDataErased", "Complaint.AlertSent", "Complaint.AlertFailed"],
)
CLOCK_KINDS = frozenset(
    {"received", "triaged", "findings", "planned", "executed", "outcome", "closed", "reopened",
     "withdrawn", "extended", "paused", "resumed", "addressed", "acknowledged", "improvement",
     "improved", "replied"}
)  # fmt: skip


def _aware(moment: datetime | None, what: str) -> None:
    if moment is not None and moment.tzinfo is None:
        raise ValueError(
            f"{what} {moment.isoformat()} has no time zone; the ledger needs aware times"
        )


@dataclass(frozen=True)
class Fact:
    """One action on the complaint: event ``version`` of kind ``kind``, dated ``at``.

    ``recorded`` is None where the recording time is not known (the aggregate deciding a
    command judges by dates alone). ``clock`` and ``days`` are an extension's; ``restarts``
    are the clocks (besides the round's) a reopening started again; ``item`` is the
    improvement an improvement's fact is about, and ``due`` when it was promised for.
    """

    kind: str
    version: int
    at: datetime
    recorded: datetime | None = None
    clock: ClockName | None = None
    days: int = 0
    restarts: frozenset[ClockName] = frozenset()
    item: str | None = None
    due: datetime | None = None

    def __post_init__(self) -> None:
        at, recorded, due = self.at, self.recorded, self.due
        # Checked first without the messages' words: made for every action the aggregate applies.
        if (
            (at is not None and at.tzinfo is None)
            or (recorded is not None and recorded.tzinfo is None)
            or (due is not None and due.tzinfo is None)
        ):
            _aware(at, f"{self.kind} time")
            _aware(recorded, f"{self.kind} recording time")
            _aware(due, f"{self.kind} due time")


@dataclass(frozen=True)
class Correction:
    """Event ``version`` re-dated the fact of event ``target`` to ``at``."""

    version: int
    target: int
    at: datetime
    recorded: datetime | None = None

    def __post_init__(self) -> None:
        _aware(self.at, "corrected time")


@dataclass(frozen=True)
class CaseFacts:
    """Everything the clocks of one complaint are judged on, in version order."""

    received_at: datetime
    facts: tuple[Fact, ...]
    corrections: tuple[Correction, ...] = ()

    def __post_init__(self) -> None:
        _aware(self.received_at, "received_at")

    def corrected(self, count: int | None = None) -> CaseFacts:
        """The facts with the first ``count`` corrections (all by default) applied."""
        chosen = self.corrections if count is None else self.corrections[:count]
        if not chosen:
            return replace(self, corrections=())
        moved = {c.target: c.at for c in chosen}  # a later correction of the same fact wins
        return CaseFacts(
            self.received_at,
            tuple(replace(f, at=moved[f.version]) if f.version in moved else f for f in self.facts),
        )

    def known_at(self, moment: datetime) -> CaseFacts:
        """What the ledger had recorded by ``moment`` (facts with no recording time are kept)."""

        def known(recorded: datetime | None) -> bool:
            return recorded is None or recorded <= moment

        return CaseFacts(
            self.received_at,
            tuple(f for f in self.facts if known(f.recorded)),
            tuple(c for c in self.corrections if known(c.recorded)),
        )


# ---------------------------------------------------------------------- the fold


def empty_facts() -> Facts:
    return {"received_at": None, "facts": [], "corrections": []}


def fold_fact(facts: Facts, event: Any, name: str | None = None) -> None:
    """Apply one event of the complaint to its facts (those the clocks are judged on);
    ``name``: the event's registered name, when the caller has it already."""
    if name is None:
        name = name_of(event)
    kind = KINDS.get(name)
    recorded = event.timestamp.isoformat()
    if kind in CLOCK_KINDS:
        entry: list[Any] = [kind, event.originator_version, event.occurred_at.isoformat(), recorded]
        if kind == "received":
            facts["received_at"] = event.received_at.isoformat()
        elif kind == "extended":
            entry += [str(event.clock), int(event.days)]
        elif kind == "reopened":
            entry.append([])
        elif kind == "improvement":
            entry += [str(event.improvement_id), event.due.isoformat()]
        elif kind == "improved":
            entry.append(str(event.improvement_id))
        facts["facts"].append(entry)
        if kind == "received" and str(event.channel) == REFERRAL_CHANNEL:
            facts["facts"].append([REFERRED, *entry[1:]])
    elif name == RESTARTED:
        # Recorded with its reopening, which it always follows.
        reopened = [f for f in facts["facts"] if f[0] == "reopened"]
        if reopened:
            reopened[-1][4] = sorted({*reopened[-1][4], *map(str, event.clocks)})
    elif name == CORRECTED:
        facts["corrections"].append(
            [event.originator_version, int(event.event),
             event.corrected_occurred_at.isoformat(), recorded]
        )  # fmt: skip


def _fact(entry: list[Any]) -> Fact:
    kind, version, at, recorded = entry[:4]
    fact = Fact(kind, version, datetime.fromisoformat(at), datetime.fromisoformat(recorded))
    if kind == "extended":
        return replace(fact, clock=ClockName(entry[4]), days=int(entry[5]))
    if kind == "reopened":
        return replace(fact, restarts=frozenset(ClockName(c) for c in entry[4]))
    if kind == "improvement":
        return replace(fact, item=entry[4], due=datetime.fromisoformat(entry[5]))
    if kind == "improved":
        return replace(fact, item=entry[4])
    return fact


def to_case_facts(facts: Facts) -> CaseFacts:
    if facts["received_at"] is None:
        raise ValueError("a complaint's events must start with Received")
    return CaseFacts(
        datetime.fromisoformat(facts["received_at"]),
        tuple(_fact(entry) for entry in facts["facts"]),
        tuple(
            Correction(v, target, datetime.fromisoformat(at), datetime.fromisoformat(recorded))
            for v, target, at, recorded in facts["corrections"]
        ),
    )


def case_facts(events: Iterable[Any]) -> CaseFacts:
    """The clock facts of one complaint, from its events in version order."""
    facts = empty_facts()
    for event in events:
        fold_fact(facts, event)
    return to_case_facts(facts)
