"""Events as the read models take them: text without NUL characters.

Commands refuse control characters (``commands/fields.py``), but an event written by an
older version may hold a NUL, and PostgreSQL cannot keep one in a text column: every batch
that carried it would fail, for good. The read models show such a NUL as U+FFFD
(``ledger.domain.text.NUL_SHOWN_AS``) on both backends, so both give the same answer. The stored
event is not touched: it still verifies, and ``show``/``history`` replay it as it is.

``Decoder`` is the same decoding without the library's per-event machinery, for a rebuild
that decodes every event of the log: the stored JSON parsed by orjson, the values the
library's transcoder would have turned into objects (``{"_type_": …, "_data_": …}``) turned
by the very same transcodings, inner ones first as its ``object_hook`` does, then the same
upcasters and the same bare object the library's mapper makes. Anything orjson parses
otherwise than Python's ``json`` or refuses (NaN, lone surrogates, integers beyond 64 bits)
goes through the library's mapper instead.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Hashable
from datetime import datetime
from typing import Any, cast
from uuid import UUID

import orjson
from eventsourcing.persistence import (
    DatetimeAsISO,
    JSONTranscoder,
    Mapper,
    StoredEvent,
    Transcoding,
    find_id_convertor,
)
from eventsourcing.utils import resolve_topic

from ledger.domain.text import shown_without_nul
from ledger.store.root import ActorAsDict
from ledger.store.topics import load_classes_of

# How the JSON transcoder writes a NUL inside a string. The ledger stores events as plain
# JSON (no compressor, no cipher), so a stored event without this holds no NUL, and the
# common case costs one search of the bytes.
_NUL_ESCAPE = b"\\u0000"
# orjson reads a whole number beyond 64 bits as a float (Python's json: an int), so a float
# this large or larger sends its event the library's way.
_LARGE = float(2**63)
ACTORS_KEPT = 10_000  # distinct actors a Decoder keeps decoded (a ledger has a few hundred)


def decode(mapper: Mapper[Any], stored: StoredEvent) -> Any:
    """The domain event of ``stored``, with every NUL in its text replaced."""
    event = mapper.to_domain_event(stored)
    if _NUL_ESCAPE in stored.state:
        return without_nul(event)
    return event


def without_nul(value: Any) -> Any:
    """``value`` with NUL replaced in every string it holds, however deep; unchanged
    values (enums included) are returned as they are."""
    if isinstance(value, str):
        return shown_without_nul(value) if "\x00" in value else value
    if type(value) in (tuple, list):
        return type(value)(without_nul(v) for v in value)
    if isinstance(value, dict):
        return {without_nul(k): without_nul(v) for k, v in value.items()}
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        changes = {
            f.name: without_nul(getattr(value, f.name)) for f in dataclasses.fields(value) if f.init
        }
        return dataclasses.replace(value, **changes)
    return value


class Decoder:
    """``decode`` for many events: what ``decode(mapper, stored)`` gives, for less."""

    def __init__(self, mapper: Mapper[Any]) -> None:
        transcoder = mapper.transcoder
        if mapper.cipher is not None or mapper.compressor is not None:
            raise ValueError("the ledger stores events as plain JSON")
        assert isinstance(transcoder, JSONTranscoder)
        self.mapper = mapper
        self.fallbacks = 0  # events the library's mapper decoded instead
        self.names: dict[str, Transcoding] = transcoder.names
        # The transcodings most events carry, done the same way for less: a time by the call
        # its transcoding makes; an actor (a frozen value) decoded once for all the events
        # that name it.
        self._fast: dict[str, Callable[[Any], Any]] = {}
        self._actors: dict[tuple[Any, ...], Any] = {}
        fast: dict[type, tuple[str, Callable[[Any], Any]]] = {
            DatetimeAsISO: ("datetime_iso", datetime.fromisoformat),
            ActorAsDict: ("actor", self._actor),
        }
        for transcoding in self.names.values():
            if (found := fast.get(type(transcoding))) and found[0] == transcoding.name:
                self._fast[found[0]] = found[1]
        # Per topic: the class, its id convertor, and the class version it is at.
        self._classes: dict[str, tuple[type, Callable[[Any], Any], int]] = {}

    def decode(self, originator_id: UUID, version: int, topic: str, state: bytes) -> Any:
        """The domain event stored as ``state`` under ``topic``, NUL replaced."""
        try:
            values = self._object(orjson.loads(state))
        except Exception:  # the library's path decodes it or says why not
            values = None
        if type(values) is not dict:
            self.fallbacks += 1
            return decode(self.mapper, StoredEvent(originator_id, version, topic, state))
        found = self._classes.get(topic)
        if found is None:
            found = self._classes[topic] = self._class(topic, originator_id)
        cls, convert, class_version = found
        values["originator_id"] = convert(originator_id)
        values["originator_version"] = version
        from_version = values.pop("class_version", 1)
        while from_version < class_version:
            getattr(cls, f"upcast_v{from_version}_v{from_version + 1}")(values)
            from_version += 1
        event: Any = object.__new__(cls)
        object.__setattr__(event, "__dict__", values)
        if _NUL_ESCAPE in state:
            return without_nul(event)
        return event

    def _class(self, topic: str, originator_id: UUID) -> tuple[type, Callable[[Any], Any], int]:
        load_classes_of(topic)
        cls = resolve_topic(topic)
        convert = find_id_convertor(cls, cast(Hashable, type(originator_id)))  # as the library
        return cls, convert, getattr(cls, "class_version", 1)

    def _object(self, values: dict[str, Any]) -> Any:
        """A JSON object as the library's ``object_hook`` leaves it: inner values first."""
        for key, value in values.items():
            kind = type(value)
            if kind is dict or kind is list:
                values[key] = self._object(value) if kind is dict else self._list(value)
            elif kind is float and not -_LARGE < value < _LARGE:
                raise _Unsure
        if len(values) == 2 and "_type_" in values and "_data_" in values:
            name, data = values["_type_"], values["_data_"]
            fast = self._fast.get(name)
            return self.names[name].decode(data) if fast is None else fast(data)
        return values

    def _actor(self, data: dict[str, Any]) -> Any:
        # What ActorAsDict.decode reads of ``data``, and nothing else: a missing method is
        # read as "asserted" (a null one is refused, so never kept). Only actors of text
        # (or no credential) are kept: 1, 1.0 and True are one key of a dict, not one id.
        key = (data["id"], data["role"], data.get("method", "asserted"), data.get("credential"))
        actor = self._actors.get(key)
        if actor is None:
            actor = self.names["actor"].decode(data)
            if len(self._actors) < ACTORS_KEPT and all(
                type(part) is str or part is None for part in key
            ):
                self._actors[key] = actor
        return actor

    def _list(self, items: list[Any]) -> list[Any]:
        for index, value in enumerate(items):
            kind = type(value)
            if kind is dict or kind is list:
                items[index] = self._object(value) if kind is dict else self._list(value)
            elif kind is float and not -_LARGE < value < _LARGE:
                raise _Unsure
        return items


class _Unsure(Exception):
    """orjson may have read this state otherwise than Python's json."""
