"""The case-state fold: one complaint's read-model row, updated one event at a time (pure).

The fold keeps plain JSON-safe data, so the runner can store it between batches and
resume after a crash. It records what happened; it enforces no rules (the aggregate
did that before the events were written).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from ledger.domain.events import Coverage, name_of
from ledger.domain.facts import empty_facts, fold_fact

State = dict[str, Any]

MONTH_ZONE = ZoneInfo("Asia/Shanghai")
# Events that start a new pass through investigation, plan, execution and summary.
_ROUND_FLAGS = ("findings", "planned", "executed", "outcome")


def new_state() -> State:
    return {
        "ref": None,
        "status": "open",
        "channel": None,
        "category": None,
        "severity": None,
        "handler": None,
        "team": None,
        "collector": None,
        "received_at": None,
        "month": None,
        "last_activity_at": None,
        "escalated": False,
        "escalated_to": None,
        "acknowledged": True,  # nothing waits for the leadership group until an escalation
        "public_attention": False,
        "instructions": 0,
        "signed_off": False,
        "accountability": [],
        "agency": None,
        "cause_code": None,  # the latest cause code given (triage, then close)
        "codes_version": None,  # the code list it was checked against
        # The regulator's business type and business channel, each the latest given.
        "regulator_business_type": None,
        "regulator_business_channel": None,
        "improvements": 0,  # improvement measures added (溯源整改)
        "improvements_open": 0,  # of them, not yet marked done
        "evidence_files": 0,
        "reopened_count": 0,
        "remedies": [],
        "refund_total": "0",
        "satisfaction": None,
        "policy_version": None,
        "closed_at": None,
        "first_closed_at": None,
        "withdrawn_at": None,
        # Which event set each of the three times above, so a correction can move them.
        "closed_version": None,
        "first_closed_version": None,
        "withdrawn_version": None,
        "triaged": False,
        "findings": False,
        "planned": False,
        "executed": False,
        "outcome": False,
        "version": 0,
        "facts": empty_facts(),
    }


def stored_state(text: str) -> State:
    """A fold as stored, with the keys of a newer fold that it lacks at their starting
    values: a runner of an earlier release still following writes folds without them."""
    return {**new_state(), **json.loads(text)}


def fold_case(state: State, event: Any) -> None:
    """Apply one of the complaint's events to its state."""
    kind = name_of(event)
    # In UTC at fixed width (``stamp``): actions may carry different offsets; the latest is
    # found by text order.
    moment = getattr(event, "occurred_at", None) or event.timestamp
    if moment.tzinfo is not UTC:
        moment = moment.astimezone(UTC)
    at = moment.isoformat(timespec="microseconds")
    fold_fact(state["facts"], event, kind)
    state["version"] = event.originator_version
    if state["last_activity_at"] is None or at > state["last_activity_at"]:
        state["last_activity_at"] = at
    handler = _FOLDS.get(kind)
    if handler is not None:
        handler(state, event, at)


def stage(state: State) -> str:
    if state["status"] in ("closed", "withdrawn"):
        return str(state["status"])
    for flag, name in (
        ("triaged", "intake"),
        ("findings", "investigation"),
        ("planned", "plan"),
        ("executed", "execution"),
    ):
        if not state[flag]:
            return name
    return "summary"


def _received(s: State, e: Any, at: str) -> None:
    received = e.received_at
    s.update(
        ref=e.ref,
        channel=str(e.channel),
        category=e.category,
        collector=e.collector,
        received_at=received.isoformat(),
        month=received.astimezone(MONTH_ZONE).date().isoformat()[:7],  # YYYY-MM for any year
        policy_version=e.policy_version,
    )


def _triaged(s: State, e: Any, at: str) -> None:
    s.update(triaged=True, severity=str(e.severity), category=e.category)
    _cause(s, e)


def _cause(s: State, e: Any) -> None:
    if e.cause is not None:  # an action without a code keeps the one given before
        s.update(cause_code=e.cause, codes_version=e.codes_version)
    if e.business_type is not None:
        s["regulator_business_type"] = e.business_type
    if e.business_channel is not None:
        s["regulator_business_channel"] = e.business_channel


def _planned(s: State, e: Any, at: str) -> None:
    kinds = [str(r.kind) for r in e.remedies]
    refunds = sum(
        (Decimal(r.amount) for r in e.remedies if str(r.kind) == "refund" and r.amount is not None),
        Decimal("0"),
    )
    s.update(planned=True, executed=False, remedies=kinds, refund_total=str(refunds))


