"""From a complaint's events to the facts its clocks are judged on (pure)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace
from datetime import datetime
from typing import Any

from ledger.sla import CaseFacts, Extension, Pause, Round
from ledger.values import ClockName

# Which round field the first event of each kind in a round sets.
_ROUND_STOPS = {
    "FindingsRecorded": "findings_at",
    "ResolutionPlanned": "planned_at",
    "ResolutionExecuted": "executed_at",
    "Closed": "closed_at",
}


def case_facts(events: Iterable[Any]) -> CaseFacts:
    """The clock facts of one complaint, from its events in version order.

    Each clock stops at the first event that completes its stage (within its round);
    a later amendment of findings or a revised plan does not move a stop already made.
    """
    received_at: datetime | None = None
    intake_recorded_at: datetime | None = None
    triaged_at: datetime | None = None
    outcome_at: datetime | None = None
    withdrawn_at: datetime | None = None
    rounds: list[Round] = []
    extensions: list[Extension] = []
    pauses: list[Pause] = []
    for event in events:
        kind = type(event).__name__
        at: datetime = getattr(event, "occurred_at", event.timestamp)
        if kind == "Received":
            # The intake was recorded when the receive says it was (see docs/sla.md).
            received_at, intake_recorded_at = event.received_at, at
            rounds.append(Round(started_at=event.received_at))
        elif kind == "Triaged" and triaged_at is None:
            triaged_at = at
        elif kind == "OutcomeCommunicated" and outcome_at is None:
            outcome_at = at
        elif kind == "Withdrawn":
            withdrawn_at = at
        elif kind == "Reopened":
            rounds.append(Round(started_at=at))
        elif kind == "DeadlineExtended":
            extensions.append(Extension(ClockName(event.clock), event.days, at))
        elif kind == "ClocksPaused":
            pauses.append(Pause(start=at, end=None))
        elif kind == "ClocksResumed" and pauses:
            pauses[-1] = Pause(start=pauses[-1].start, end=at)
        elif kind in _ROUND_STOPS and getattr(rounds[-1], _ROUND_STOPS[kind]) is None:
            rounds[-1] = replace(rounds[-1], **{_ROUND_STOPS[kind]: at})
    if received_at is None or intake_recorded_at is None:
        raise ValueError("a complaint's events must start with Received")
    return CaseFacts(
        received_at=received_at,
        intake_recorded_at=intake_recorded_at,
        triaged_at=triaged_at,
        outcome_at=outcome_at,
        withdrawn_at=withdrawn_at,
        rounds=tuple(rounds),
        extensions=tuple(extensions),
        pauses=tuple(pauses),
    )
