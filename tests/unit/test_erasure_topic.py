"""The erasure event's stored name, spelled out for the partial index, is the class's."""

from __future__ import annotations

from eventsourcing.utils import get_topic

from ledger.domain.complaint import Complaint
from ledger.store.topics import ERASURE_TOPIC


def test_the_erasure_topic_the_index_names_is_the_erasure_events_stored_name() -> None:
    assert get_topic(Complaint.PersonalDataErased) == ERASURE_TOPIC  # type: ignore[attr-defined]
