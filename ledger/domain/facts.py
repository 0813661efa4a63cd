"""From a complaint's events to the facts its clocks are judged on (pure).

The facts are folded one event at a time into plain JSON-safe data, so a read model
can keep them between batches; ``to_case_facts`` turns them into ``CaseFacts``.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from ledger.domain.sla import CaseFacts, Extension, Pause, Round
from ledger.domain.values import ClockName

Facts = dict[str, Any]

# Which round field the first event of each kind in a round sets.
_ROUND_STOPS = {
    "FindingsRecorded": "findings_at",
    "ResolutionPlanned": "planned_at",
    "ResolutionExecuted": "executed_at",
    "Closed": "closed_at",
}
_ROUND_FIELDS = ("started_at", "findings_at", "planned_at", "executed_at", "closed_at")


def empty_facts() -> Facts:
    return {
        "received_at": None,
        "intake_recorded_at": None,
        "triaged_at": None,
        "outcome_at": None,
        "withdrawn_at": None,
        "rounds": [],
        "extensions": [],
        "pauses": [],
    }


def fold_fact(facts: Facts, event: Any) -> None:
    """Apply one event of the complaint to its facts.

    Each clock stops at the first event that completes its stage (within its round);
    a later amendment of findings or a revised plan does not move a stop already made.
    """
    kind = type(event).__name__
    at = _iso(getattr(event, "occurred_at", None) or event.timestamp)
    if kind == "Received":
        received = _iso(event.received_at)
        # The intake was recorded when the receive says it was (see docs/sla.md).
        facts.update(received_at=received, intake_recorded_at=at)
        facts["rounds"].append(_round(received))
    elif kind == "Triaged" and facts["triaged_at"] is None:
        facts["triaged_at"] = at
    elif kind == "OutcomeCommunicated" and facts["outcome_at"] is None:
        facts["outcome_at"] = at
    elif kind == "Withdrawn":
        facts["withdrawn_at"] = at
    elif kind == "Reopened":
        facts["rounds"].append(_round(at))
    elif kind == "DeadlineExtended":
        facts["extensions"].append([str(event.clock), int(event.days), at])
    elif kind == "ClocksPaused":
        facts["pauses"].append([at, None])
    elif kind == "ClocksResumed" and facts["pauses"]:
        facts["pauses"][-1][1] = at
    elif kind in _ROUND_STOPS and facts["rounds"]:
        current = facts["rounds"][-1]
        if current[_ROUND_STOPS[kind]] is None:
            current[_ROUND_STOPS[kind]] = at


def to_case_facts(facts: Facts) -> CaseFacts:
    if facts["received_at"] is None:
        raise ValueError("a complaint's events must start with Received")
    return CaseFacts(
        received_at=_time(facts["received_at"]),
        intake_recorded_at=_time(facts["intake_recorded_at"]),
        triaged_at=_maybe(facts["triaged_at"]),
        outcome_at=_maybe(facts["outcome_at"]),
        withdrawn_at=_maybe(facts["withdrawn_at"]),
        rounds=tuple(Round(*(_maybe(r[f]) for f in _ROUND_FIELDS)) for r in facts["rounds"]),  # type: ignore[arg-type]
        extensions=tuple(Extension(ClockName(c), d, _time(at)) for c, d, at in facts["extensions"]),
        pauses=tuple(Pause(_time(start), _maybe(end)) for start, end in facts["pauses"]),
    )


def case_facts(events: Iterable[Any]) -> CaseFacts:
    """The clock facts of one complaint, from its events in version order."""
    facts = empty_facts()
    for event in events:
        fold_fact(facts, event)
    return to_case_facts(facts)


def _round(started_at: str) -> dict[str, str | None]:
    return {field: (started_at if field == "started_at" else None) for field in _ROUND_FIELDS}


def _iso(moment: datetime) -> str:
    return moment.isoformat()


def _time(text: str) -> datetime:
    return datetime.fromisoformat(text)


def _maybe(text: str | None) -> datetime | None:
    return None if text is None else datetime.fromisoformat(text)
