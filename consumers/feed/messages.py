"""One stored event as one feed message: a CloudEvent in JSON (structured mode).

The message carries the event exactly as the log stores it (its ``state``), never decoded
and never decrypted: personal data and free text are sealed there, and stay ciphertext in
the message; an erased complaint's key is gone, so its copy in a stream is as unreadable
as the log's. The one exception is text an earlier release stored in plain (event class
version 1, ``ledger.domain.sealed.LegacyText``): the feed withholds it (``WITHHELD``) rather
than let personal data leave the ledger in plain. So does the staff directory's plain
personal data and credentials (``STAFF_WITHHELD``: a member's name and e-mail address, a
token's hash): consumers keep the staff id, unit, login and roles, which is what reports by
handler and team need.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from typing import Any

import orjson
from eventsourcing.persistence import Notification
from eventsourcing.utils import resolve_topic

from ledger.domain.sealed import LegacyText
from ledger.store.topics import load_classes_of

SPEC_VERSION = "1.0"
TYPE_PREFIX = "complaint-ledger."  # CloudEvents ``type``: ``complaint-ledger.Complaint.Received``
CONTENT_TYPE = "application/json"
# What stands in for plain text of a version-1 event (the field's name and existence stay).
WITHHELD = {"_type_": "withheld_plain_text", "_data_": None}
# The staff directory's fields that stay in the ledger: plain personal data of the staff and
# the hash of a bearer token (the directory is not sealed: the ledger authenticates with it).
STAFF_WITHHELD: dict[str, tuple[str, ...]] = {
    "StaffDirectory.MemberAdded": ("name", "email"),
    "StaffDirectory.TokenIssued": ("token_hash",),
}
WITHHELD_STAFF = {"_type_": "withheld_staff_data", "_data_": None}


@dataclass(frozen=True)
class Message:
    """What a sink publishes: a subject, an id the sink de-duplicates by, the body."""

    subject: str
    id: str
    position: int  # the event's position in the log (the CloudEvent's ``position``)
    body: bytes


def event_id(notification: Notification) -> str:
    """The event's identity: its stream and version (unique in every ledger, and stable:
    publishing the event again gives the same id, which is what de-duplication keys on)."""
    return f"{notification.originator_id}/{notification.originator_version}"


def to_message(notification: Notification, source: str, prefix: str) -> Message:
    """The CloudEvent of one stored event, published under ``prefix.Aggregate.Event``."""
    name = notification.topic.partition(":")[2]  # "Complaint.Received"
    state = orjson.loads(notification.state)
    if "class_version" not in state:
        _withhold_plain_text(notification.topic, state)
    for field in STAFF_WITHHELD.get(name, ()):
        if state.get(field) is not None:
            state[field] = WITHHELD_STAFF
    stamp = state.get("timestamp")
    stream = str(notification.originator_id)
    ident = f"{stream}/{notification.originator_version}"  # as event_id says
    envelope = {
        "specversion": SPEC_VERSION,
        "id": ident,
        "source": source,
        "type": TYPE_PREFIX + name,
        "subject": stream,
        "time": stamp.get("_data_") if isinstance(stamp, dict) else None,
        "datacontenttype": CONTENT_TYPE,
        "position": notification.id,
        "classversion": state.get("class_version", 1),
        "data": state,
    }
    return Message(f"{prefix}.{name}", ident, notification.id, orjson.dumps(envelope))


def _withhold_plain_text(topic: str, state: dict[str, Any]) -> None:
    """Withhold the fields of a version-1 ``state`` that hold plain text: those the class's
    upcaster to version 2 turns into ``LegacyText`` (asked of the upcaster itself, on a
    copy, so there is no second list of them to keep)."""
    upcast = _upcaster(topic)
    if upcast is None:
        return
    probe = copy.deepcopy(state)
    upcast(probe)
    for field, value in probe.items():
        if isinstance(value, LegacyText):
            state[field] = WITHHELD


@cache
def _upcaster(topic: str) -> Callable[[dict[str, Any]], None] | None:
    load_classes_of(topic)
    try:
        cls = resolve_topic(topic)
    except (ImportError, AttributeError):  # unknown: the mapper would refuse it as well
        return None
    upcast: Callable[[dict[str, Any]], None] | None = getattr(cls, "upcast_v1_v2", None)
    return upcast
