"""A complaint's history replayed from the event store: each event, what it set, the state
after it, and the state as it stood at a moment (by recorded time) or at a version."""

from __future__ import annotations

from dataclasses import asdict, is_dataclass
from datetime import datetime
from decimal import Decimal
from enum import Enum
from typing import TYPE_CHECKING, Any

from eventsourcing.domain import AggregateEvent

from ledger.complaint import Complaint
from ledger.crypto import SealedComplainant
from ledger.errors import ComplaintNotFound
from ledger.values import Actor, Complainant
from ledger.views import case_view, history_rows, person_view

if TYPE_CHECKING:
    from ledger.store import Ledger

# What every event carries; the rest are the fields the event set.
ENVELOPE = frozenset(
    {
        "originator_id",
        "originator_version",
        "timestamp",
        "originator_topic",
        "actor",
        "occurred_at",
        "command_id",
    }
)


def plain(value: Any, person: dict[str, str | None]) -> Any:
    """A field value as JSON-safe data; sealed personal data shown decrypted or erased."""
    if isinstance(value, SealedComplainant):
        return person
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, Enum):
        return str(value.value)
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, Actor):
        return {"id": value.id, "role": str(value.role)}
    if is_dataclass(value) and not isinstance(value, type):
        return plain(asdict(value), person)
    if isinstance(value, dict):
        return {str(k): plain(v, person) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [plain(v, person) for v in value]
    return value


def history(
    ledger: Ledger, ref: str, as_of: datetime | None = None, version: int | None = None
) -> dict[str, Any]:
    """The events of complaint ``ref`` up to ``as_of`` (recorded time) or ``version``, each
    with the fields it set and the state after it, and the state at that point."""
    events: list[AggregateEvent] = ledger.complaint_events(ref)
    if as_of is not None:
        events = [e for e in events if e.timestamp <= as_of]
        if not events:
            raise ComplaintNotFound(f"{ref} had not been received by {as_of.isoformat()}")
    if version is not None:
        if not 1 <= version <= events[-1].originator_version:
            raise ComplaintNotFound(
                f"{ref} has versions 1 to {events[-1].originator_version}, not {version}"
            )
        events = [e for e in events if e.originator_version <= version]
    current = ledger.get_complaint(ref)
    revealed: Complainant | None = ledger.reveal(current)
    person = person_view(revealed)
    rows = []
    aggregate: Any = None
    for event in events:
        aggregate = event.mutate(aggregate)
        state = case_view(aggregate, revealed) if isinstance(aggregate, Complaint) else None
        rows.append(
            {
                **history_rows([event])[0],
                "fields": {
                    k: plain(v, person) for k, v in vars(event).items() if k not in ENVELOPE
                },
                "state_after": state,
            }
        )
    return {
        "ref": ref,
        "as_of": None if as_of is None else as_of.isoformat(),
        "version": rows[-1]["version"],
        "events": rows,
        "state": rows[-1]["state_after"],
    }
