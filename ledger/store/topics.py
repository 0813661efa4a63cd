"""Finding the class of a stored event by the name it was stored under.

Stored names (topics) are ``module:Class.Event`` as the module was called when the event was
first written (``ledger.domain.topics.keep_topics``). Several of those modules have since moved,
so the library cannot import them by name: ``STORED_MODULES`` says which module defines each
stored name now, and the ledger's mapper imports it before the library resolves the name.
"""

from __future__ import annotations

import dataclasses
import importlib
from typing import Any

from eventsourcing.persistence import Mapper, StoredEvent
from eventsourcing.utils import TopicError

from ledger.domain.errors import StoredEventUnreadable, first_line

# Stored module name -> the module that now defines its classes (and keeps their names).
STORED_MODULES = {
    "ledger.complaint": "ledger.domain.complaint",
    "ledger.registry": "ledger.store.books",
    "ledger.sealbook": "ledger.integrity.sealbook",
}
_loaded: set[str] = set()
# The stored name of the erasure event, spelled out for the partial index and the query that
# find erasures without decoding the log (tests/unit/test_erasure_topic.py pins it).
ERASURE_TOPIC = "ledger.complaint:Complaint.PersonalDataErased"


def load_classes_of(topic: str) -> None:
    """Import the module that defines the classes stored under ``topic``'s module name."""
    module = topic.partition(":")[0]
    if module in _loaded:
        return
    home = STORED_MODULES.get(module)
    if home is not None:
        importlib.import_module(home)
    _loaded.add(module)


_REQUIRED: dict[type, frozenset[str]] = {}


def required_fields(cls: type) -> frozenset[str]:
    """The fields of an event class that have no default: a stored state must hold each."""
    found = _REQUIRED.get(cls)
    if found is None:
        found = _REQUIRED[cls] = frozenset(
            f.name
            for f in (dataclasses.fields(cls) if dataclasses.is_dataclass(cls) else ())
            if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING
        )
    return found


class LedgerMapper(Mapper[Any]):
    """The library's mapper, able to read events stored under names of moved modules. A
    stored event it cannot make into its event (a topic naming no class, a state that is not
    an object or lacks a field) is a ``StoredEventUnreadable`` naming its stream and position."""

    def to_domain_event(self, stored_event: StoredEvent) -> Any:
        load_classes_of(stored_event.topic)
        try:
            event = super().to_domain_event(stored_event)
        except TopicError as e:
            raise unreadable(stored_event, f"topic {stored_event.topic!r} names no event") from e
        except (AttributeError, TypeError, KeyError) as e:  # not an object; an upcaster's field
            raise unreadable(stored_event, f"state not of its event: {first_line(e)}") from e
        required = _REQUIRED.get(type(event)) or required_fields(type(event))
        if not event.__dict__.keys() >= required:  # no set made when all are there
            missing = ", ".join(sorted(required - event.__dict__.keys()))
            raise unreadable(stored_event, f"state lacks {missing}")
        return event


def unreadable(stored: StoredEvent, what: str) -> StoredEventUnreadable:
    return StoredEventUnreadable(stored.originator_id, stored.originator_version, what)
