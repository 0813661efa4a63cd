"""``replay`` says a stored event cannot be read only when the event is not of its class's
shape: an ``AttributeError`` or ``TypeError`` raised by the code applying a well-formed
event is a bug in that code, and must reach the caller as itself (a traceback), not as
"run verify; if it passes, upgrade"."""

from __future__ import annotations

from typing import Any

import pytest
from eventsourcing.domain import Aggregate, event

from ledger.domain.errors import StoredEventUnreadable
from ledger.store.root import replay


class Tally(Aggregate):
    def __init__(self) -> None:
        self.notes: list[str] = []

    @event("Noted")
    def note(self, text: str, count: int) -> None:
        self.notes.append(text.upper())
        self.total += count  # a bug: ``total`` is never set


def stored_events(text: Any, count: Any) -> list[Any]:
    tally = Tally()
    [created] = tally.collect_events()
    noted = Tally.Noted(  # type: ignore[attr-defined]
        originator_id=tally.id,
        originator_version=2,
        timestamp=created.timestamp,
        text=text,
        count=count,
    )
    return [created, noted]


def test_a_bug_applying_a_well_formed_event_is_raised_as_itself() -> None:
    with pytest.raises(AttributeError, match="total"):
        replay(None, stored_events("fine", 2))


def test_an_event_holding_a_field_of_another_type_is_unreadable() -> None:
    with pytest.raises(StoredEventUnreadable, match="position 2 of stream"):
        replay(None, stored_events(7, 2))
