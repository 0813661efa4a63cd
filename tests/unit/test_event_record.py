"""``guards.record`` (the library's ``trigger_event`` with every field named) records the event
the ``@event`` method records, and leaves the complaint as that method leaves it, for every kind
of action a complaint takes after its receipt."""

from __future__ import annotations

from typing import Any

import pytest

from ledger.domain.actions.guards import record
from ledger.domain.complaint import Complaint
from ledger.domain.values import Stamp
from tests.unit.test_complaint import received
from tests.unit.test_time_fold import KINDS, _apply

# What the library sets on every event, and on the aggregate when it applies one.
ENVELOPE = {"originator_id", "originator_version", "timestamp"}
STAMPED = {"actor", "occurred_at", "command_id"}


def _replayed(events: list[Any]) -> Complaint:
    complaint: Any = None
    for event in events:
        complaint = event.mutate(complaint)
    return complaint  # type: ignore[no-any-return]


def _state(complaint: Complaint) -> dict[str, Any]:
    return {
        k: v for k, v in vars(complaint).items() if k not in {"_modified_on", "_pending_events"}
    }


@pytest.mark.parametrize("kind", [k for k in KINDS if k != "corrected"] + ["corrected"])
def test_record_makes_the_event_the_method_makes(kind: str) -> None:
    by_method = received()
    _apply(by_method, "triaged", 2, "m1", 0)
    _apply(by_method, "improvement", 3, "m1", 0)  # for "improved"
    before = list(by_method.pending_events)
    _apply(by_method, kind, 5, "m1", 1)
    made = by_method.pending_events[len(before) :]
    assert made

    by_record = _replayed(before)
    for event in made:
        fields = {k: v for k, v in vars(event).items() if k not in ENVELOPE | STAMPED}
        stamp = Stamp(event.actor, event.occurred_at, event.command_id)
        record(by_record, type(event).__name__, stamp, **fields)

    recorded = by_record.pending_events
    assert [type(e) for e in recorded] == [type(e) for e in made]
    for ours, theirs in zip(recorded, made, strict=True):
        assert {k: v for k, v in vars(ours).items() if k != "timestamp"} == {
            k: v for k, v in vars(theirs).items() if k != "timestamp"
        }
    by_method.key_changes = by_record.key_changes
    assert _state(by_record) == _state(by_method)