def _closed(s: State, e: Any, at: str) -> None:
    s.update(status="closed", closed_at=at, closed_version=e.originator_version)
    if s["first_closed_at"] is None:
        s.update(first_closed_at=at, first_closed_version=e.originator_version)
    _cause(s, e)


def _restarted(s: State, e: Any, at: str) -> None:
    if "intake" in map(str, e.clocks):
        s["triaged"] = False  # the reopened complaint must be triaged again


def _corrected(s: State, e: Any, at: str) -> None:
    moved = e.corrected_occurred_at.isoformat()
    for field in ("closed", "first_closed", "withdrawn"):
        if s[f"{field}_version"] == e.event:
            s[f"{field}_at"] = moved


def _addressed(s: State, e: Any, at: str) -> None:
    s.update(escalated_to=e.to, acknowledged=False)
    if e.public_attention:
        s["public_attention"] = True


def _accountability(s: State, e: Any, at: str) -> None:
    s["accountability"].append(
        # Who and when; the finding and decision stay sealed in the event (read models never
        # hold sealed text): ``show REF`` opens them.
        {"version": e.originator_version, "staff": e.staff, "team": e.team, "at": at,
         "by": e.actor.id}
    )  # fmt: skip


def _reopened(s: State, e: Any, at: str) -> None:
    s.update(status="open", closed_at=None, closed_version=None, signed_off=False)
    s["reopened_count"] += 1
    s.update(dict.fromkeys(_ROUND_FLAGS, False))


_FOLDS: dict[str, Callable[[State, Any, str], None]] = {
    "Complaint.Received": _received,
    "Complaint.Triaged": _triaged,
    "Complaint.Escalated": lambda s, e, at: s.update(escalated=True),
    "Complaint.Assigned": lambda s, e, at: s.update(handler=e.handler, team=e.team),
    "Complaint.FindingsRecorded": lambda s, e, at: s.update(findings=True),
    "Complaint.ResolutionPlanned": _planned,
    "Complaint.ResolutionExecuted": lambda s, e, at: s.update(executed=True),
    "Complaint.OutcomeCommunicated": lambda s, e, at: s.update(outcome=True),
    "Complaint.CallbackRecorded": lambda s, e, at: s.update(satisfaction=int(e.satisfaction)),
    "Complaint.Closed": _closed,
    "Complaint.Reopened": _reopened,
    "Complaint.Withdrawn": lambda s, e, at: s.update(
        status="withdrawn", withdrawn_at=at, withdrawn_version=e.originator_version
    ),
    "Complaint.ClocksRestarted": _restarted,
    "Complaint.OccurrenceCorrected": _corrected,
    "Complaint.EscalationAddressed": _addressed,
    "Complaint.EscalationAcknowledged": lambda s, e, at: s.update(acknowledged=True),
    "Complaint.LeadershipInstructed": lambda s, e, at: s.update(instructions=s["instructions"] + 1),
    "Complaint.SignedOff": lambda s, e, at: s.update(signed_off=True),
    "Complaint.AccountabilityRecorded": _accountability,
    "Complaint.AgencyNamed": lambda s, e, at: s.update(agency=e.agency),
    "Complaint.ImprovementAdded": lambda s, e, at: s.update(
        improvements=s["improvements"] + 1, improvements_open=s["improvements_open"] + 1
    ),
    "Complaint.ImprovementCompleted": lambda s, e, at: s.update(
        improvements_open=s["improvements_open"] - 1
    ),
    "Complaint.EvidenceAttached": lambda s, e, at: s.update(
        evidence_files=s.get("evidence_files", 0) + 1  # folds kept before issue 15 lack it
    ),
}
COVERAGE = Coverage.of(
    "the case fold (projections.casefold)",
    ["Complaint"],
    handled=_FOLDS,
    # Only their dates count here, through the clock facts (and last_activity_at).
    ignored=["Complaint.CustomerContacted", "Complaint.DeadlineExtended",
             "Complaint.ClocksPaused", "Complaint.ClocksResumed", "Complaint.NoteAdded",
             "Complaint.CallbackNotReached",  # no satisfaction to keep
             "Complaint.PersonalDataErased", "Complaint.AlertSent", "Complaint.AlertFailed",
             "Complaint.RegulatorReplied",
             # Links live in the ledger's link table, read by show and related.
             "Complaint.ComplaintLinked"],
)  # fmt: skip
