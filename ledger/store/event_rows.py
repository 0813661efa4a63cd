"""The bulk writer's event rows: what the library's mapper stores, byte for byte, with the
JSON written by orjson for the events whose values orjson writes as the library does.

The library's ``JSONTranscoder`` writes compact JSON (``ensure_ascii=False``) and turns what
JSON has no type for into ``{"_type_": name, "_data_": …}`` through its transcodings.
orjson writes the same bytes for strings (the same escapes), 64-bit integers, booleans,
``None``, lists, tuples, dicts with string keys and enumerations that are strings, and it
hands datetimes and dataclasses to the same transcodings when told to pass them through. It
writes other bytes for floats (``1e+16``, ``NaN``) and UUIDs (natively, not as
``uuid_hex``), among others. So an event is encoded by orjson only when every value in it,
at any depth, is of an exact type of the first kind, or of a type whose transcoding gives
strings alone (the ledger's actor, sealed text, sealed complainant and remedy); any other
event, and whatever orjson refuses (an integer over 64 bits), is encoded by the library's
transcoder, as before. ``tests/integration/test_batch_writer.py`` compares both encodings.
"""

from __future__ import annotations

import dataclasses
import enum
from collections.abc import Sequence
from datetime import datetime
from typing import Any

import orjson
from eventsourcing.persistence import JSONTranscoder, Mapper, StoredEvent
from eventsourcing.utils import get_topic

_OPTIONS = orjson.OPT_PASSTHROUGH_DATETIME | orjson.OPT_PASSTHROUGH_DATACLASS
# The library's and the ledger's transcodings whose data is strings alone: what they return
# orjson writes as ``json`` does.
_PLAIN_TRANSCODINGS = frozenset(
    {"datetime_iso", "actor", "sealed_complainant", "sealed_text", "remedy"}
)
_SCALARS = frozenset({str, int, bool, type(None)})


class EventRows:
    """``mapper.to_stored_event`` for many events, faster where the bytes are the same."""

    def __init__(self, mapper: Mapper[Any]) -> None:
        self.mapper = mapper
        transcoder = mapper.transcoder
        plain = (
            type(transcoder) is JSONTranscoder
            and mapper.compressor is None
            and mapper.cipher is None
        )
        self.transcoder = transcoder if plain else None
        self.plain_types: dict[type, Any] = {}
        if isinstance(transcoder, JSONTranscoder):
            self.plain_types = {
                t: c
                for t, c in transcoder.types.items()
                if c.name in _PLAIN_TRANSCODINGS and (t is datetime or dataclasses.is_dataclass(t))
            }
        # The exact types of the values orjson writes as the library does (enumerations of
        # strings join when first met).
        self.plain = set(_SCALARS) | set(self.plain_types)
        self.topics: dict[type, str] = {}

    def stored(self, events: Sequence[Any]) -> list[StoredEvent]:
        if self.transcoder is None:
            return [self.mapper.to_stored_event(e) for e in events]
        return [self._one(e) for e in events]

    def _one(self, event: Any) -> StoredEvent:
        cls = type(event)
        topic = self.topics.get(cls)
        if topic is None:
            topic = self.topics[cls] = get_topic(cls)
        state = dict(vars(event))
        originator_id = state.pop("originator_id")
        originator_version = state.pop("originator_version")
        class_version = getattr(cls, "class_version", 1)
        if class_version > 1:
            state["class_version"] = class_version
        data: bytes | None = None
        if self._writes_alike(state):
            try:
                data = orjson.dumps(state, default=self._default, option=_OPTIONS)
            except (TypeError, orjson.JSONEncodeError):
                data = None  # the library's transcoder writes it, or raises as it did
        if data is None:
            assert self.transcoder is not None
            data = self.transcoder.encode(state)
        return StoredEvent(
            originator_id=originator_id,
            originator_version=originator_version,
            topic=topic,
            state=data,
        )

    def _default(self, obj: Any) -> dict[str, Any]:
        transcoding = self.plain_types[type(obj)]  # KeyError: a TypeError to orjson
        return {"_type_": transcoding.name, "_data_": transcoding.encode(obj)}

    def _writes_alike(self, value: Any) -> bool:
        """Whether orjson writes ``value`` as the library's transcoder does."""
        kind = type(value)
        if kind in self.plain:
            return True
        if kind is dict:
            return all(type(k) is str and self._writes_alike(v) for k, v in value.items())
        if kind is list or kind is tuple:
            return all(self._writes_alike(v) for v in value)
        # ``json`` writes an enumeration that is a string as that string, orjson its value:
        # the same when they are equal.
        if (
            issubclass(kind, enum.Enum)
            and issubclass(kind, str)
            and all(isinstance(m.value, str) and str.__str__(m) == m.value for m in kind)
        ):
            self.plain.add(kind)
            return True
        return False
