"""A complaint's history replayed from the event store: each event, what it set, the state
after it, and the state at a moment or at a version.

Two moments can be asked about (DESIGN.md, principle 9): ``as_of`` keeps what had happened by
then (each event's ``occurred_at``), ``known_at`` what the ledger had recorded by then (its
recording time). Both together: what the ledger knew at ``known_at`` about what had happened by
``as_of``."""

from __future__ import annotations

from dataclasses import asdict, is_dataclass
from datetime import datetime
from decimal import Decimal
from enum import Enum
from typing import TYPE_CHECKING, Any

from eventsourcing.domain import AggregateEvent

from ledger.domain.codes import CodeList
from ledger.domain.complaint import Complaint
from ledger.domain.errors import ComplaintNotFound
from ledger.domain.sealed import LegacyText, SealedComplainant, SealedText
from ledger.domain.values import Actor, Complainant
from ledger.integrity.views import (
    TextOpener,
    case_view,
    happened_by,
    history_rows,
    person_view,
    replay_some,
)

if TYPE_CHECKING:
    from ledger.store.root import Ledger

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


def plain(value: Any, person: dict[str, str | None], text: TextOpener) -> Any:
    """A field value as JSON-safe data; sealed personal data and text shown decrypted or
    erased."""
    if isinstance(value, SealedComplainant):
        return person
    if isinstance(value, SealedText | LegacyText):
        return text(value)
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, Enum):
        return str(value.value)
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, Actor):
        return {"id": value.id, "role": str(value.role), "method": str(value.method)}
    if is_dataclass(value) and not isinstance(value, type):
        return plain(asdict(value), person, text)
    if isinstance(value, dict):
        return {str(k): plain(v, person, text) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [plain(v, person, text) for v in value]
    return value


def occurred(event: AggregateEvent) -> datetime:
    """When ``event`` happened: its ``occurred_at``; for an event that carries none (none of a
    complaint's do today), when it was recorded."""
    moment = getattr(event, "occurred_at", None)
    return moment if isinstance(moment, datetime) else event.timestamp


def events_at(
    events: list[AggregateEvent],
    ref: str,
    as_of: datetime | None = None,
    known_at: datetime | None = None,
) -> list[AggregateEvent]:
    """The ``events`` recorded by ``known_at`` that had happened by ``as_of``, in the order
    they were recorded; refused when none is left. The receipt is kept whenever a later event
    is: nothing happens to a complaint before it arrives, though its intake may be recorded
    (the receipt's ``occurred_at``) after the first action on it."""
    if known_at is not None:
        events = [e for e in events if e.timestamp <= known_at]
        if not events:
            raise ComplaintNotFound(f"{ref} had not been recorded by {known_at.isoformat()}")
    if as_of is not None:
        kept = [e for e in events if occurred(e) <= as_of]
        if not kept:
            raise ComplaintNotFound(f"nothing had happened to {ref} by {as_of.isoformat()}")
        events = kept if kept[0] is events[0] else [events[0], *kept]
    return events


def complaint_view(
    ledger: Ledger, ref: str, as_of: datetime | None = None, known_at: datetime | None = None
) -> dict[str, Any]:
    """What ``show`` shows: the complaint replayed from the actions dated by ``as_of`` among
    the events recorded by ``known_at`` (all of them without either), with its personal data
    (as it can be read now) and one row per event."""
    events = ledger.complaint_events(ref)
    # Replayed whole first: a stored event of another shape is the one error, before the
    # dates of the events are compared below.
    current = ledger.get_complaint(ref)
    if known_at is not None:
        events = [e for e in events if e.timestamp <= known_at]
        if not events:
            raise ComplaintNotFound(f"{ref} had not been recorded by {known_at.isoformat()}")
    if as_of is not None:
        events = happened_by(events, as_of)
        if not events:
            raise ComplaintNotFound(f"{ref} had not been received by {as_of.isoformat()}")
    person = ledger.reveal(current, current=True)
    text = ledger.text_reader(current, current=True)
    view: dict[str, Any] = case_view(replay_some(events), person, text)
    view["cause_label"] = CauseLabels(ledger)(view)
    view["history"] = history_rows(events)
    return view


class CauseLabels:
    """The label of a state's cause code in the code list it was checked against (each list
    read once)."""

    def __init__(self, ledger: Ledger) -> None:
        self.ledger = ledger
        self.lists: dict[str, CodeList] = {}

    def __call__(self, state: dict[str, Any]) -> str | None:
        code, version = state["cause_code"], state["codes_version"]
        if code is None or version is None:
            return None
        if version not in self.lists:
            from ledger.store.codelists import code_list

            self.lists[version] = code_list(self.ledger, version)
        cause = self.lists[version].causes.get(code)
        return None if cause is None else cause.label


def history(
    ledger: Ledger,
    ref: str,
    as_of: datetime | None = None,
    version: int | None = None,
    known_at: datetime | None = None,
) -> dict[str, Any]:
    """The events of complaint ``ref`` that had happened by ``as_of`` and been recorded by
    ``known_at`` (see ``events_at``), or up to ``version``; each with the fields it set and
    the state after it, and the state at that point."""
    events = events_at(ledger.complaint_events(ref), ref, as_of, known_at)
    if version is not None:
        if not 1 <= version <= events[-1].originator_version:
            raise ComplaintNotFound(
                f"{ref} has versions 1 to {events[-1].originator_version}, not {version}"
            )
        events = [e for e in events if e.originator_version <= version]
    current = ledger.get_complaint(ref)
    revealed: Complainant | None = ledger.reveal(current, current=True)
    person = person_view(revealed)
    text = ledger.text_reader(current, current=True)
    labels = CauseLabels(ledger)
    rows = []
    aggregate: Any = None
    for event in events:
        if aggregate is not None:
            # An event recorded later may have happened earlier (``occurred_at`` in the past):
            # as of a moment between the two, the later-recorded one is replayed and the other
            # is not, so the versions kept can have gaps, which the library's check refuses.
            aggregate.version = event.originator_version - 1
        aggregate = event.mutate(aggregate)
        state = case_view(aggregate, revealed, text) if isinstance(aggregate, Complaint) else None
        if state is not None:
            state["cause_label"] = labels(state)
        rows.append(
            {
                **history_rows([event])[0],
                "fields": {
                    k: plain(v, person, text) for k, v in vars(event).items() if k not in ENVELOPE
                },
                "state_after": state,
            }
        )
    return {
        "ref": ref,
        "as_of": None if as_of is None else as_of.isoformat(),
        "known_at": None if known_at is None else known_at.isoformat(),
        "version": rows[-1]["version"],
        "events": rows,
        "state": rows[-1]["state_after"],
    }
